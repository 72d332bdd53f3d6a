#Requires -Version 7.4
# Folder backup cmdlets as an admin calls them, on real studio trees. Reference copies and digests are
# taken with plain PowerShell before each run and compared after restores.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-NekkTestModule
    $script:work = New-NekkTestDirectory 'folder'
    $env:NEKKBACKUP_DATA = Join-Path $script:work 'data'
}

AfterAll {
    Remove-Item -Recurse -Force $script:work -ErrorAction SilentlyContinue
}

Describe 'Backup-NekkFolder round trip' {
    BeforeAll {
        $script:src = New-StudioData (Join-Path $work 'rt/Sessions') -SizeMB 12 -Seed 7
        $script:nas = Join-Path $work 'rt/nas'
        $script:refs = @()
        $script:runs = @()
        for ($i = 0; $i -lt 3; $i++) {
            if ($i -gt 0) { Update-StudioData $src -Percent 10 -Seed (40 + $i) }
            $script:refs += , (Get-TreeDigest $src)
            $script:runs += Backup-NekkFolder -Path $src -Destination $nas -Snapshot None
            Start-Sleep -Milliseconds 1100   # distinct Started times for -AsOf
        }
    }

    It 'each run succeeds and the later ones copy only what changed' {
        $runs.Status | Should -Be @('Succeeded', 'Succeeded', 'Succeeded')
        $runs[0].FilesCopied | Should -Be $refs[0].Count
        $runs[1].FilesCopied | Should -BeLessThan ($refs[1].Count / 2)
        $runs[1].FilesCopied | Should -BeGreaterThan 0
        $runs[0].PSObject.TypeNames[0] | Should -Be 'NekkBackup.FolderBackupRun'
    }

    It 'leaves a browsable mirror of the current source' {
        $mirror = Get-TreeDigest (Join-Path $nas 'Sessions')
        Compare-TreeDigest $refs[2] $mirror | Should -BeNullOrEmpty
    }

    It 'lists the runs from the destination alone' {
        $listed = Get-NekkFolderBackup -Destination $nas
        @($listed).Count | Should -Be 3
        $listed.RunId | Should -Be $runs.RunId
    }

    It 'restores every run byte for byte (by RunId)' {
        for ($i = 0; $i -lt 3; $i++) {
            $target = Join-Path $work "rt/restore-$i"
            $r = Restore-NekkFolder -Destination $nas -Target $target -RunId $runs[$i].RunId
            $r.Status | Should -Be 'Succeeded'
            Compare-TreeDigest $refs[$i] (Get-TreeDigest (Join-Path $target 'Sessions')) | Should -BeNullOrEmpty
        }
    }

    It 'restores the run in force at -AsOf' {
        $target = Join-Path $work 'rt/asof'
        $r = Restore-NekkFolder -Destination $nas -Target $target -AsOf $runs[1].Started.AddMilliseconds(500)
        $r.RunId | Should -Be $runs[1].RunId
        Compare-TreeDigest $refs[1] (Get-TreeDigest (Join-Path $target 'Sessions')) | Should -BeNullOrEmpty
    }

    It 'restores only the -Path it is given, from a piped run' {
        $target = Join-Path $work 'rt/partial'
        $r = Get-NekkFolderBackup -Destination $nas | Select-Object -First 1 | Restore-NekkFolder -Target $target -Path 'Sessions/*.txt', '**/*.xml'
        $r.RunId | Should -Be $runs[0].RunId
        $got = Get-TreeDigest (Join-Path $target 'Sessions')
        $expected = [ordered]@{}
        foreach ($k in $refs[0].Keys) { if ($k -like '*.xml' -or ($k -notlike '*/*' -and $k -like '*.txt')) { $expected[$k] = $refs[0][$k] } }
        $expected.Count | Should -BeGreaterThan 0
        Compare-TreeDigest $expected $got | Should -BeNullOrEmpty
    }

    It 'shows the versions of one changed file' {
        $changed = $refs[0].Keys | Where-Object { $refs[1].Contains($_) -and $refs[1][$_] -ne $refs[0][$_] } | Select-Object -First 1
        $changed | Should -Not -BeNullOrEmpty
        $versions = Get-NekkFolderBackup -Destination $nas -Path "Sessions/$changed"
        @($versions).Count | Should -BeGreaterOrEqual 2
        @($versions | Select-Object -ExpandProperty Hash -Unique).Count | Should -BeGreaterOrEqual 2
    }

    It 'passes the full integrity check' {
        $t = Test-NekkFolderBackup -Destination $nas -Full
        $t.Status | Should -Be 'Passed'
        $t.Problems | Should -BeNullOrEmpty
    }

    It 'a no-change run copies nothing' {
        $r = Backup-NekkFolder -Path $src -Destination $nas -Snapshot None
        $r.Status | Should -Be 'Succeeded'
        $r.FilesCopied | Should -Be 0
        $r.BytesCopied | Should -Be 0
    }
}

