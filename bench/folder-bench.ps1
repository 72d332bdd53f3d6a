#Requires -Version 7.4
<#
.SYNOPSIS
    Folder backup section of the benchmark: Backup-NekkFolder against `rsync -a` on the same studio tree, same run.
.DESCRIPTION
    For each size: a studio tree (studiogen, seed 1); then, per repetition, into fresh destinations: full run,
    a 5 % change (studiogen mutate, a new seed each repetition), incremental run, no-change run. The cmdlet is timed
    inside this warm session (module imported, JIT warmed on a small tree), rsync as a process. Neither fsyncs the copied
    files (Backup-NekkFolder fsyncs only its run manifest), so rsync is timed without a sync too; if the engine starts
    making every copy durable, give rsync `-Durable $dest` (BenchKit) so both pay the same. Page cache dropped before
    every step (root). Normally run by Invoke-Bench.ps1; on its own it prints its rows.
#>
param(
    [Parameter(Mandatory)] [string] $ModuleManifest,
    [string] $StudioGen = (Join-Path $PSScriptRoot '../out/studiogen/studiogen.dll'),
    # Comma-separated tree sizes in MiB (a `pwsh -File` argument arrives as one string).
    [string] $SizesMB = '500,2048',
    [int] $Repeat = 1,
    [string] $WorkDirectory = (Join-Path ([System.IO.Path]::GetTempPath()) "nekk-bench-folder-$PID"),
    [string] $ResultFile
)
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
Import-Module (Join-Path $PSScriptRoot 'BenchKit.psm1') -Force
$sizes = @($SizesMB -split '[,\s]+' | Where-Object { $_ } | ForEach-Object { [int]$_ })
if (-not $sizes -or ($sizes | Where-Object { $_ -lt 1 })) { throw "-SizesMB '$SizesMB': give sizes in MiB, e.g. '500,2048'" }
if (-not (Get-Command rsync -ErrorAction Ignore)) { throw 'rsync is needed (apt-get install rsync)' }
$StudioGen = (Resolve-Path $StudioGen).Path
$group = 'Folder backup: Backup-NekkFolder vs rsync -a'
$rows = [System.Collections.Generic.List[object]]::new()
$context = @{}
$work = $WorkDirectory
if (Test-Path $work) { Remove-Item -Recurse -Force $work }
New-Item -ItemType Directory -Force $work | Out-Null
try {
    Import-Module (Resolve-Path $ModuleManifest).Path -Force
    $env:NEKKBACKUP_DATA = Join-Path $work 'data'
    # Warm the session: JIT and first-use costs are not what is measured.
    $null = Invoke-BenchStudioGen $StudioGen @('gen', "$work/warm/Sessions", '2', '--seed', '9')
    $null = Backup-NekkFolder -Path "$work/warm/Sessions" -Destination "$work/warm/nas" -Snapshot None
    $null = Invoke-BenchStudioGen $StudioGen @('mutate', "$work/warm/Sessions", '5', '--seed', '10')
    $null = Backup-NekkFolder -Path "$work/warm/Sessions" -Destination "$work/warm/nas" -Snapshot None
    Remove-Item -Recurse -Force "$work/warm"

    $contextLines = @()
    foreach ($mb in $sizes) {
        $src = Join-Path $work "src-$mb/Sessions"
        $gen = Invoke-BenchStudioGen $StudioGen @('gen', $src, "$mb", '--seed', '1')
        $steps = [ordered]@{ full = @(); incremental = @(); 'no change' = @() }
        $copied = @{ full = @(); incremental = @(); 'no change' = @() }
        $status = @()
        for ($r = 1; $r -le $Repeat; $r++) {
            $nas = Join-Path $work "nas-$mb-$r"
            $dest = Join-Path $work "rsync-$mb-$r/Sessions/"
            New-Item -ItemType Directory -Force $dest | Out-Null
            foreach ($step in @($steps.Keys)) {
                if ($step -eq 'incremental') { $null = Invoke-BenchStudioGen $StudioGen @('mutate', $src, '5', '--seed', "$(1 + $r)") }
                $label = "folder $mb MB $step, repetition $r"
                $p = Invoke-BenchPair $r {
                    Measure-BenchCmdlet "$label`: Backup-NekkFolder" { Backup-NekkFolder -Path $src -Destination $nas -Snapshot None }
                } {
                    Measure-BenchAnchor "$label`: rsync -a" "rsync -a '$src/' '$dest'"
                }
                if ($p.Ours.Output.Status -ne 'Succeeded') { $status += "$step $r`: $($p.Ours.Output.Status) $($p.Ours.Output.Reason)" }
                $steps[$step] += [pscustomobject]@{ Ours = $p.Ours.Wall; Anchor = $p.Anchor.Wall }
                $copied[$step] += $p.Ours.Output.BytesCopied
            }
            Remove-Item -Recurse -Force $nas, (Split-Path $dest) -ErrorAction Ignore
        }
        $bytes = [long]$gen.bytes   # before the first mutation: the full runs of later repetitions see a tree within a few % of it
        $contextLines += ('{0} MB tree: {1:N0} files, {2:N0} bytes (studiogen seed 1); each repetition: fresh destinations, full run, studiogen mutate 5 %, incremental run, no-change run.' -f $mb, $gen.files, $gen.bytes)
        foreach ($step in @($steps.Keys)) {
            $m = $steps[$step]
            $goal = if ($step -eq 'full' -and $mb -ge 2048) { '>= 1.5' } else { '>= 1.0' }
            $ours = Format-BenchValue $m.Ours
            if ($step -eq 'full') { $ours += ' · ' + (Format-BenchValue @($m.Ours | ForEach-Object { $bytes / 1MB / $_ }) ' MB/s' 'N1') }
            else { $ours += ' · copied ' + (Format-BenchValue @($copied[$step] | ForEach-Object { $_ / 1MB }) ' MB' 'N1') }
            $id = 'folder-{0}-{1}' -f $mb, ($step -replace ' ', '')
            $rows.Add((New-BenchRow -Id $id -Group $group -Row "$mb MB: $step" -Ours $ours -Anchor ('rsync -a ' + (Format-BenchValue $m.Anchor)) `
                -Values @($m | ForEach-Object { $_.Anchor / $_.Ours }) -Goal $goal -Problem (($status | Where-Object { $_ -like "$step *" }) -join '; ')))
        }
    }
    $context[$group] = $contextLines -join ' '
}
finally {
    if (-not $env:NEKK_BENCH_KEEP) { Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue }
}
if ($ResultFile) { Save-BenchSection -Path $ResultFile -Section 'Folder' -Rows $rows -Context $context }
else { Write-BenchRowTable $rows }
