<#
.SYNOPSIS
    Intune Remediations remediation script: re-registers missing schedules and runs the plan's due jobs now.
.DESCRIPTION
    Runs as SYSTEM after the detection script exited 1. One output line; exit code from Invoke-NekkBackupPlan
    (0 ok, 1 failed/refused, 2 completed with errors, 3 bad plan, 4 NAS unreachable). -WhatIf previews.
    Never reboots, never prints secrets.
#>
[CmdletBinding(SupportsShouldProcess)]
param([string] $PlanPath = (Join-Path $env:ProgramData 'NekkBackup\studio.psd1'))
$ErrorActionPreference = 'Stop'
try {
    Import-Module NekkBackup -ErrorAction Stop
    if ($PSCmdlet.ShouldProcess($PlanPath, 'Register schedules and run due jobs')) {
        Register-NekkBackupPlan -Path $PlanPath
        $r = Invoke-NekkBackupPlan -Path $PlanPath -ErrorAction SilentlyContinue
        $code = $LASTEXITCODE
        $line = "NEKK REMEDIATED status=$($r.Status) jobs=$($r.JobsRun -join ',') exit=$code" + $(if ($r.Reason) { " reason=$($r.Reason)" } else { '' })
        Write-Output ($line -replace '\s+', ' ').Substring(0, [Math]::Min(2048, $line.Length))
        exit $code
    }
    Write-Output 'NEKK WHATIF nothing changed'
    exit 0
}
catch {
    Write-Output ("NEKK REMEDIATION-ERROR ($($_.Exception.Message))" -replace '\s+', ' ')
    exit 1
}
