<#
.SYNOPSIS
    RMM job (NinjaOne, Datto RMM, ConnectWise Automate, or any tool that reads stdout and the exit code):
    runs the plan's due jobs, then reports compliance in the RMM's own fields.
.DESCRIPTION
    Exit code is Invoke-NekkBackupPlan's (docs/exit-codes.md), or 1 when the machine is not compliant afterwards.
    NinjaOne: writes the custom field 'nekkbackupStatus' when Ninja-Property-Set exists.
    Datto RMM: writes UDF Custom<N> (255 characters max) and prints the monitor result markers.
    Automate: the single stdout line lands in %shellresult%. -WhatIf only checks compliance.
    Started by a 32-bit agent, it relaunches itself in 64-bit PowerShell (the module lives in the 64-bit Program Files).
.EXAMPLE
    powershell.exe -NoProfile -ExecutionPolicy Bypass -File Invoke-NekkRmmJob.ps1 -PlanPath C:\ProgramData\NekkBackup\studio.psd1 -DattoUdf 12
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [string] $PlanPath = (Join-Path $env:ProgramData 'NekkBackup\studio.psd1'),
    [ValidateRange(1, 30)] [int] $DattoUdf = 0,
    [string] $NinjaField = 'nekkbackupStatus'
)
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
Import-Module NekkBackup

$runCode = 0
if ($PSCmdlet.ShouldProcess($PlanPath, 'Run the due backup jobs')) {
    $run = Invoke-NekkBackupPlan -Path $PlanPath -ErrorAction SilentlyContinue
    $runCode = $LASTEXITCODE
}
$line = Test-NekkBackupCompliance -Path $PlanPath -AsRmmOutput
$compliant = ($LASTEXITCODE -eq 0)

if (Get-Command Ninja-Property-Set -ErrorAction Ignore) {
    if ($PSCmdlet.ShouldProcess($NinjaField, 'Set NinjaOne custom field')) { Ninja-Property-Set $NinjaField $line }
}
if ($DattoUdf -gt 0 -and (Test-Path 'HKLM:\SOFTWARE\CentraStage')) {
    if ($PSCmdlet.ShouldProcess("Custom$DattoUdf", 'Set Datto RMM UDF')) {
        Set-ItemProperty -Path 'HKLM:\SOFTWARE\CentraStage' -Name "Custom$DattoUdf" -Value $line.Substring(0, [Math]::Min(255, $line.Length))
    }
    Write-Output '<-Start Result->'
    Write-Output ("STATUS=" + $(if ($compliant) { 'OK' } else { 'NONCOMPLIANT' }))
    Write-Output '<-End Result->'
}
Write-Output $line
$global:LASTEXITCODE = if ($runCode -ne 0) { $runCode } elseif ($compliant) { 0 } else { 1 }
exit $LASTEXITCODE