Describe 'Backup-NekkFolder guards and bad input' {
    BeforeAll {
        $script:gsrc = New-StudioData (Join-Path $work 'g/Sessions') -SizeMB 6 -Seed 3
        $script:gnas = Join-Path $work 'g/nas'
        $null = Backup-NekkFolder -Path $gsrc -Destination $gnas -Snapshot None
    }

    It '-WhatIf writes nothing (it returns a preview: WhatIf.Tests.ps1)' {
        $dest = Join-Path $work 'g/whatif'
        (Backup-NekkFolder -Path $gsrc -Destination $dest -WhatIf).PSObject.TypeNames[0] | Should -Be 'NekkBackup.FolderBackupPreview'
        Test-Path $dest | Should -BeFalse
    }

    It 'refuses a run where most files were overwritten with random bytes (ransomware) and leaves the NAS untouched' {
        $copy = Join-Path $work 'g2/Sessions'
        New-Item -ItemType Directory (Split-Path $copy) | Out-Null
        Copy-Item -Recurse $gsrc $copy
        $nas2 = Join-Path $work 'g2/nas'
        $null = Backup-NekkFolder -Path $copy -Destination $nas2 -Snapshot None
        $before = Get-TreeDigest $nas2
        $files = Get-ChildItem $copy -Recurse -File | Where-Object Length -gt 0
        $rng = [System.Security.Cryptography.RandomNumberGenerator]::Create()
        foreach ($f in $files | Select-Object -First ([int]($files.Count * 0.8))) {
            $bytes = [byte[]]::new($f.Length); $rng.GetBytes($bytes); [System.IO.File]::WriteAllBytes($f.FullName, $bytes)
        }
        $r = Backup-NekkFolder -Path $copy -Destination $nas2 -Snapshot None -ErrorVariable refusal -ErrorAction SilentlyContinue
        $r.Status | Should -Be 'Refused'
        $r.Reason | Should -Not -BeNullOrEmpty
        $refusal[0].FullyQualifiedErrorId | Should -Be 'NekkBackup.BackupRefused,NekkBackup.Commands.Folder.BackupNekkFolderCommand'
        Compare-TreeDigest $before (Get-TreeDigest $nas2) | Should -BeNullOrEmpty
    }

    It 'fails with <Id> for <Case>, writing nothing' -ForEach @(
        @{ Case = 'a missing source'; Id = 'NekkBackup.SourceNotFound'; Splat = { @{ Path = (Join-Path $work 'nope'); Destination = (Join-Path $work 'g/out1') } }; Out = 'g/out1' }
        @{ Case = 'a destination inside the source'; Id = 'NekkBackup.DestinationInsideSource'; Splat = { @{ Path = $gsrc; Destination = (Join-Path $gsrc 'backup') } }; Out = 'g/Sessions/backup' }
        @{ Case = 'a bad retention'; Id = 'NekkBackup.InvalidRetention'; Splat = { @{ Path = $gsrc; Destination = (Join-Path $work 'g/out2'); Retention = @{ KeepLast = -1 } } }; Out = 'g/out2' }
        @{ Case = 'an unknown retention key'; Id = 'NekkBackup.InvalidRetention'; Splat = { @{ Path = $gsrc; Destination = (Join-Path $work 'g/out3'); Retention = @{ Yearly = 2 } } }; Out = 'g/out3' }
    ) {
        $splat = & $Splat
        { Backup-NekkFolder @splat -Snapshot None -ErrorAction Stop } | Should -Throw -ErrorId "$Id,NekkBackup.Commands.Folder.BackupNekkFolderCommand"
        Test-Path (Join-Path $work $Out) | Should -BeFalse
    }

    It 'fails with NekkBackup.SourceNameConflict for two sources with the same folder name' {
        $other = Join-Path $work 'g/other/Sessions'
        New-Item -ItemType Directory $other -Force | Out-Null
        { Backup-NekkFolder -Path $gsrc, $other -Destination (Join-Path $work 'g/out4') -Snapshot None -ErrorAction Stop } |
            Should -Throw -ErrorId 'NekkBackup.SourceNameConflict,NekkBackup.Commands.Folder.BackupNekkFolderCommand'
        Test-Path (Join-Path $work 'g/out4') | Should -BeFalse
    }

    It 'fails with NekkBackup.RunNotFound for an unknown run' {
        { Restore-NekkFolder -Destination $gnas -Target (Join-Path $work 'g/r1') -RunId 'no-such-run' -ErrorAction Stop } |
            Should -Throw -ErrorId 'NekkBackup.RunNotFound,NekkBackup.Commands.Folder.RestoreNekkFolderCommand'
        @(Get-ChildItem (Join-Path $work 'g/r1') -Force -ErrorAction SilentlyContinue).Count | Should -Be 0
    }

    It 'refuses a non-empty restore target without -Overwrite' {
        $t = Join-Path $work 'g/r2'
        New-Item -ItemType Directory $t | Out-Null
        Set-Content (Join-Path $t 'keep.txt') 'mine'
        { Restore-NekkFolder -Destination $gnas -Target $t -ErrorAction Stop } |
            Should -Throw -ErrorId 'NekkBackup.TargetNotEmpty,NekkBackup.Commands.Folder.RestoreNekkFolderCommand'
        (Get-ChildItem $t -Force).Name | Should -Be 'keep.txt'
        $r = Restore-NekkFolder -Destination $gnas -Target $t -Overwrite -Confirm:$false
        $r.Status | Should -Be 'Succeeded'
        Get-Content (Join-Path $t 'keep.txt') | Should -Be 'mine'
    }
}

