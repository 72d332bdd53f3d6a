#Requires -Version 7.4
<#
.SYNOPSIS
    Ghost image benchmark (PRODUCT.md §5): New-/Restore-/Test-NekkGhostImage against partclone, restic --stdin,
    ntfsclone and dd on the same volume images, same run. Linux, root.
.DESCRIPTION
    A VolumeMB (1 GiB) ext4 image holding DataMB of studio data (half full by default): first capture vs
    `partclone.ext4 -c` and `restic backup --stdin`; a 5 % change (studiogen mutate); second capture vs restic's second
    run; restore vs `dd bs=4M conv=fsync`; the restore drill; a VolumeMB NTFS image vs `ntfsclone --save-image`;
    Compression None vs Zstd. Cmdlets are timed inside this already-started, warmed PowerShell session;
    anchor tools as processes (with a final `sync`, since the engine syncs before it commits an image).
    Page cache is dropped before every step. Prints seconds, CPU seconds and ratios (> 1 = NekkBackup better).
#>
param(
    [Parameter(Mandatory)] [string] $ModuleManifest,
    # The project's sample-data generator (tests/NekkBackup.StudioGen), built with the solution.
    [string] $StudioGen = (Join-Path $PSScriptRoot '../out/studiogen/studiogen.dll'),
    [int] $DataMB = 500,
    [ValidateRange(64, 8192)] [int] $VolumeMB = 1024,
    [string] $WorkDirectory = (Join-Path ([System.IO.Path]::GetTempPath()) 'nekk-bench')
)
$ErrorActionPreference = 'Stop'
$ModuleManifest = (Resolve-Path $ModuleManifest).Path
$StudioGen = (Resolve-Path $StudioGen).Path
# Progress off, as in a scheduled job: in a redirected, non-interactive pwsh 7.6 host, rendering Write-Progress
# cost 2-5 s of wall time per 1 GiB capture here (measured), which is the host's cost, not the engine's.
$ProgressPreference = 'SilentlyContinue'
foreach ($t in 'partclone.ext4', 'restic', 'ntfsclone', 'mkntfs', 'ntfs-3g', 'mkfs.ext4') {
    if (-not (Get-Command $t -ErrorAction Ignore)) { throw "$t is needed (apt-get install partclone restic ntfs-3g e2fsprogs)" }
}
$work = Join-Path $WorkDirectory 'ghost'
if (Test-Path $work) { Remove-Item -Recurse -Force $work }
New-Item -ItemType Directory -Force "$work/mnt" | Out-Null
Push-Location $work
$env:RESTIC_PASSWORD = 'nekk-bench'
$env:NEKKBACKUP_DATA = Join-Path $work 'data'
try {
    Import-Module $ModuleManifest -Force
    # Warm the session (JIT of hashing, zstd, restore paths) on a small image: random, text and zeros.
    $warm = [byte[]]::new(12MB); [System.Random]::new(1).NextBytes($warm)
    $text = [System.Text.Encoding]::ASCII.GetBytes(('session log line ' * 300000)); [Array]::Copy($text, 0, $warm, 4MB, 4MB)
    [Array]::Clear($warm, 8MB, 4MB)
    [System.IO.File]::WriteAllBytes("$work/warm.img", $warm)
    $w = New-NekkGhostImage -Source "$work/warm.img" -Repository "$work/warm-repo" -Snapshot None
    $null = Restore-NekkGhostImage -Repository "$work/warm-repo" -ImageId $w.ImageId -Target "$work/warm.out" -Confirm:$false
    $null = Test-NekkGhostImage -Repository "$work/warm-repo" -Full
    Remove-Item -Recurse -Force "$work/warm-repo", "$work/warm.img", "$work/warm.out"

    $canDrop = (Test-Path /proc/sys/vm/drop_caches)
    function Clear-PageCache {
        & sync
        if ($script:canDrop) { try { [System.IO.File]::WriteAllText('/proc/sys/vm/drop_caches', '3') } catch { $script:canDrop = $false } }
    }
    $self = [System.Diagnostics.Process]::GetCurrentProcess()
    $rows = [ordered]@{}
    # In-session cmdlet: wall time and this process's CPU time.
    function Step-Nekk([string] $Name, [scriptblock] $Body) {
        Clear-PageCache
        $self.Refresh(); $cpu0 = $self.TotalProcessorTime.TotalSeconds
        $out = $null
        $wall = (Measure-Command { $script:out = & $Body }).TotalSeconds
        $self.Refresh()
        $rows[$Name] = [pscustomobject]@{ Wall = $wall; Cpu = $self.TotalProcessorTime.TotalSeconds - $cpu0 }
        return $script:out
    }
    # Anchor process: wall and CPU (user+sys of the process tree) through /usr/bin/time.
    function Step-Tool([string] $Name, [string] $Shell) {
        Clear-PageCache
        & /usr/bin/time -f '%e %U %S' -o "$work/time.txt" sh -c "$Shell; sync"
        if ($LASTEXITCODE -ne 0) { throw "$Name failed" }
        $w, $u, $s = (Get-Content "$work/time.txt" | Select-Object -Last 1) -split ' '
        $rows[$Name] = [pscustomobject]@{ Wall = [double]$w; Cpu = [double]$u + [double]$s }
    }

    Write-Host "Building a $VolumeMB MiB ext4 image with $DataMB MB of studio data…"
    & truncate -s "${VolumeMB}M" ext4.img; & mkfs.ext4 -q -F ext4.img
    & mount -o loop ext4.img mnt; & dotnet $StudioGen gen "$work/mnt/studio" $DataMB --seed 1 | Out-Null; & umount mnt

    $img1 = Step-Nekk 'capture ext4 (1st)' { New-NekkGhostImage -Source "$work/ext4.img" -Repository "$work/repo" -Snapshot None }
    Step-Tool 'partclone.ext4 -c' 'partclone.ext4 -c -s ext4.img -o ext4.pc -q >/dev/null 2>&1'
    & restic init -q -r restic | Out-Null
    Step-Tool 'restic --stdin (1st)' 'restic -q -r restic backup --stdin --stdin-filename ext4.img < ext4.img >/dev/null'
    $restic1 = [long](& du -sb restic).Split("`t")[0]

    & mount -o loop ext4.img mnt; & dotnet $StudioGen mutate "$work/mnt/studio" 5 --seed 2 | Out-Null; & umount mnt
    $repoBefore = [long](& du -sb repo).Split("`t")[0]
    $img2 = Step-Nekk 'capture ext4 (after 5 %)' { New-NekkGhostImage -Source "$work/ext4.img" -Repository "$work/repo" -Snapshot None }
    $repoGrowth = [long](& du -sb repo).Split("`t")[0] - $repoBefore
    Step-Tool 'restic --stdin (2nd)' 'restic -q -r restic backup --stdin --stdin-filename ext4.img < ext4.img >/dev/null'
    $resticGrowth = [long](& du -sb restic).Split("`t")[0] - $restic1

    $null = Step-Nekk 'restore (raw file)' { Restore-NekkGhostImage -Repository "$work/repo" -ImageId $img2.ImageId -Target "$work/restored.img" -Confirm:$false }
    Step-Tool 'dd bs=4M conv=fsync' 'dd if=ext4.img of=dd.img bs=4M conv=fsync status=none'
    & cmp -s restored.img ext4.img; $identical = $LASTEXITCODE -eq 0
    $drill = Step-Nekk 'restore drill (Test -Full)' { Test-NekkGhostImage -Repository "$work/repo" -ImageId $img2.ImageId -Full }
    $none = Step-Nekk 'capture ext4, Compression None' { New-NekkGhostImage -Source "$work/ext4.img" -Repository "$work/repo-none" -Snapshot None -Compression None }

    Write-Host "Building a $VolumeMB MiB NTFS image with $DataMB MB…"
    & truncate -s "${VolumeMB}M" ntfs.img; & mkntfs -q -F -f ntfs.img 2>$null | Out-Null; & ntfs-3g ntfs.img mnt
    & dotnet $StudioGen gen "$work/mnt/studio" $DataMB --seed 3 | Out-Null; & umount mnt
    $null = Step-Nekk 'capture NTFS' { New-NekkGhostImage -Source "$work/ntfs.img" -Repository "$work/repo-ntfs" -Snapshot None }
    Step-Tool 'ntfsclone --save-image' 'ntfsclone --save-image -q -f -o ntfs.clone ntfs.img >/dev/null 2>&1'

    $load = ((Get-Content /proc/loadavg) -split ' ')[0..2] -join ' '
    Write-Host ("`nGhost image benchmark, {0} cores, load average {1}; page cache dropped: {2}" -f [Environment]::ProcessorCount, $load, $canDrop)
    $rows.GetEnumerator() | ForEach-Object { [pscustomobject]@{ Step = $_.Key; 'wall s' = [math]::Round($_.Value.Wall, 2); 'cpu s' = [math]::Round($_.Value.Cpu, 2) } } |
        Format-Table -AutoSize | Out-Host
    function Ratio([string] $anchor, [string] $ours) {
        '{0,-44} wall {1,5:N2}   cpu {2,5:N2}' -f "$anchor / $ours", ($rows[$anchor].Wall / $rows[$ours].Wall), ($rows[$anchor].Cpu / $rows[$ours].Cpu)
    }
    Write-Host 'Ratios (> 1 = NekkBackup faster):'
    Ratio 'partclone.ext4 -c' 'capture ext4 (1st)' | Write-Host
    Ratio 'restic --stdin (1st)' 'capture ext4 (1st)' | Write-Host
    Ratio 'capture ext4 (1st)' 'capture ext4 (after 5 %)' | Write-Host
    Ratio 'restic --stdin (2nd)' 'capture ext4 (after 5 %)' | Write-Host
    Ratio 'dd bs=4M conv=fsync' 'restore (raw file)' | Write-Host
    Ratio 'ntfsclone --save-image' 'capture NTFS' | Write-Host
    Write-Host ('2nd capture stored {0:N0} B new = {1:N2} % of the 1st ({2:N0} B); repository grew {3:N0} B; restic grew {4:N0} B' -f `
        $img2.NewBytes, (100.0 * $img2.NewBytes / $img1.NewBytes), $img1.NewBytes, $repoGrowth, $resticGrowth)
    Write-Host ('Zstd stored {0:N0} B, None {1:N0} B; restore bit-identical: {2}; drill: {3}; session peak working set {4:N0} MB' -f `
        $img1.StoredBytes, $none.StoredBytes, $identical, $drill.Status, ($self.PeakWorkingSet64 / 1MB))
}
finally {
    Pop-Location
    & umount "$work/mnt" 2>$null
    if (-not $env:NEKK_BENCH_KEEP) { Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue }
}
