#Requires -Version 7.4
<#
.SYNOPSIS
    Cloud upload section of the benchmark: Send-NekkCloudBackup against `rclone copy` to the same local s3rver, on a
    studio tree and on one large file, with the peak working set of the process doing the upload.
.DESCRIPTION
    s3rver (the real S3-protocol server the tests use) runs on 127.0.0.1; both clients upload to fresh prefixes of one
    bucket, in an order that alternates with the repetition. The cmdlet is timed inside this warm session (module
    imported, one small upload done first); its peak working set is this process's VmHWM, reset just before the call
    (so it is the whole PowerShell process: the runtime, the module and the upload). rclone runs as a process with its
    defaults (4 transfers); its peak is its largest resident set. s3rver, one node process, is the bottleneck on a
    small machine: compare the clients, not absolute throughput. Normally run by Invoke-Bench.ps1.
#>
param(
    [Parameter(Mandatory)] [string] $ModuleManifest,
    [string] $StudioGen = (Join-Path $PSScriptRoot '../out/studiogen/studiogen.dll'),
    [int] $TreeMB = 315,
    [int] $BigMB = 4096,
    [int] $Repeat = 1,
    [string] $WorkDirectory = (Join-Path ([System.IO.Path]::GetTempPath()) "nekk-bench-cloud-$PID"),
    [string] $ResultFile
)
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
Import-Module (Join-Path $PSScriptRoot 'BenchKit.psm1') -Force
# Start-NekkS3rver: the tests' way of running s3rver (npm package s3rver@3.7.1, cached under ~/.cache).
Import-Module (Join-Path $PSScriptRoot '../tests/Module/NodeTools.psm1') -Force
foreach ($t in 'rclone', 'node', 'npm') { if (-not (Get-Command $t -ErrorAction Ignore)) { throw "$t is needed (apt-get install rclone nodejs npm)" } }
$StudioGen = (Resolve-Path $StudioGen).Path
$group = 'Cloud upload: Send-NekkCloudBackup vs rclone copy (same s3rver)'
$rows = [System.Collections.Generic.List[object]]::new()
$work = $WorkDirectory
if (Test-Path $work) { Remove-Item -Recurse -Force $work }
New-Item -ItemType Directory -Force "$work/big" | Out-Null
$s3 = $null
try {
    Import-Module (Resolve-Path $ModuleManifest).Path -Force
    $env:NEKKBACKUP_DATA = Join-Path $work 'data'
    $tree = Join-Path $work 'src/Sessions'
    $gen = Invoke-BenchStudioGen $StudioGen @('gen', $tree, "$TreeMB", '--seed', '1')
    $big = Join-Path $work 'big'
    & bash -c "head -c ${BigMB}M /dev/urandom > '$big/huge.bin'"
    $s3 = Start-NekkS3rver (Join-Path $work 's3') 'bench'
    $endpoint = "http://127.0.0.1:$($s3.Port)"
    $conf = Join-Path $work 'rclone.conf'
    Set-Content $conf "[s3]`ntype = s3`nprovider = Other`naccess_key_id = S3RVER`nsecret_access_key = S3RVER`nendpoint = $endpoint`n"
    $cred = [pscredential]::new('S3RVER', (ConvertTo-SecureString 'S3RVER' -AsPlainText -Force))
    # rclone 1.60 refuses to start while AWS_CA_BUNDLE is set (field notes); the cmdlet does not mind it.
    $rcloneEnv = @{ AWS_CA_BUNDLE = $null }

    # Warm the session: the SDK, the upload pipeline and the multipart path.
    $null = Invoke-BenchStudioGen $StudioGen @('gen', "$work/warm/Sessions", '2', '--seed', '9')
    & bash -c "head -c 20M /dev/urandom > '$work/warm/part.bin'"
    $null = Send-NekkCloudBackup -Path "$work/warm/Sessions", "$work/warm/part.bin" -Bucket bench -Prefix warm -Endpoint $endpoint -Credential $cred
    Remove-Item -Recurse -Force "$work/warm"

    $workloads = [ordered]@{ tree = $tree; big = $big }
    $m = @{}
    $problems = @()
    foreach ($w in $workloads.Keys) {
        $m[$w] = @{ ours = @(); anchor = @(); peak = @(); base = @(); anchorPeak = @(); bytes = [long](Get-ChildItem $workloads[$w] -Recurse -File -Force | Measure-Object Length -Sum).Sum }
        for ($r = 1; $r -le $Repeat; $r++) {
            $src = $workloads[$w]
            $p = Invoke-BenchPair $r {
                Measure-BenchCmdlet "cloud $w, repetition $r`: Send-NekkCloudBackup" { Send-NekkCloudBackup -Path $src -Bucket bench -Prefix "ours-$w-$r" -Endpoint $endpoint -Credential $cred }
            } {
                Measure-BenchAnchor "cloud $w, repetition $r`: rclone copy" "rclone --config '$conf' copy '$src' 's3:bench/theirs-$w-$r'" -Tool rclone -Environment $rcloneEnv
            }
            $run = $p.Ours.Output
            if ($run.Status -ne 'Succeeded') { $problems += "$w run $r`: $($run.Status)" }
            elseif ($run.BytesUploaded -lt $m[$w].bytes) { $problems += "$w run $r uploaded $($run.BytesUploaded) of $($m[$w].bytes) bytes" }
            $m[$w].ours += $p.Ours.Wall; $m[$w].anchor += $p.Anchor.Wall
            $m[$w].peak += $p.Ours.PeakMB; $m[$w].base += $p.Ours.BaseMB; $m[$w].anchorPeak += $p.Anchor.PeakMB
            Remove-Item -Recurse -Force (Join-Path $work "s3/bench/ours-$w-$r"), (Join-Path $work "s3/bench/theirs-$w-$r") -ErrorAction SilentlyContinue
        }
    }
    $rate = { param($w, $times) Format-BenchValue @($times | ForEach-Object { $m[$w].bytes / 1MB / $_ }) ' MB/s' 'N1' }
    $ratio = { param($w) @(for ($i = 0; $i -lt $m[$w].ours.Count; $i++) { $m[$w].anchor[$i] / $m[$w].ours[$i] }) }
    $rows.Add((New-BenchRow -Id 'cloud-tree' -Group $group -Row ('studio tree, {0} MB ({1:N0} files)' -f $TreeMB, $gen.files) `
        -Ours ((Format-BenchValue $m.tree.ours) + ' · ' + (& $rate 'tree' $m.tree.ours)) -Anchor ('rclone copy ' + (Format-BenchValue $m.tree.anchor) + ' · ' + (& $rate 'tree' $m.tree.anchor)) `
        -Values (& $ratio 'tree') -Goal '>= 1.2' -Problem (($problems | Where-Object { $_ -like 'tree *' }) -join '; ')))
    $rows.Add((New-BenchRow -Id 'cloud-big' -Group $group -Row "one $BigMB MiB file" `
        -Ours ((Format-BenchValue $m.big.ours) + ' · ' + (& $rate 'big' $m.big.ours)) -Anchor ('rclone copy ' + (Format-BenchValue $m.big.anchor) + ' · ' + (& $rate 'big' $m.big.anchor)) `
        -Values (& $ratio 'big') -Goal '>= 1.0' -Problem (($problems | Where-Object { $_ -like 'big *' }) -join '; ')))
    $peaks = @($m.tree.peak) + @($m.big.peak)
    $rows.Add((New-BenchRow -Id 'cloud-peak' -Group $group -Row 'peak working set of the uploading process (either workload)' `
        -Ours ('PowerShell process ' + (Format-BenchValue $peaks ' MB' 'N0') + ' · before the call ' + (Format-BenchValue (@($m.tree.base) + @($m.big.base)) ' MB' 'N0')) `
        -Anchor ('rclone ' + (Format-BenchValue (@($m.tree.anchorPeak) + @($m.big.anchorPeak)) ' MB' 'N0')) -Values $peaks -Goal '< 300' -Unit ' MB' -Format 'N0'))
    $context = @{ $group = ('s3rver 3.7.1 on 127.0.0.1, one bucket, a fresh prefix per run; tree: studiogen seed 1, {0:N0} files, {1:N0} bytes; big file: {2:N0} random bytes. The cmdlet runs with its defaults (-ThrottleLimit 4), rclone with its own (4 transfers).' -f $gen.files, $m.tree.bytes, $m.big.bytes) }
}
finally {
    if ($s3) { $s3.Process.Kill(); $s3.Process.WaitForExit(5000) | Out-Null }
    if (-not $env:NEKK_BENCH_KEEP) { Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue }
}
if ($ResultFile) { Save-BenchSection -Path $ResultFile -Section 'Cloud' -Rows $rows -Context $context }
else { Write-BenchRowTable $rows }
