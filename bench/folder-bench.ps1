#Requires -Version 7.4
<#
.SYNOPSIS
    Folder backup benchmark: Backup-NekkFolder against `rsync -a` on the same studio dataset, same run.
.DESCRIPTION
    Full copy, incremental after a 5 % change (studiogen mutate), and a no-change run. The cmdlet is timed inside
    this already-started PowerShell session (module imported and warmed); PowerShell's start-up is
    measured apart. Page cache is dropped before every timed step when running as root, so both tools
    read cold. Prints seconds, throughput, the ratio rsync-time / our-time (>= 1: we are as fast or
    faster) and the session's peak working set.
#>
param(
    [Parameter(Mandatory)] [string] $ModuleManifest,
    # The project's sample-data generator (tests/NekkBackup.StudioGen), built with the solution.
    [string] $StudioGen = (Join-Path $PSScriptRoot '../out/studiogen/studiogen.dll'),
    [int] $SizeMB = 2048,
    [string] $WorkDirectory = (Join-Path ([System.IO.Path]::GetTempPath()) 'nekk-bench')
)
$ErrorActionPreference = 'Stop'
$ModuleManifest = (Resolve-Path $ModuleManifest).Path
$work = Join-Path $WorkDirectory 'folder'
$src = Join-Path $work 'src/Sessions'
if (Test-Path $work) { Remove-Item -Recurse -Force $work }
New-Item -ItemType Directory -Force (Split-Path $src) | Out-Null
Write-Host "Generating a $SizeMB MB studio dataset…"
& dotnet $StudioGen gen $src $SizeMB --seed 1 | Out-Null
if ($LASTEXITCODE) { throw 'studiogen gen failed' }
$bytes = (Get-ChildItem $src -Recurse -File | Measure-Object Length -Sum).Sum
$files = (Get-ChildItem $src -Recurse -File).Count

$exe = [System.Diagnostics.Process]::GetCurrentProcess().MainModule.FileName
[string[]] $pre = if ((Split-Path -Leaf $exe) -like 'dotnet*') { @(Join-Path $PSHOME 'pwsh.dll') } else { @() }
$startup = Measure-Command { & $exe @pre -NoProfile -NonInteractive -Command "Import-Module '$ModuleManifest'" }

Import-Module $ModuleManifest -Force
$env:NEKKBACKUP_DATA = Join-Path $work 'data'
# Warm the session: JIT and first-use costs are not what is measured.
New-Item -ItemType Directory -Force "$work/warm/w" | Out-Null; Set-Content "$work/warm/w/a.txt" 'a'
$null = Backup-NekkFolder -Path "$work/warm/w" -Destination "$work/warm/nas" -Snapshot None

$canDrop = (Test-Path /proc/sys/vm/drop_caches) -and ((& id -u) -eq '0')
function Clear-PageCache {
    if (-not $script:canDrop) { return }
    & sync
    try { [System.IO.File]::WriteAllText('/proc/sys/vm/drop_caches', '3') } catch { $script:canDrop = $false; Write-Host 'Cannot drop the page cache here (sandbox): both tools read warm.' }
}
function Time-Rsync { New-Item -ItemType Directory -Force "$work/rsync" | Out-Null; Clear-PageCache; (Measure-Command { & rsync -a "$src/" "$work/rsync/Sessions/" }).TotalSeconds }
function Time-Nekk([ref] $run) { Clear-PageCache; (Measure-Command { $run.Value = Backup-NekkFolder -Path $src -Destination "$work/nas" -Snapshot None }).TotalSeconds }

$rows = @()
$r = $null
$rs = Time-Rsync; $ns = Time-Nekk ([ref]$r)
$rows += [pscustomobject]@{ Step = 'full'; RsyncSec = $rs; NekkSec = $ns; NekkCopied = $r.BytesCopied; Status = $r.Status }
& dotnet $StudioGen mutate $src 5 --seed 2 | Out-Null
if ($LASTEXITCODE) { throw 'studiogen mutate failed' }
$rs = Time-Rsync; $ns = Time-Nekk ([ref]$r)
$rows += [pscustomobject]@{ Step = 'incremental 5%'; RsyncSec = $rs; NekkSec = $ns; NekkCopied = $r.BytesCopied; Status = $r.Status }
$rs = Time-Rsync; $ns = Time-Nekk ([ref]$r)
$rows += [pscustomobject]@{ Step = 'no change'; RsyncSec = $rs; NekkSec = $ns; NekkCopied = $r.BytesCopied; Status = $r.Status }

$peak = [System.Diagnostics.Process]::GetCurrentProcess().PeakWorkingSet64
Write-Host ("`nFolder backup: {0:N0} files, {1:N0} MB; page cache dropped before each step: {2}" -f $files, ($bytes / 1MB), $script:canDrop)
$rows | ForEach-Object {
    [pscustomobject]@{
        Step          = $_.Step
        'rsync s'     = [math]::Round($_.RsyncSec, 2)
        'Nekk s'      = [math]::Round($_.NekkSec, 2)
        'Nekk MB/s'   = if ($_.Step -eq 'full') { [math]::Round($bytes / 1MB / $_.NekkSec, 1) } else { '' }
        'rsync MB/s'  = if ($_.Step -eq 'full') { [math]::Round($bytes / 1MB / $_.RsyncSec, 1) } else { '' }
        'ratio (rsync/Nekk)' = [math]::Round($_.RsyncSec / $_.NekkSec, 2)
        Status        = $_.Status
    }
} | Format-Table -AutoSize | Out-Host
Write-Host ("PowerShell start-up + import: {0:N2} s (not included above); session peak working set: {1:N0} MB" -f $startup.TotalSeconds, ($peak / 1MB))
Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
