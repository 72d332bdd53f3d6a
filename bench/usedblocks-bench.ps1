#Requires -Version 7.4
<#
.SYNOPSIS
    Used-block capture benchmark (PRODUCT.md §5, issue 16): New-NekkGhostImage -Mode UsedBlocks against
    partclone.ext4 / partclone.ntfs / ntfsclone, and -Mode AllBlocks against `dd | zstd -3`, like with like, on the
    same half-full ext4 and NTFS volume images. Linux, root.
.DESCRIPTION
    For each size: an ext4 and an NTFS image, half full of studio data (the project's generator, studiogen). Each repetition takes
    first captures into empty repositories and runs the anchors, page cache dropped before every step. Cmdlets
    are timed inside this warmed PowerShell session (wall, and this process's CPU); anchors as processes through
    /usr/bin/time, each with a final `sync` (the engine syncs before it commits). Prints min–max per step and the
    range of the per-repetition ratios (anchor / NekkBackup: > 1 = NekkBackup faster). Part of `build.ps1 Bench`.
#>
param(
    [Parameter(Mandatory)] [string] $ModuleManifest,
    # The project's sample-data generator (tests/NekkBackup.StudioGen), built with the solution.
    [string] $StudioGen = (Join-Path $PSScriptRoot '../out/studiogen/studiogen.dll'),
    # Comma-separated (a `pwsh -File` argument arrives as one string): volume sizes in MiB, each 64–8192.
    [string] $SizesMB = '512,1024',
    [int] $Repeat = 3,
    [string] $WorkDirectory = (Join-Path ([System.IO.Path]::GetTempPath()) "nekk-ubench-$PID")
)
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$ModuleManifest = (Resolve-Path $ModuleManifest).Path
$StudioGen = (Resolve-Path $StudioGen).Path
$sizes = @($SizesMB -split '[,\s]+' | Where-Object { $_ } | ForEach-Object { [int]$_ })
if (-not $sizes -or ($sizes | Where-Object { $_ -lt 64 -or $_ -gt 8192 })) { throw "-SizesMB '$SizesMB': give sizes of 64 to 8192 MiB, e.g. '512,1024'" }
foreach ($t in 'partclone.ext4', 'partclone.ntfs', 'ntfsclone', 'mkntfs', 'ntfs-3g', 'mkfs.ext4', 'zstd') {
    if (-not (Get-Command $t -ErrorAction Ignore)) { throw "$t is needed (apt-get install partclone ntfs-3g e2fsprogs zstd)" }
}
$work = $WorkDirectory
if (Test-Path $work) { Remove-Item -Recurse -Force $work }
New-Item -ItemType Directory -Force "$work/mnt" | Out-Null
Push-Location $work
$env:NEKKBACKUP_DATA = Join-Path $work 'data'
try {
    Import-Module $ModuleManifest -Force
    $warm = [byte[]]::new(12MB); [System.Random]::new(1).NextBytes($warm); [Array]::Clear($warm, 8MB, 4MB)
    [System.IO.File]::WriteAllBytes("$work/warm.img", $warm)
    $null = New-NekkGhostImage -Source "$work/warm.img" -Repository "$work/warm-repo" -Snapshot None -Mode UsedBlocks
    Remove-Item -Recurse -Force "$work/warm-repo", "$work/warm.img"

    function Clear-PageCache { & sync; [System.IO.File]::WriteAllText('/proc/sys/vm/drop_caches', '3') }
    $self = [System.Diagnostics.Process]::GetCurrentProcess()
    $runs = [System.Collections.Generic.List[object]]::new()
    function Step-Nekk([string] $Size, [int] $Rep, [string] $Name, [scriptblock] $Body) {
        Clear-PageCache
        $self.Refresh(); $cpu0 = $self.TotalProcessorTime.TotalSeconds
        $wall = (Measure-Command { $script:out = & $Body }).TotalSeconds
        $self.Refresh()
        $runs.Add([pscustomobject]@{ Size = $Size; Rep = $Rep; Step = $Name; Wall = $wall; Cpu = $self.TotalProcessorTime.TotalSeconds - $cpu0; Bytes = $script:out.StoredBytes })
    }
    function Step-Tool([string] $Size, [int] $Rep, [string] $Name, [string] $Shell, [string] $Output) {
        Clear-PageCache
        & /usr/bin/time -f '%e %U %S' -o "$work/time.txt" sh -c "$Shell; sync"
        if ($LASTEXITCODE -ne 0) { throw "$Name failed" }
        $w, $u, $s = (Get-Content "$work/time.txt" | Select-Object -Last 1) -split ' '
        $runs.Add([pscustomobject]@{ Size = $Size; Rep = $Rep; Step = $Name; Wall = [double]$w; Cpu = [double]$u + [double]$s; Bytes = (Get-Item $Output).Length })
        Remove-Item $Output
    }
    $used = @{}
    foreach ($mb in $sizes) {
        $data = [int]($mb / 2)
        Write-Host "Building $mb MiB ext4 and NTFS images with $data MB of studio data each…"
        & truncate -s "${mb}M" "ext4-$mb.img"; & mkfs.ext4 -q -F "ext4-$mb.img"
        & mount -o loop "ext4-$mb.img" mnt; & dotnet $StudioGen gen "$work/mnt/studio" $data --seed 1 | Out-Null; & umount mnt
        & truncate -s "${mb}M" "ntfs-$mb.img"; & mkntfs -q -F -f "ntfs-$mb.img" 2>$null | Out-Null
        & ntfs-3g "ntfs-$mb.img" mnt; & dotnet $StudioGen gen "$work/mnt/studio" $data --seed 1 | Out-Null; & umount mnt
        for ($r = 1; $r -le $Repeat; $r++) {
            foreach ($fs in 'ext4', 'ntfs') {
                $img = "$work/$fs-$mb.img"
                Remove-Item -Recurse -Force "$work/repo-u", "$work/repo-a" -ErrorAction Ignore
                Step-Nekk $mb $r "$fs UsedBlocks capture" { New-NekkGhostImage -Source $img -Repository "$work/repo-u" -Snapshot None -Mode UsedBlocks }
                $used["$fs-$mb"] = $script:out.UsedBytes
                Step-Tool $mb $r "partclone.$fs -c" "partclone.$fs -c -s $img -o $work/pc.img -q >/dev/null 2>&1" "$work/pc.img"
                if ($fs -eq 'ntfs') { Step-Tool $mb $r 'ntfsclone --save-image' "ntfsclone --save-image -q -f -o $work/nc.img $img >/dev/null 2>&1" "$work/nc.img" }
                Step-Nekk $mb $r "$fs AllBlocks capture" { New-NekkGhostImage -Source $img -Repository "$work/repo-a" -Snapshot None }
                Step-Tool $mb $r "$fs dd | zstd -3" "dd if=$img bs=4M status=none | zstd -3 -q -o $work/dd.zst" "$work/dd.zst"
            }
        }
    }
    $load = ((Get-Content /proc/loadavg) -split ' ')[0..2] -join ' '
    Write-Host ("`nUsed-block benchmark, {0} cores, load average {1}, {2} repetitions, page cache dropped before every step" -f [Environment]::ProcessorCount, $load, $Repeat)
    $runs | Group-Object Size, Step | ForEach-Object {
        $g = $_.Group
        [pscustomobject]@{
            Size = $g[0].Size; Step = $g[0].Step
            'wall s' = '{0:N2}–{1:N2}' -f ($g.Wall | Measure-Object -Minimum).Minimum, ($g.Wall | Measure-Object -Maximum).Maximum
            'cpu s' = '{0:N2}–{1:N2}' -f ($g.Cpu | Measure-Object -Minimum).Minimum, ($g.Cpu | Measure-Object -Maximum).Maximum
            'stored MB' = '{0:N1}' -f ($g[0].Bytes / 1MB)
        }
    } | Format-Table -AutoSize | Out-Host
    function Ratio([string] $size, [string] $anchor, [string] $ours) {
        $w = @(); $c = @()
        for ($r = 1; $r -le $Repeat; $r++) {
            $a = $runs | Where-Object { "$($_.Size)" -eq "$size" -and $_.Rep -eq $r -and $_.Step -eq $anchor }
            $o = $runs | Where-Object { "$($_.Size)" -eq "$size" -and $_.Rep -eq $r -and $_.Step -eq $ours }
            $w += $a.Wall / $o.Wall; $c += $a.Cpu / $o.Cpu
        }
        '{0,5} MiB  {1,-52} wall {2:N2}–{3:N2}   cpu {4:N2}–{5:N2}' -f $size, "$anchor / $ours", ($w | Measure-Object -Minimum).Minimum, ($w | Measure-Object -Maximum).Maximum, ($c | Measure-Object -Minimum).Minimum, ($c | Measure-Object -Maximum).Maximum
    }
    Write-Host 'Ratio ranges over the repetitions (> 1 = NekkBackup faster):'
    foreach ($mb in $sizes) {
        Ratio $mb 'partclone.ext4 -c' 'ext4 UsedBlocks capture' | Write-Host
        Ratio $mb 'partclone.ntfs -c' 'ntfs UsedBlocks capture' | Write-Host
        Ratio $mb 'ntfsclone --save-image' 'ntfs UsedBlocks capture' | Write-Host
        Ratio $mb 'ext4 dd | zstd -3' 'ext4 AllBlocks capture' | Write-Host
        Ratio $mb 'ntfs dd | zstd -3' 'ntfs AllBlocks capture' | Write-Host
        Write-Host ('{0,5} MiB  used bytes read by UsedBlocks: ext4 {1:N0} MB, NTFS {2:N0} MB' -f $mb, ($used["ext4-$mb"] / 1MB), ($used["ntfs-$mb"] / 1MB))
    }
}
finally {
    Pop-Location
    & umount "$work/mnt" 2>$null
    if (-not $env:NEKK_BENCH_KEEP) { Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue }
}
