#Requires -Version 7.4
<#
.SYNOPSIS
    Runs the whole benchmark (what `build.ps1 Bench` calls) and writes results.md and results.json: every row of
    PRODUCT.md §5 / issue 16, ours against the anchor tool in the same run, with the goal and PASS/FAIL.
.DESCRIPTION
    Sections, each in its own PowerShell session that imports the module once and warms it before timing:
      Startup  PowerShell start-up, and start-up + Import-Module, as processes (reported apart)
      Folder   folder-bench.ps1: Backup-NekkFolder vs rsync -a (full, incremental after 5 %, no change)
      Ghost    ghost-bench.ps1: New-/Restore-NekkGhostImage vs partclone, ntfsclone, dd | zstd -3, dd (root)
      Cloud    cloud-bench.ps1: Send-NekkCloudBackup vs rclone copy to one s3rver, and the peak working set
    A section that cannot run here (not root, a tool missing) gives NOT RUN rows; one that fails gives a FAIL row and
    makes the exit code 1. -Quick uses small sizes (every row in a few minutes; the verdicts then mean nothing).
.EXAMPLE
    dotnet pwsh bench/Invoke-Bench.ps1 -ModuleManifest out/NekkBackup/0.1.0/NekkBackup.psd1 -Quick
#>
param(
    [Parameter(Mandatory)] [string] $ModuleManifest,
    # Comma-separated sizes in MiB (a `pwsh -File` argument arrives as one string). Defaults: the goals' sizes, or
    # small ones with -Quick.
    [Alias('SizeMB')] [string] $FolderSizesMB,
    [string] $GhostSizesMB,
    [string] $GhostFileSystems = 'ext4,ntfs',
    [ValidateSet('Stale', 'Sparse')] [string] $GhostFreeSpace = 'Stale',
    [int] $CloudTreeMB,
    [int] $CloudBigMB,
    [ValidateRange(1, 50)] [int] $Repeat = 1,
    [switch] $Quick,
    # Which sections to run (comma-separated): Startup, Folder, Ghost, Cloud.
    [string] $Section = 'Startup,Folder,Ghost,Cloud',
    [string] $OutDirectory = (Join-Path $PSScriptRoot '../out/bench'),
    [string] $StudioGen = (Join-Path $PSScriptRoot '../out/studiogen/studiogen.dll')
)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot 'BenchKit.psm1') -Force
$ModuleManifest = (Resolve-Path $ModuleManifest).Path
$StudioGen = (Resolve-Path $StudioGen).Path
$sections = @($Section -split '[,\s]+' | Where-Object { $_ })
foreach ($s in $sections) { if ($s -notin 'Startup', 'Folder', 'Ghost', 'Cloud') { throw "-Section '$s': Startup, Folder, Ghost or Cloud" } }
if (-not $FolderSizesMB) { $FolderSizesMB = if ($Quick) { '16,32' } else { '500,2048' } }
if (-not $GhostSizesMB) { $GhostSizesMB = if ($Quick) { '64' } else { '512,1024' } }
if (-not $CloudTreeMB) { $CloudTreeMB = if ($Quick) { 16 } else { 315 } }
if (-not $CloudBigMB) { $CloudBigMB = if ($Quick) { 64 } else { 4096 } }
New-Item -ItemType Directory -Force $OutDirectory | Out-Null
$OutDirectory = (Resolve-Path $OutDirectory).Path
$sectionDir = Join-Path $OutDirectory 'sections'
if (Test-Path $sectionDir) { Remove-Item -Recurse -Force $sectionDir }
New-Item -ItemType Directory -Force $sectionDir | Out-Null
$pwsh = Get-BenchPwsh
$started = [DateTime]::UtcNow
$loadStart = Get-BenchLoad
$rows = [System.Collections.Generic.List[object]]::new()
$context = @{}
$measurements = [System.Collections.Generic.List[object]]::new()
$dropped = @()
$startupRows = @()
$ran = [System.Collections.Generic.List[object]]::new()
$failed = $false
Write-Host ("== NekkBackup benchmark ({0}): folder {1} MB, Ghost {2} MiB ({3}), cloud {4} MB tree + {5} MiB file, {6} repetition(s); load average {7}" -f `
    $(if ($Quick) { 'Quick' } else { 'Full' }), $FolderSizesMB, $GhostSizesMB, $GhostFileSystems, $CloudTreeMB, $CloudBigMB, $Repeat, $loadStart)

if ('Startup' -in $sections) {
    $group = 'PowerShell start-up (reported apart: in no time above)'
    $quoted = ($pwsh | ForEach-Object { "'$_'" }) -join ' '
    $n = if ($Quick) { 1 } else { [math]::Max(3, $Repeat) }
    $bare = @(); $import = @()
    for ($i = 1; $i -le $n; $i++) {
        $bare += (Measure-BenchAnchor "PowerShell start-up $i" "$quoted -NoProfile -NonInteractive -Command exit" -Tool pwsh -KeepCache).Wall
        $import += (Measure-BenchAnchor "PowerShell start-up + import $i" "$quoted -NoProfile -NonInteractive -Command `"Import-Module '$ModuleManifest'`"" -Tool pwsh -KeepCache).Wall
    }
    # Measured first (before the sections load the machine), listed last, as in the issue's table.
    $startupRows = @(
        New-BenchRow -Id 'startup-pwsh' -Group $group -Row 'pwsh -NoProfile (start and exit)' -Ours (Format-BenchValue $bare) -Values $bare -Unit ' s'
        New-BenchRow -Id 'startup-import' -Group $group -Row 'pwsh -NoProfile + Import-Module NekkBackup' -Ours (Format-BenchValue $import) -Values $import -Unit ' s')
    $context[$group] = "$n run(s) each, page cache warm (a scheduled task pays this once per run); what the module adds is the difference."
    foreach ($m in Get-BenchMeasurement) { $m | Add-Member -NotePropertyName Section -NotePropertyValue 'Startup'; $measurements.Add($m) }
}