Describe 'A killed backup session' {
    It 'leaves the last good run restorable and the next run finishes without recopying' {
        $src = New-StudioData (Join-Path $work 'k/Sessions') -SizeMB 24 -Seed 11
        $nas = Join-Path $work 'k/nas'
        $first = Backup-NekkFolder -Path $src -Destination $nas -Snapshot None
        $ref = Get-TreeDigest $src
        Update-StudioData $src -Percent 25 -Seed 12
        # Append a large new file so the run is busy long enough to be killed mid-flight.
        $big = Join-Path $src 'late-take.wav'
        $buf = [byte[]]::new(64MB); [System.Random]::new(5).NextBytes($buf); [System.IO.File]::WriteAllBytes($big, $buf)
        $pidFile = Join-Path $work 'k/pid'
        $child = Start-NekkChildPwsh -Script "Backup-NekkFolder -Path '$src' -Destination '$nas' -Snapshot None -ThrottleLimit 1 | Out-Null" -PidFile $pidFile
        $deadline = [DateTime]::UtcNow.AddSeconds(60)
        while (-not (Test-Path "$nas/.nekkbackup") -or -not (Get-ChildItem $nas -Recurse -Filter '*.nekk-partial' -Force -ErrorAction SilentlyContinue)) {
            if ([DateTime]::UtcNow -gt $deadline -or $child.HasExited) { break }
            Start-Sleep -Milliseconds 20
        }
        $enginePid = [int](Get-Content $pidFile)
        Stop-Process -Id $enginePid -Force -ErrorAction SilentlyContinue
        $child.WaitForExit(10000) | Out-Null

        (Test-NekkFolderBackup -Destination $nas -WarningAction SilentlyContinue).Status | Should -BeIn 'Passed', 'Warning'
        $restore = Join-Path $work 'k/restore'
        (Restore-NekkFolder -Destination $nas -Target $restore -RunId $first.RunId).Status | Should -Be 'Succeeded'
        Compare-TreeDigest $ref (Get-TreeDigest (Join-Path $restore 'Sessions')) | Should -BeNullOrEmpty

        $now = Get-TreeDigest $src
        $next = Backup-NekkFolder -Path $src -Destination $nas -Snapshot None
        $next.Status | Should -Be 'Succeeded'
        Compare-TreeDigest $now (Get-TreeDigest (Join-Path $nas 'Sessions')) | Should -BeNullOrEmpty
        (Test-NekkFolderBackup -Destination $nas -Full).Problems | Should -BeNullOrEmpty
    }
}

Describe 'Ctrl+C during Backup-NekkFolder' {
    It 'stops promptly, leaves no partial files and keeps the last good run' {
        $src = New-StudioData (Join-Path $work 'c/Sessions') -SizeMB 8 -Seed 21
        $nas = Join-Path $work 'c/nas'
        $first = Backup-NekkFolder -Path $src -Destination $nas -Snapshot None
        $ref = Get-TreeDigest $src
        $buf = [byte[]]::new(32MB)
        $rng = [System.Random]::new(9)
        foreach ($i in 1..8) { $rng.NextBytes($buf); [System.IO.File]::WriteAllBytes((Join-Path $src "take-$i.wav"), $buf) }

        $ps = [powershell]::Create()
        $null = $ps.AddScript("Import-Module '$(Get-NekkManifestPath)'; Backup-NekkFolder -Path '$src' -Destination '$nas' -Snapshot None -ThrottleLimit 1")
        $handle = $ps.BeginInvoke()
        $deadline = [DateTime]::UtcNow.AddSeconds(30)
        while (-not (Get-ChildItem $nas -Recurse -Filter '*.nekk-partial' -Force -ErrorAction SilentlyContinue) -and -not $handle.IsCompleted -and [DateTime]::UtcNow -lt $deadline) {
            Start-Sleep -Milliseconds 10
        }
        $handle.IsCompleted | Should -BeFalse -Because 'the run must still be busy when Ctrl+C arrives'
        $watch = [System.Diagnostics.Stopwatch]::StartNew()
        $ps.Stop()        # what Ctrl+C does to the running pipeline
        $watch.Stop()
        $ps.Dispose()
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 5

        Get-ChildItem $nas -Recurse -Filter '*.nekk-partial' -Force | Should -BeNullOrEmpty
        (Get-NekkFolderBackup -Destination $nas).RunId | Should -Be $first.RunId
        $restore = Join-Path $work 'c/restore'
        (Restore-NekkFolder -Destination $nas -Target $restore -RunId $first.RunId).Status | Should -Be 'Succeeded'
        Compare-TreeDigest $ref (Get-TreeDigest (Join-Path $restore 'Sessions')) | Should -BeNullOrEmpty
    }
}
