#Requires -Version 7.4
# Smoke test of the benchmark (bench/Invoke-Bench.ps1 -Quick), so it cannot silently rot: every row of PRODUCT.md §5 /
# issue 16 is measured and written, the ratios are what the raw measurements say, and the restores it times were
# checked. It asserts nothing about speed (small sizes on a shared machine).
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:skip = Get-NekkSkipReason -Root -Tool 'rsync', 'partclone.ext4', 'partclone.ntfs', 'ntfsclone', 'ntfs-3g', 'mkntfs', 'zstd', 'rclone', 'node'
    if (-not $skip) {
        $script:work = New-NekkTestDirectory 'bench'
        $bench = Join-Path $PSScriptRoot '../../bench/Invoke-Bench.ps1'
        $script:log = Invoke-NekkPwsh -File $bench -ModuleManifest (Get-NekkManifestPath) -StudioGen (Get-StudioGenPath) -Quick -OutDirectory $work *>&1 | Out-String
        $script:exit = $LASTEXITCODE
        $json = Join-Path $work 'results.json'
        $script:result = if (Test-Path $json) { Get-Content -Raw $json | ConvertFrom-Json } else { $null }
        $script:md = Get-Content -Raw (Join-Path $work 'results.md') -ErrorAction Ignore
        $script:rowById = @{}
        if ($result) { foreach ($r in $result.Rows) { $rowById[$r.Id] = $r } }
    }
}
AfterAll { if ($script:work) { Remove-Item -Recurse -Force $script:work -ErrorAction SilentlyContinue } }

Describe 'build.ps1 Bench -Quick' {
    It 'runs every section and writes results.md and results.json' {
        if ($skip) { Set-ItResult -Skipped -Because $skip; return }
        $exit | Should -Be 0 -Because $log
        $result.Mode | Should -Be 'Quick'
        @($result.Sections | ForEach-Object Section) | Should -Be @('Folder', 'Ghost', 'Cloud')
        $result.PageCacheDropped | Should -BeTrue
        $result.LoadStart | Should -Match '^\d+\.\d+ \d+\.\d+ \d+\.\d+$'
        $md | Should -Match '\| row \| ours \| anchor \| ratio / value \| goal \| result \|'
    }

    It 'reports every row of the issue''s table, each measured, with its goal' {
        if ($skip) { Set-ItResult -Skipped -Because $skip; return }
        $expected = [ordered]@{ 'startup-pwsh' = ''; 'startup-import' = ''; 'cloud-tree' = '>= 1.2'; 'cloud-big' = '>= 1.0'; 'cloud-peak' = '< 300' }
        foreach ($mb in 16, 32) { foreach ($s in 'full', 'incremental', 'nochange') { $expected["folder-$mb-$s"] = '>= 1.0' } }
        foreach ($fs in 'ext4', 'ntfs') {
            $expected["ghost-$fs-64-usedblocks"] = '>= 1.0'; $expected["ghost-$fs-64-allblocks"] = '>= 1.0'
            foreach ($mode in 'usedblocks', 'allblocks') {
                # AllBlocks reads every block by definition: its second capture is reported, the goal is the weekly image's (UsedBlocks).
                $expected["ghost-$fs-64-second-$mode-speedup"] = $(if ($mode -eq 'usedblocks') { '>= 3' } else { '' })
                $expected["ghost-$fs-64-second-$mode-stored"] = '< 0.10'
                $expected["ghost-$fs-64-restore-$mode"] = '>= 1.0'
            }
        }
        $expected['ghost-ntfs-64-ntfsclone'] = ''
        @($result.Rows | ForEach-Object Id) | Sort-Object | Should -Be @($expected.Keys | Sort-Object)
        foreach ($id in $expected.Keys) {
            $r = $rowById[$id]
            $r.Goal | Should -Be $expected[$id] -Because $id
            @($r.Values).Count | Should -Be $(if ($id -eq 'cloud-peak') { 2 } else { 1 }) -Because "$id is measured once per repetition (the peak: per workload)"
            @($r.Values | Where-Object { $_ -le 0 }) | Should -BeNullOrEmpty -Because "$id has a positive value"
            $r.Verdict | Should -Match $(if ($expected[$id]) { '^(PASS|FAIL)' } else { '^info$' }) -Because $id
            $md | Should -Match ([regex]::Escape('| ' + $r.Row.Replace('|', '\|') + ' |')) -Because "$id is in the Markdown table"
        }
    }

    It 'checks the restores it times: AllBlocks bit-identical, UsedBlocks clean and file-identical' {
        if ($skip) { Set-ItResult -Skipped -Because $skip; return }
        foreach ($fs in 'ext4', 'ntfs') {
            $rowById["ghost-$fs-64-restore-allblocks"].Note | Should -Be 'bit-identical (cmp)'
            $rowById["ghost-$fs-64-restore-usedblocks"].Note | Should -Match 'clean, files identical \(digest\)$'
        }
    }

    It 'gives ratios that are anchor time ÷ ours from its raw measurements' {
        if ($skip) { Set-ItResult -Skipped -Because $skip; return }
        $m = @{}; foreach ($x in $result.Measurements) { $m[$x.Label] = $x }
        foreach ($x in $result.Measurements) { $x.WallSeconds | Should -BeGreaterThan 0 -Because $x.Label }
        $pairs = @(
            @('folder-32-full', 'folder 32 MB full, repetition 1: rsync -a', 'folder 32 MB full, repetition 1: Backup-NekkFolder'),
            @('ghost-ext4-64-usedblocks', 'ext4 64 MiB, repetition 1: partclone.ext4 -c', 'ext4 64 MiB, repetition 1: 1st capture UsedBlocks'),
            @('ghost-ntfs-64-allblocks', 'ntfs 64 MiB, repetition 1: dd | zstd -3', 'ntfs 64 MiB, repetition 1: 1st capture AllBlocks'),
            @('ghost-ext4-64-second-allblocks-speedup', 'ext4 64 MiB, repetition 1: 1st capture AllBlocks', 'ext4 64 MiB, repetition 1: 2nd capture AllBlocks'),
            @('cloud-big', 'cloud big, repetition 1: rclone copy', 'cloud big, repetition 1: Send-NekkCloudBackup'))
        foreach ($p in $pairs) {
            $expectedRatio = $m[$p[1]].WallSeconds / $m[$p[2]].WallSeconds
            $rowById[$p[0]].Median | Should -BeGreaterThan ($expectedRatio * 0.999) -Because $p[0]
            $rowById[$p[0]].Median | Should -BeLessThan ($expectedRatio * 1.001) -Because $p[0]
        }
        # The peak working set is the uploading process's own (PowerShell with the module), not a guess.
        $peaks = @($result.Measurements | Where-Object Label -Like 'cloud *: Send-NekkCloudBackup' | ForEach-Object PeakMB)
        $peaks.Count | Should -Be 2
        $mean = ($peaks | Measure-Object -Average).Average   # two runs: the median is their mean
        [math]::Abs($rowById['cloud-peak'].Median - $mean) | Should -BeLessThan 0.1
    }
}
