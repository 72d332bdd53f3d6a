#Requires -Modules NekkBackup
<#
.SYNOPSIS
    Weekly Ghost image of the workstation's system volume (the system layer of 3-2-1), with pruning and a restore drill.
.DESCRIPTION
    Run it weekly, off-hours, as SYSTEM/root (raw volume access needs it). It images the system volume into a
    repository on a NAS share separate from the folder backups, keeps the last 8 images, and runs the restore
    drill when the last one is older than 90 days (a drill counts for 92 days). Exit code for RMM tools:
    0 ok, 1 failed, 2 image taken but the check or drill failed.
.EXAMPLE
    powershell.exe -NoProfile -ExecutionPolicy Bypass -File 03-ghost-image.ps1 -Source C: -Destination \\nas\ghost\studio-a
.EXAMPLE
    pwsh -File 03-ghost-image.ps1 -Source /dev/vg0/root -Destination /mnt/nas/ghost
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [string] $Source = 'C:',
    # The Ghost repository (a NAS share separate from the folder backups).
    [string] $Destination = '\\nas\ghost\studio-a',
    [int] $Keep = 8,
    [ValidateSet('Auto', 'Required', 'None')] [string] $Snapshot = 'Auto'
)
$ErrorActionPreference = 'Stop'
Import-Module NekkBackup

$image = New-NekkGhostImage -Source $Source -Repository $Destination -Snapshot $Snapshot -Tag weekly -WhatIf:$WhatIfPreference
if (-not $image) { Write-Output 'NEKK WHATIF nothing written'; exit 0 }

Get-NekkGhostImage -Repository $Destination | Select-Object -SkipLast $Keep | Remove-NekkGhostImage -Confirm:$false

$lastDrill = Get-ChildItem (Join-Path $Destination 'drills') -Filter *.json -ErrorAction Ignore |
    Sort-Object LastWriteTime | Select-Object -Last 1
$check = if (-not $lastDrill -or $lastDrill.LastWriteTime -lt (Get-Date).AddDays(-90)) {
    Test-NekkGhostImage -Repository $Destination -ImageId $image.ImageId -Full      # the restore drill
} else {
    Test-NekkGhostImage -Repository $Destination -ImageId $image.ImageId
}
Write-Output ("NEKK image={0} size={1} new={2} plugins={3} check={4} drill={5}" -f $image.ImageId, $image.SizeBytes, $image.NewBytes, $image.PluginCount, $check.Status, $check.Full)
$LASTEXITCODE = if ($check.Status -eq 'Passed') { 0 } else { 2 }
exit $LASTEXITCODE
