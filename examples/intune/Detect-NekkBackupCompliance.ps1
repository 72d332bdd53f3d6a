<#
.SYNOPSIS
    Intune Remediations detection script: exit 0 = compliant, exit 1 = not compliant (the remediation runs).
.DESCRIPTION
    Settings: run as SYSTEM ("Run this script using the logged-on credentials" = No), 64-bit PowerShell = Yes.
    Prints ONE line (Intune keeps at most 2048 characters) and never writes to stderr (that marks a script error).
    Changes nothing.
#>
[CmdletBinding()]
param([string] $PlanPath = (Join-Path $env:ProgramData 'NekkBackup\studio.psd1'))
$ErrorActionPreference = 'Stop'
try {
    Import-Module NekkBackup -ErrorAction Stop
    Test-NekkBackupCompliance -Path $PlanPath -AsRmmOutput
    exit $LASTEXITCODE
}
catch {
    $msg = "NEKK NONCOMPLIANT detection-error ($($_.Exception.Message))" -replace '\s+', ' '
    Write-Output $msg.Substring(0, [Math]::Min(2048, $msg.Length))
    exit 1
}
