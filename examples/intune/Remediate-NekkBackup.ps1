<#
.SYNOPSIS
    Intune Remediations remediation script: re-registers missing schedules and runs the plan's due jobs now.
.DESCRIPTION
    Runs as SYSTEM after the detection script exited 1 (relaunching itself in 64-bit PowerShell from Intune's 32-bit host). One output line; exit code from Invoke-NekkBackupPlan
    (0 ok, 1 failed/refused, 2 completed with errors, 3 bad plan, 4 NAS unreachable). -WhatIf previews.
    Never reboots, never prints secrets.
#>
[CmdletBinding(SupportsShouldProcess)]
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
    if ($PSCmdlet.ShouldProcess($PlanPath, 'Register schedules and run due jobs')) {
        Register-NekkBackupPlan -Path $PlanPath
        $r = Invoke-NekkBackupPlan -Path $PlanPath -ErrorAction SilentlyContinue
        $code = $LASTEXITCODE
        $line = "NEKK REMEDIATED status=$($r.Status) jobs=$($r.JobsRun -join ',') exit=$code" + $(if ($r.Reason) { " reason=$($r.Reason)" } else { '' })
        Write-Output (Limit-NekkLine $line)
        exit $code
    }
    Write-Output 'NEKK WHATIF nothing changed'
    exit 0
}
catch {
    Write-Output (Limit-NekkLine "NEKK REMEDIATION-ERROR ($($_.Exception.Message))")
    exit 1
}
