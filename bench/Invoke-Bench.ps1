#Requires -Version 7.4
<#
.SYNOPSIS
    Runs every benchmark in bench/ (what `build.ps1 Bench` calls). Each prints its own ratios.
#>
param(
    [Parameter(Mandatory)] [string] $ModuleManifest,
    [Parameter(Mandatory)] [string] $SharedBench,
    [int] $SizeMB = 2048,
    [string] $WorkDirectory = (Join-Path ([System.IO.Path]::GetTempPath()) 'nekk-bench')
)
$ErrorActionPreference = 'Stop'
foreach ($tool in 'rsync') { if (-not (Get-Command $tool -ErrorAction Ignore)) { throw "$tool is needed for the benchmarks (apt-get install $tool)" } }
& (Join-Path $PSScriptRoot 'folder-bench.ps1') -ModuleManifest $ModuleManifest -SharedBench $SharedBench -SizeMB $SizeMB -WorkDirectory $WorkDirectory
