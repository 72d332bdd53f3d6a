#Requires -Version 7.4
<#
.SYNOPSIS
    Ghost image section of the benchmark (Linux, root): New-/Restore-NekkGhostImage against partclone, ntfsclone,
    `dd | zstd -3` and `dd` on the same half-full ext4 and NTFS volume images, same run.
.DESCRIPTION
    For each size and file system: a volume image whose free space holds stale bytes (as on a disk in use; -FreeSpace
    Sparse leaves it a hole instead, which every reader gets at memory speed), formatted and half filled with studio
    data (studiogen). Per repetition, into empty repositories: first capture -Mode UsedBlocks vs `partclone.<fs> -c`
    (and `ntfsclone --save-image` on NTFS), -Mode AllBlocks vs `dd | zstd -3`; a 5 % change (studiogen mutate on the
    mounted volume); second captures in both modes (speed-up over the first, repository growth by `du` over the first
    capture's size); restore of both second images vs `dd bs=4M conv=fsync`. Repetition 1 checks the restores: the
    AllBlocks one byte for byte (`cmp`), the UsedBlocks one with `e2fsck -fn` / `ntfsfix -n` and a studiogen digest of
    the mounted file system against the source's. Normally run by Invoke-Bench.ps1; on its own it prints its rows.
#>
param(
    [Parameter(Mandatory)] [string] $ModuleManifest,
    [string] $StudioGen = (Join-Path $PSScriptRoot '../out/studiogen/studiogen.dll'),
    # Comma-separated volume sizes in MiB (each 32–8192) and file systems.
    [string] $SizesMB = '512,1024',
    [string] $FileSystems = 'ext4,ntfs',
    [ValidateSet('Stale', 'Sparse')] [string] $FreeSpace = 'Stale',
    [int] $Repeat = 1,
    [string] $WorkDirectory = (Join-Path ([System.IO.Path]::GetTempPath()) "nekk-bench-ghost-$PID"),
    [string] $ResultFile
)
$ErrorActionPreference = 'Stop'
# Progress off, as in a scheduled job: in a redirected, non-interactive host, rendering Write-Progress costs seconds
# per capture (measured), which is the host's cost, not the engine's.
$ProgressPreference = 'SilentlyContinue'
Import-Module (Join-Path $PSScriptRoot 'BenchKit.psm1') -Force
$sizes = @($SizesMB -split '[,\s]+' | Where-Object { $_ } | ForEach-Object { [int]$_ })
if (-not $sizes -or ($sizes | Where-Object { $_ -lt 32 -or $_ -gt 8192 })) { throw "-SizesMB '$SizesMB': give sizes of 32 to 8192 MiB, e.g. '512,1024'" }
$systems = @($FileSystems -split '[,\s]+' | Where-Object { $_ })
if (-not $systems -or ($systems | Where-Object { $_ -notin 'ext4', 'ntfs' })) { throw "-FileSystems '$FileSystems': ext4 and/or ntfs" }
if (-not (Test-BenchRoot)) { throw 'the Ghost benchmark needs root (loop devices, mount, drop_caches)' }
foreach ($t in 'partclone.ext4', 'partclone.ntfs', 'ntfsclone', 'ntfsfix', 'mkntfs', 'ntfs-3g', 'mkfs.ext4', 'e2fsck', 'zstd', 'cmp') {
    if (-not (Get-Command $t -ErrorAction Ignore)) { throw "$t is needed (apt-get install partclone ntfs-3g e2fsprogs zstd)" }
}
$StudioGen = (Resolve-Path $StudioGen).Path
$rows = [System.Collections.Generic.List[object]]::new()
$context = @{}
$work = $WorkDirectory
$mnt = Join-Path $work 'mnt'
$mnt2 = Join-Path $work 'mnt2'
if (Test-Path $work) { Remove-Item -Recurse -Force $work }
New-Item -ItemType Directory -Force $mnt, $mnt2 | Out-Null

function New-BenchVolumeImage([string] $Path, [string] $FileSystem, [int] $MiB) {
    if ($FreeSpace -eq 'Stale') { & bash -c "head -c ${MiB}M /dev/urandom > '$Path'" } else { & truncate -s "${MiB}M" $Path }
    # No discard (it would punch the stale bytes out of the file) and no lazy init (it would write after mounting).
    if ($FileSystem -eq 'ext4') { & mkfs.ext4 -q -F -E 'nodiscard,lazy_itable_init=0,lazy_journal_init=0' $Path }
    else { & mkntfs -q -F -f $Path 2>&1 | Out-Null }
    if ($LASTEXITCODE) { throw "formatting $Path as $FileSystem failed" }
}

# Checks a restored UsedBlocks image independently: the file system's own check and the studio tree's digest.
function Test-RestoredVolume([string] $Restored, [string] $Original, [string] $FileSystem) {
    $problems = @()
    if ($FileSystem -eq 'ext4') { $out = & e2fsck -fn $Restored 2>&1 } else { $out = & ntfsfix -n $Restored 2>&1 }
    if ($LASTEXITCODE) { $problems += "$(if ($FileSystem -eq 'ext4') { 'e2fsck -fn' } else { 'ntfsfix -n' }) on the restored image: exit $LASTEXITCODE" }
    Mount-BenchVolume $Original $FileSystem $mnt -ReadOnly
    try {
        Mount-BenchVolume $Restored $FileSystem $mnt2 -ReadOnly
        try {
            $a = Invoke-BenchStudioGen $StudioGen @('digest', "$mnt/studio") -Text
            $b = Invoke-BenchStudioGen $StudioGen @('digest', "$mnt2/studio") -Text
            if ($a -notmatch '^[0-9a-f]{64}\s' -or $a -ne $b) { $problems += 'the restored studio tree differs from the source (studiogen digest)' }
        }
        finally { Dismount-BenchVolume $mnt2 }
    }
    finally { Dismount-BenchVolume $mnt }
    $problems -join '; '
}

try {
    Import-Module (Resolve-Path $ModuleManifest).Path -Force
    $env:NEKKBACKUP_DATA = Join-Path $work 'data'
    # Warm the session (JIT of hashing, compression, the bitmap parsers, the file-table comparison of a second
    # used-block capture, restore) on small volumes of each file system.
    foreach ($fs in $systems) {
        New-BenchVolumeImage "$work/warm-$fs.img" $fs 16
        foreach ($mode in 'UsedBlocks', 'AllBlocks', 'UsedBlocks') {
            $w = New-NekkGhostImage -Source "$work/warm-$fs.img" -Repository "$work/warm-$fs-$mode" -Snapshot None -Mode $mode
            $null = Restore-NekkGhostImage -Repository "$work/warm-$fs-$mode" -ImageId $w.ImageId -Target "$work/warm-$fs-$mode.out" -Confirm:$false
            Remove-Item "$work/warm-$fs-$mode.out"
        }
    }
    Remove-Item -Recurse -Force "$work/warm*"

    foreach ($mb in $sizes) {
        foreach ($fs in $systems) {
            $group = "Ghost image: $fs, $mb MiB volume, half full"
            $img = Join-Path $work "$fs-$mb.img"
            New-BenchVolumeImage $img $fs $mb
            Mount-BenchVolume $img $fs $mnt
            $gen = Invoke-BenchStudioGen $StudioGen @('gen', "$mnt/studio", "$([int]($mb / 2))", '--seed', '1')
            Dismount-BenchVolume $mnt
            $m = @{}; foreach ($k in 'used', 'pc', 'nc', 'all', 'dd', 'used2', 'all2', 'usedFrac', 'allFrac', 'restA', 'restU', 'ddR', 'usedBytes', 'pcBytes', 'firstU', 'firstA', 'growU', 'growA') { $m[$k] = @() }
            $problems = @{ used = @(); all = @(); restA = @(); restU = @() }
            for ($r = 1; $r -le $Repeat; $r++) {
                $repoU = Join-Path $work 'repo-used'; $repoA = Join-Path $work 'repo-all'
                Remove-Item -Recurse -Force $repoU, $repoA -ErrorAction Ignore
                $label = "$fs $mb MiB, repetition $r"
                $p = Invoke-BenchPair $r {
                    Measure-BenchCmdlet "$label`: 1st capture UsedBlocks" { New-NekkGhostImage -Source $img -Repository $repoU -Snapshot None -Mode UsedBlocks }
                } {
                    Measure-BenchAnchor "$label`: partclone.$fs -c" "partclone.$fs -c -s '$img' -o '$work/pc.img' -q >/dev/null 2>&1" -Durable "$work/pc.img"
                }
                $u1 = $p.Ours.Output
                if ("$($u1.Mode)" -ne 'UsedBlocks') { $problems.used += "the capture fell back to $($u1.Mode)" }
                $m.used += $p.Ours.Wall; $m.pc += $p.Anchor.Wall; $m.usedBytes += $u1.UsedBytes; $m.pcBytes += (Get-Item "$work/pc.img").Length
                Remove-Item "$work/pc.img"
                if ($fs -eq 'ntfs') {
                    $m.nc += (Measure-BenchAnchor "$label`: ntfsclone --save-image" "ntfsclone --save-image -q -f -o '$work/nc.img' '$img' >/dev/null 2>&1" -Durable "$work/nc.img").Wall
                    Remove-Item "$work/nc.img"
                }
                $p = Invoke-BenchPair $r {
                    Measure-BenchCmdlet "$label`: 1st capture AllBlocks" { New-NekkGhostImage -Source $img -Repository $repoA -Snapshot None -Mode AllBlocks }
                } {
                    Measure-BenchAnchor "$label`: dd | zstd -3" "dd if='$img' bs=4M status=none | zstd -3 -q -o '$work/dd.zst'" -Durable "$work/dd.zst"
                }
                $a1 = $p.Ours.Output
                $m.all += $p.Ours.Wall; $m.dd += $p.Anchor.Wall
                Remove-Item "$work/dd.zst"
                $firstU = Get-BenchTreeBytes $repoU; $firstA = Get-BenchTreeBytes $repoA
                $m.firstU += $firstU; $m.firstA += $firstA

                Mount-BenchVolume $img $fs $mnt
                $null = Invoke-BenchStudioGen $StudioGen @('mutate', "$mnt/studio", '5', '--seed', "$(100 + $r)")
                Dismount-BenchVolume $mnt
                $u2 = (Measure-BenchCmdlet "$label`: 2nd capture UsedBlocks" { New-NekkGhostImage -Source $img -Repository $repoU -Snapshot None -Mode UsedBlocks })
                $a2 = (Measure-BenchCmdlet "$label`: 2nd capture AllBlocks" { New-NekkGhostImage -Source $img -Repository $repoA -Snapshot None -Mode AllBlocks })
                $m.used2 += $u2.Wall; $m.all2 += $a2.Wall
                $growU = (Get-BenchTreeBytes $repoU) - $firstU; $growA = (Get-BenchTreeBytes $repoA) - $firstA
                $m.growU += $growU; $m.growA += $growA
                $m.usedFrac += $growU / $firstU; $m.allFrac += $growA / $firstA

                $restoredA = Join-Path $work 'restored-all.img'; $restoredU = Join-Path $work 'restored-used.img'
                $p = Invoke-BenchPair $r {
                    Measure-BenchCmdlet "$label`: restore AllBlocks image" { Restore-NekkGhostImage -Repository $repoA -ImageId $a2.Output.ImageId -Target $restoredA -Confirm:$false }
                } {
                    Measure-BenchAnchor "$label`: dd bs=4M conv=fsync" "dd if='$img' of='$work/dd.img' bs=4M conv=fsync status=none"
                }
                $m.restA += $p.Ours.Wall; $m.ddR += $p.Anchor.Wall
                Remove-Item "$work/dd.img"
                $m.restU += (Measure-BenchCmdlet "$label`: restore UsedBlocks image" { Restore-NekkGhostImage -Repository $repoU -ImageId $u2.Output.ImageId -Target $restoredU -Confirm:$false }).Wall
                if ($r -eq 1) {
                    & cmp -s $restoredA $img
                    if ($LASTEXITCODE) { $problems.restA += 'the restored AllBlocks image differs from the volume (cmp)' }
                    $bad = Test-RestoredVolume $restoredU $img $fs
                    if ($bad) { $problems.restU += $bad }
                }
                Remove-Item $restoredA, $restoredU
            }
            $pairs = { param($anchor, $ours) @(for ($i = 0; $i -lt $ours.Count; $i++) { $anchor[$i] / $ours[$i] }) }
            $mbOf = { param($v) @($v | ForEach-Object { $_ / 1MB }) }
            $rows.Add((New-BenchRow -Id "ghost-$fs-$mb-usedblocks" -Group $group -Row '1st capture -Mode UsedBlocks' -Ours ((Format-BenchValue $m.used) + ' · read ' + (Format-BenchValue (& $mbOf $m.usedBytes) ' MB' 'N0')) `
                -Anchor ("partclone.$fs -c " + (Format-BenchValue $m.pc)) -Values (& $pairs $m.pc $m.used) -Goal '>= 1.0' -Problem ($problems.used -join '; ')))
            if ($fs -eq 'ntfs') {
                $rows.Add((New-BenchRow -Id "ghost-$fs-$mb-ntfsclone" -Group $group -Row '1st capture -Mode UsedBlocks (vs ntfsclone)' -Ours (Format-BenchValue $m.used) `
                    -Anchor ('ntfsclone --save-image ' + (Format-BenchValue $m.nc)) -Values (& $pairs $m.nc $m.used) -Note 'reported only: the goal names partclone'))
            }
            $rows.Add((New-BenchRow -Id "ghost-$fs-$mb-allblocks" -Group $group -Row '1st capture -Mode AllBlocks' -Ours (Format-BenchValue $m.all) `
                -Anchor ('dd | zstd -3 ' + (Format-BenchValue $m.dd)) -Values (& $pairs $m.dd $m.all) -Goal '>= 1.0'))
            foreach ($mode in 'UsedBlocks', 'AllBlocks') {
                $k = if ($mode -eq 'UsedBlocks') { @{ t1 = $m.used; t2 = $m.used2; frac = $m.usedFrac; grow = $m.growU; first = $m.firstU } } else { @{ t1 = $m.all; t2 = $m.all2; frac = $m.allFrac; grow = $m.growA; first = $m.firstA } }
                $slug = $mode.ToLowerInvariant()
                # The goal is the weekly image's (UsedBlocks, which compares file-system metadata and reads only what
                # changed). AllBlocks promises every byte as it is now, so it reads every byte: reported, bound by the disk.
                $speed = @{ Id = "ghost-$fs-$mb-second-$slug-speedup"; Group = $group; Row = "2nd capture after 5 % ($mode): speed-up over the 1st"
                    Ours = (Format-BenchValue $k.t2); Anchor = ('1st capture ' + (Format-BenchValue $k.t1)); Values = (& $pairs $k.t1 $k.t2) }
                if ($mode -eq 'UsedBlocks') { $speed.Goal = '>= 3' } else { $speed.Note = 'reported only: AllBlocks reads every block (bit for bit), so it is bound by the disk' }
                $rows.Add((New-BenchRow @speed))
                $rows.Add((New-BenchRow -Id "ghost-$fs-$mb-second-$slug-stored" -Group $group -Row "2nd capture after 5 % ($mode): stored fraction" `
                    -Ours ('repository grew ' + (Format-BenchValue (& $mbOf $k.grow) ' MB' 'N1')) -Anchor ('1st stored ' + (Format-BenchValue (& $mbOf $k.first) ' MB' 'N1')) `
                    -Values $k.frac -Goal '< 0.10' -Unit '' -Format 'N3'))
            }
            $rows.Add((New-BenchRow -Id "ghost-$fs-$mb-restore-allblocks" -Group $group -Row 'restore of the AllBlocks image (raw file)' -Ours (Format-BenchValue $m.restA) `
                -Anchor ('dd bs=4M conv=fsync ' + (Format-BenchValue $m.ddR)) -Values (& $pairs $m.ddR $m.restA) -Goal '>= 1.0' `
                -Note $(if (-not $problems.restA) { 'bit-identical (cmp)' }) -Problem ($problems.restA -join '; ')))
            $rows.Add((New-BenchRow -Id "ghost-$fs-$mb-restore-usedblocks" -Group $group -Row 'restore of the UsedBlocks image (raw file)' -Ours (Format-BenchValue $m.restU) `
                -Anchor ('dd bs=4M conv=fsync ' + (Format-BenchValue $m.ddR)) -Values (& $pairs $m.ddR $m.restU) -Goal '>= 1.0' `
                -Note $(if (-not $problems.restU) { "$(if ($fs -eq 'ext4') { 'e2fsck -fn' } else { 'ntfsfix -n' }) clean, files identical (digest)" }) -Problem ($problems.restU -join '; ')))
            $context[$group] = ('{0} MiB {1} image, free space {2}; {3:N0} files, {4:N0} bytes of studio data (studiogen seed 1); UsedBlocks read {5}; partclone wrote {6}. A mutation of 5 % (new seed each repetition) precedes the 2nd captures; stored fraction = repository growth (du) ÷ the repository after the 1st capture.' -f `
                $mb, $fs, $(if ($FreeSpace -eq 'Stale') { 'holding stale random bytes (as on a disk in use)' } else { 'a hole (sparse file)' }), $gen.files, $gen.bytes,
                (Format-BenchValue (& $mbOf $m.usedBytes) ' MB' 'N0'), (Format-BenchValue (& $mbOf $m.pcBytes) ' MB' 'N0'))
            Remove-Item $img
        }
    }
}
finally {
    foreach ($p in $mnt2, $mnt) { if ((& findmnt -n $p 2>$null)) { & umount $p 2>$null } }
    if (-not $env:NEKK_BENCH_KEEP) { Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue }
}
if ($ResultFile) { Save-BenchSection -Path $ResultFile -Section 'Ghost' -Rows $rows -Context $context }
else { Write-BenchRowTable $rows }
