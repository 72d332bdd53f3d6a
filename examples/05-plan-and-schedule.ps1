#Requires -Modules NekkBackup
<#
.SYNOPSIS
    Sets up 3-2-1 on a studio machine: writes a plan, checks every destination with the schedule's account,
    registers the schedules (Task Scheduler as SYSTEM on Windows; systemd timers or cron on Linux) and reports compliance.
.DESCRIPTION
    Run it elevated (Administrator/SYSTEM, or root). Safe to preview with -WhatIf: nothing is written then.
    Ends with `exit $LASTEXITCODE`: 0 ok, 1 a destination failed its check, 3 bad arguments.
.EXAMPLE
    powershell.exe -NoProfile -ExecutionPolicy Bypass -File 05-plan-and-schedule.ps1 -Source D:\Sessions -Destination \\nas\backup\studio-a -ImageRepository \\nas2\ghost\studio-a -Bucket studio-offsite
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [string[]] $Source = @('D:\Sessions'),
    [string] $Destination = '\\nas\backup\studio-a',
    [string] $PlanPath = $(if ($IsLinux) { '/etc/nekkbackup/studio.psd1' } else { Join-Path $env:ProgramData 'NekkBackup\studio.psd1' }),
    [string] $ImageSource,
    [string] $ImageRepository,
    [string] $Bucket,
    [string] $Endpoint,
    [ValidateSet('Defer', 'Throttle')] [string] $DawPolicy = 'Defer'
)
$ErrorActionPreference = 'Stop'
Import-Module NekkBackup

$planArgs = @{ Path = $PlanPath; Source = $Source; NasDestination = $Destination; DawPolicy = $DawPolicy; Force = $true }
if ($ImageRepository) { $planArgs.ImageRepository = $ImageRepository; $planArgs.ImageSource = if ($ImageSource) { $ImageSource } elseif ($IsLinux) { '/dev/sda2' } else { '\\.\C:' } }
if ($Bucket) { $planArgs.Bucket = $Bucket }
if ($Endpoint) { $planArgs.Endpoint = $Endpoint }

if ($WhatIfPreference) {
    # Preview only: show the plan that would be written and the schedules it would get.
    New-NekkBackupPlan @planArgs -WhatIf
    Write-Output "NEKK WHATIF plan=$PlanPath nothing written"
    exit 0
}

$dir = Split-Path $PlanPath
if (-not (Test-Path $dir)) { New-Item -ItemType Directory -Path $dir -Force | Out-Null }
$plan = New-NekkBackupPlan @planArgs

$checks = Test-NekkBackupPlan -Path $PlanPath
$checks | Format-Table Leg, Target, Status, Detail -AutoSize | Out-String | Write-Verbose
if ($checks | Where-Object Status -ne 'Passed') {
    Write-Output ('NEKK SETUP-FAILED ' + (($checks | Where-Object Status -ne 'Passed' | ForEach-Object { "$($_.Leg):$($_.Detail)" }) -join ' | '))
    exit 1
}

$regs = Register-NekkBackupPlan -Path $PlanPath -PassThru
Write-Output ("NEKK REGISTERED plan={0} jobs={1} scheduler={2}" -f $plan.Name, (($regs.Job) -join ','), ($regs | Select-Object -First 1).Scheduler)
Test-NekkBackupCompliance -Path $PlanPath -AsRmmOutput
$global:LASTEXITCODE = 0   # a fresh setup is not compliant yet; the setup itself succeeded
exit $LASTEXITCODE
