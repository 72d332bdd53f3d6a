#Requires -Version 7.4
<#
.SYNOPSIS
    Runs every benchmark in bench/ (what `build.ps1 Bench` calls). Each prints its own ratios.
#>
param(
    [Parameter(Mandatory)] [string] $ModuleManifest,
    [int] $SizeMB = 2048,
    [string] $WorkDirectory = (Join-Path ([System.IO.Path]::GetTempPath()) 'nekk-bench')
)
$ErrorActionPreference = 'Stop'
foreach ($tool in 'rsync') { if (-not (Get-Command $tool -ErrorAction Ignore)) { throw "$tool is needed for the benchmarks (apt-get install $tool)" } }
& (Join-Path $PSScriptRoot 'folder-bench.ps1') -ModuleManifest $ModuleManifest -SizeMB $SizeMB -WorkDirectory $WorkDirectory
# Ghost images: needs root (loop devices) and partclone, restic, ntfsclone, zstd on PATH.
if ((& id -u) -eq '0') {
    & (Join-Path $PSScriptRoot 'ghost-bench.ps1') -ModuleManifest $ModuleManifest -WorkDirectory $WorkDirectory
    & (Join-Path $PSScriptRoot 'usedblocks-bench.ps1') -ModuleManifest $ModuleManifest -WorkDirectory (Join-Path $WorkDirectory 'usedblocks')
} else {
    Write-Host 'Ghost benchmark skipped: it needs root for loop devices.'
}
# Cloud: our upload engine against `rclone copy` to the same local s3rver (needs node and rclone).
if ((Get-Command rclone -ErrorAction Ignore) -and (Get-Command node -ErrorAction Ignore)) {
    & bash (Join-Path $PSScriptRoot 'cloud-bench.sh') ([math]::Min(1024, $SizeMB)) 4
} else {
    Write-Host 'Cloud benchmark skipped: it needs rclone and node (s3rver).'
}