$plan = @(
    @{ Name = 'Folder'; Script = 'folder-bench.ps1'; Args = @('-SizesMB', $FolderSizesMB); Need = @('rsync'); Root = $false }
    @{ Name = 'Ghost'; Script = 'ghost-bench.ps1'; Args = @('-SizesMB', $GhostSizesMB, '-FileSystems', $GhostFileSystems, '-FreeSpace', $GhostFreeSpace); Need = @('partclone.ext4', 'partclone.ntfs', 'ntfsclone', 'ntfs-3g', 'zstd'); Root = $true }
    @{ Name = 'Cloud'; Script = 'cloud-bench.ps1'; Args = @('-TreeMB', $CloudTreeMB, '-BigMB', $CloudBigMB); Need = @('rclone', 'node', 'npm'); Root = $false }
)
foreach ($p in $plan | Where-Object { $_.Name -in $sections }) {
    $missing = @($p.Need | Where-Object { -not (Get-Command $_ -ErrorAction Ignore) })
    $why = if ($p.Root -and -not (Test-BenchRoot)) { 'needs root (loop devices, mount)' } elseif ($missing) { "needs $($missing -join ', ')" } else { $null }
    if ($why) {
        $rows.Add((New-BenchRow -Id "$($p.Name.ToLowerInvariant())-not-run" -Group $p.Name -Row "$($p.Name) section" -Note $why))
        continue
    }
    $result = Join-Path $sectionDir "$($p.Name.ToLowerInvariant()).json"
    $log = Join-Path $sectionDir "$($p.Name.ToLowerInvariant()).log"
    $argv = @('-NoProfile', '-NonInteractive', '-File', (Join-Path $PSScriptRoot $p.Script), '-ModuleManifest', $ModuleManifest, '-StudioGen', $StudioGen,
        '-Repeat', $Repeat, '-WorkDirectory', (Join-Path $OutDirectory "work/$($p.Name.ToLowerInvariant())"), '-ResultFile', $result) + $p.Args
    Write-Host "== $($p.Name) (load average $(Get-BenchLoad))"
    $exe = $pwsh[0]; $pre = @($pwsh | Select-Object -Skip 1)
    $sw = [System.Diagnostics.Stopwatch]::StartNew()
    & $exe @pre @argv *>&1 | Tee-Object -FilePath $log | Out-Host
    $code = $LASTEXITCODE
    $ran.Add([pscustomobject]@{ Section = $p.Name; Seconds = [math]::Round($sw.Elapsed.TotalSeconds, 1); ExitCode = $code; LoadEnd = (Get-BenchLoad) })
    Write-Host ("== {0}: {1:N0} s, exit {2}" -f $p.Name, $sw.Elapsed.TotalSeconds, $code)
    if ($code -ne 0 -or -not (Test-Path $result)) {
        $failed = $true
        $last = @(Get-Content $log -ErrorAction Ignore | Where-Object { $_.Trim() } | Select-Object -Last 3) -join ' '
        $rows.Add((New-BenchRow -Id "$($p.Name.ToLowerInvariant())-failed" -Group $p.Name -Row "$($p.Name) section" -Problem "the section failed (exit $code): $last (log: sections/$(Split-Path -Leaf $log))"))
        continue
    }
    $json = Get-Content -Raw $result | ConvertFrom-Json
    foreach ($r in $json.Rows) { $rows.Add($r) }
    foreach ($prop in $json.Context.PSObject.Properties) { $context[$prop.Name] = $prop.Value + " Load average at the end of the section: $($json.Load)." }
    foreach ($m in $json.Measurements) { $m | Add-Member -NotePropertyName Section -NotePropertyValue $p.Name; $measurements.Add($m) }
    $dropped += [bool]$json.PageCacheDropped
}

