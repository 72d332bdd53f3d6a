<#
.SYNOPSIS
    Intune Remediations detection script: exit 0 = compliant, exit 1 = not compliant (the remediation runs).
.DESCRIPTION
    Settings: run as SYSTEM ("Run this script using the logged-on credentials" = No). "Run script in 64-bit
    PowerShell" may stay at its default (No): the script relaunches itself in 64-bit PowerShell.
    Prints ONE line (Intune keeps at most 2048 characters) and never writes to stderr (that marks a script error).
    Changes nothing.
#>
[CmdletBinding()]
param([string] $PlanPath = (Join-Path $env:ProgramData 'NekkBackup\studio.psd1'))
# Intune (and most RMM agents) start scripts in 32-bit PowerShell by default, where the module, installed under the
# 64-bit Program Files, is not found: relaunch in 64-bit Windows PowerShell (sysnative) with the same arguments and
# hand back its exit code. PROCESSOR_ARCHITEW6432 is set only in a 32-bit process on 64-bit Windows.
if ($env:PROCESSOR_ARCHITEW6432 -and -not $env:NEKK_RELAUNCHED -and $env:windir) {
    $native = Join-Path $env:windir 'sysnative\WindowsPowerShell\v1.0\powershell.exe'
    if (Test-Path -LiteralPath $native) {
        $env:NEKK_RELAUNCHED = '1'
        $relaunch = @('-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File', $PSCommandPath)
        foreach ($p in $PSBoundParameters.GetEnumerator()) {
            if ($p.Value -is [switch]) { if ($p.Value) { $relaunch += "-$($p.Key)" } } else { $relaunch += "-$($p.Key)"; $relaunch += "$($p.Value)" }
        }
        & $native @relaunch
        exit $LASTEXITCODE
    }
}
$ErrorActionPreference = 'Stop'
# One line for Intune/RMM (at most 2048 characters): whitespace runs and line breaks collapse, then the same string is cut.
function Limit-NekkLine([string] $Text) {
    $one = ($Text -replace '\s+', ' ').Trim()
    if ($one.Length -gt 2048) { $one.Substring(0, 2048) } else { $one }
}
try {
    Import-Module NekkBackup -ErrorAction Stop
    Test-NekkBackupCompliance -Path $PlanPath -AsRmmOutput
    exit $LASTEXITCODE
}
catch {
    Write-Output (Limit-NekkLine "NEKK NONCOMPLIANT detection-error ($($_.Exception.Message))")
    exit 1
}
