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
New-Item -ItemType Directory (Split-Path $nas) | Out-Null   # the NAS share itself must exist

Write-Host "`n== Generating a 20 MB studio tree in $sessions"
& bash (Join-Path $SharedBench 'gen-dataset.sh') $sessions 20 1 | Out-Null

Write-Host "`n== Backup-NekkFolder (first run: full copy)"
$first = Backup-NekkFolder -Path $sessions -Destination $nas -Snapshot Auto -WarningAction Continue
$first | Format-Table -AutoSize | Out-String -Width 200 | Out-Host

Write-Host "== A day of work: 5 % of the files change"
& bash (Join-Path $SharedBench 'mutate-dataset.sh') $sessions 5 2 | Out-Null
Backup-NekkFolder -Path $sessions -Destination $nas -Snapshot Auto -Retention @{ KeepLast = 10; Daily = 7 } -WarningAction SilentlyContinue | Format-Table -AutoSize | Out-String -Width 200 | Out-Host

Write-Host "== Runs on the NAS (read from the destination alone)"
Get-NekkFolderBackup -Destination $nas | Format-Table -AutoSize | Out-String -Width 200 | Out-Host

Write-Host "== Restore of the first run, compared byte for byte with what was backed up"
$restore = Join-Path $WorkDirectory 'Restore'
Restore-NekkFolder -Destination $nas -Target $restore -RunId $first.RunId | Format-Table -AutoSize | Out-String -Width 200 | Out-Host

Write-Host "== Full integrity check (every stored byte re-hashed)"
$check = Test-NekkFolderBackup -Destination $nas -Full
$check | Format-Table -AutoSize | Out-String -Width 200 | Out-Host
if ($check.Status -eq 'Failed') { throw 'The integrity check failed.' }
if (Get-Command mkfs.ext4 -ErrorAction Ignore) {
    Write-Host "== Ghost image of a 64 MB ext4 volume image holding the sessions (no root needed: mkfs.ext4 -d)"
    $volume = Join-Path $WorkDirectory 'workstation-volume.img'
    & truncate -s 64M $volume
    & mkfs.ext4 -q -F -d $sessions $volume 2>&1 | Out-Null
    $repo = Join-Path $WorkDirectory 'NAS-images/repository'
    New-Item -ItemType Directory (Split-Path $repo) | Out-Null
    $image = New-NekkGhostImage -Source $volume -Repository $repo -Snapshot None -Tag demo
    $image | Format-Table -AutoSize | Out-String -Width 200 | Out-Host
    Test-NekkGhostImage -Repository $repo -ImageId $image.ImageId -Full | Format-Table -AutoSize | Out-String -Width 200 | Out-Host
}
Write-Host "Demo finished. Browse the NAS mirror at $nas"