foreach ($r in $startupRows) { $rows.Add($r) }
$result = [ordered]@{
    Mode = if ($Quick) { 'Quick' } else { 'Full' }
    Started = $started.ToString('yyyy-MM-dd HH:mm:ss'); Finished = [DateTime]::UtcNow.ToString('yyyy-MM-dd HH:mm:ss')
    Machine = ('{0} cores, {1} MiB RAM, {2} {3}' -f [Environment]::ProcessorCount, [math]::Round(((Get-Content /proc/meminfo -TotalCount 1) -replace '\D', '') / 1KB), [System.Runtime.InteropServices.RuntimeInformation]::OSDescription, (& uname -r))
    LoadStart = $loadStart; LoadEnd = (Get-BenchLoad)
    PageCacheDropped = ($dropped.Count -gt 0 -and -not ($dropped -contains $false))
    Repeat = $Repeat
    Parameters = [ordered]@{ FolderSizesMB = $FolderSizesMB; GhostSizesMB = $GhostSizesMB; GhostFileSystems = $GhostFileSystems; GhostFreeSpace = $GhostFreeSpace; CloudTreeMB = $CloudTreeMB; CloudBigMB = $CloudBigMB; Sections = $sections }
    Sections = $ran.ToArray()
    Context = $context
    Rows = $rows.ToArray()
    Measurements = $measurements.ToArray()
}
$result | ConvertTo-Json -Depth 8 | Set-Content (Join-Path $OutDirectory 'results.json') -Encoding utf8
$md = ConvertTo-BenchMarkdown ([pscustomobject]$result)
Set-Content (Join-Path $OutDirectory 'results.md') $md -Encoding utf8
Write-Host ''
Write-Host $md
Write-Host ''
Write-Host "== Written: $(Join-Path $OutDirectory 'results.md') and results.json"
if (-not $env:NEKK_BENCH_KEEP) { Remove-Item -Recurse -Force (Join-Path $OutDirectory 'work') -ErrorAction SilentlyContinue }
if ($failed) { exit 1 }
