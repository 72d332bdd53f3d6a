#Requires -Version 7.4
<#
.SYNOPSIS
    The main job on sample data: what `build.ps1 Demo` runs.
.DESCRIPTION
    Generates a small studio tree, backs it up to a NAS folder, changes 5 % of it, backs up again,
    lists the runs, restores the first run and checks it byte for byte, and runs the full integrity
    check. Everything happens under -WorkDirectory.
#>
param(
    [string] $ModuleManifest = (Get-ChildItem "$PSScriptRoot/../out/NekkBackup/*/NekkBackup.psd1" | Select-Object -First 1).FullName,
    [string] $WorkDirectory = "$PSScriptRoot/../out/demo",
    [string] $SharedBench = "$PSScriptRoot/../../shared/bench"
)
$ErrorActionPreference = 'Stop'
Import-Module $ModuleManifest -Force
if (Test-Path $WorkDirectory) { Remove-Item -Recurse -Force $WorkDirectory }
New-Item -ItemType Directory $WorkDirectory | Out-Null
$env:NEKKBACKUP_DATA = Join-Path $WorkDirectory 'data'
$sessions = Join-Path $WorkDirectory 'Sessions'
$nas = Join-Path $WorkDirectory 'NAS/studio-a'

Write-Host "`n== Generating a 20 MB studio tree in $sessions"
& bash (Join-Path $SharedBench 'gen-dataset.sh') $sessions 20 1 | Out-Null

Write-Host "`n== Backup-NekkFolder (first run: full copy)"
$first = Backup-NekkFolder -Path $sessions -Destination $nas -Snapshot Auto -WarningAction Continue
$first | Format-Table | Out-Host

Write-Host "== A day of work: 5 % of the files change"
& bash (Join-Path $SharedBench 'mutate-dataset.sh') $sessions 5 2 | Out-Null
Backup-NekkFolder -Path $sessions -Destination $nas -Snapshot Auto -Retention @{ KeepLast = 10; Daily = 7 } -WarningAction SilentlyContinue | Format-Table | Out-Host

Write-Host "== Runs on the NAS (read from the destination alone)"
Get-NekkFolderBackup -Destination $nas | Format-Table | Out-Host

Write-Host "== Restore of the first run, compared byte for byte with what was backed up"
$restore = Join-Path $WorkDirectory 'Restore'
Restore-NekkFolder -Destination $nas -Target $restore -RunId $first.RunId | Format-Table | Out-Host

Write-Host "== Full integrity check (every stored byte re-hashed)"
$check = Test-NekkFolderBackup -Destination $nas -Full
$check | Format-Table | Out-Host
if ($check.Status -eq 'Failed') { throw 'The integrity check failed.' }
Write-Host "Demo finished. Browse the NAS mirror at $nas"
