#Requires -Version 7.4
# Tab completion of ids and names (issue 13 item 6), driven the way the console drives it: TabExpansion2 on a
# command line, reading the destination / repository the line already names. Cloud ids: Cloud.Tests.ps1.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-NekkTestModule
    $script:work = New-NekkTestDirectory 'complete'
    $env:NEKKBACKUP_DATA = Join-Path $work 'data'

    # What Tab offers at the end of $Line: the completion texts, in order.
    function Get-Completion([string] $Line) {
        @((TabExpansion2 -inputScript $Line -cursorColumn $Line.Length).CompletionMatches)
    }
}

AfterAll {
    Remove-Item -Recurse -Force $script:work -ErrorAction SilentlyContinue
}

Describe 'Folder run ids' {
    BeforeAll {
        $script:src = Join-Path $work 'f/Sessions'
        New-Item -ItemType Directory $src -Force | Out-Null
        Set-Content (Join-Path $src 'a.txt') 'a'
        $script:nas = Join-Path $work 'f/nas'
        $script:r1 = Backup-NekkFolder -Path $src -Destination $nas -Snapshot None
        Set-Content (Join-Path $src 'b.txt') 'b'
        $script:r2 = Backup-NekkFolder -Path $src -Destination $nas -Snapshot None
    }

    It 'offers the runs on the bound -Destination, newest first, with when and how they went' {
        $m = Get-Completion "Restore-NekkFolder -Destination '$nas' -Target x -RunId "
        $m.CompletionText | Should -Be @($r2.RunId, $r1.RunId)
        $m[0].ResultType | Should -Be 'ParameterValue'
        $m[0].ToolTip | Should -BeLike '*Succeeded*'
    }

    It 'narrows to what was typed, and resolves a relative -Destination from the current location' {
        Push-Location (Split-Path $nas)
        try { $m = Get-Completion "Get-NekkFolderBackup -Destination ./nas -RunId $($r1.RunId.Substring(0, 21))" }
        finally { Pop-Location }
        $m.CompletionText | Should -Contain $r1.RunId
        $m.CompletionText | Should -Not -Contain $r2.RunId
    }

    It 'is silent when nothing useful is bound: no destination, a missing one, a folder that is no backup' {
        $Error.Clear()
        Get-Completion 'Restore-NekkFolder -Target x -RunId ' | Should -BeNullOrEmpty
        Get-Completion "Restore-NekkFolder -Destination '$(Join-Path $work 'nope')' -Target x -RunId " | Should -BeNullOrEmpty
        Get-Completion "Restore-NekkFolder -Destination '$src' -Target x -RunId " | Should -BeNullOrEmpty
        $Error.Count | Should -Be 0
    }
}

Describe 'Ghost image ids' {
    BeforeAll {
        $vol = Join-Path $work 'g/volume.img'
        New-Item -ItemType Directory (Split-Path $vol) -Force | Out-Null
        [System.IO.File]::WriteAllBytes($vol, [byte[]]::new(1MB))
        $script:repo = Join-Path $work 'g/repo'
        $script:i1 = New-NekkGhostImage -Source $vol -Repository $repo -Compression None
        Start-Sleep -Milliseconds 1100
        $script:i2 = New-NekkGhostImage -Source $vol -Repository $repo -Compression None
    }

    It 'offers the images in the bound -Repository for -ImageId and -ReferenceImageId, newest first' {
        (Get-Completion "Restore-NekkGhostImage -Repository '$repo' -Target x -ImageId ").CompletionText | Should -Be @($i2.ImageId, $i1.ImageId)
        (Get-Completion "Compare-NekkPluginInventory -Repository '$repo' -ImageId $($i1.ImageId) -ReferenceImageId ").CompletionText |
            Should -Be @($i2.ImageId, $i1.ImageId)
        (Get-Completion "Remove-NekkGhostImage -Repository '$repo' -ImageId ")[0].ToolTip | Should -BeLike '*1.00 MB*'
    }
}

Describe 'Credential targets' {
    BeforeAll {
        $c = [pscredential]::new('backup', (ConvertTo-SecureString 'x' -AsPlainText -Force))
        Set-NekkCredential -Target 'studio-offsite' -Credential $c
        Set-NekkCredential -Target '\\nas\backup' -Credential $c
    }

    It 'offers the stored targets to Get-, Set- and Remove-NekkCredential' {
        (Get-Completion 'Remove-NekkCredential -Target ').CompletionText | Sort-Object | Should -Be (@('studio-offsite', '\\nas\backup') | Sort-Object)
        (Get-Completion 'Get-NekkCredential -Target stu').CompletionText | Should -Be @('studio-offsite')
        (Get-Completion 'Set-NekkCredential -Target \\n').CompletionText | Should -Be @('\\nas\backup')
        (Get-Completion 'Remove-NekkCredential -Target studio')[0].ToolTip | Should -BeLike 'Bucket: backup*'
    }
}

Describe 'Snapshot ids' {
    BeforeAll {
        $script:skip = Get-NekkSkipReason -Root -Tool 'mkfs.btrfs', 'btrfs'
        if (-not $skip) {
            $script:pool = New-LoopFileSystem btrfs -SizeMB 128
            New-Item -ItemType Directory (Join-Path $pool.MountPoint 'studio') | Out-Null
            $script:snap = New-NekkSnapshot -Path (Join-Path $pool.MountPoint 'studio') -Provider Btrfs
        }
    }
    AfterAll {
        if ($script:snap) { Remove-NekkSnapshot -SnapshotId $snap.SnapshotId -Confirm:$false -ErrorAction SilentlyContinue }
        Remove-LoopFileSystem $script:pool
    }

    It 'offers the snapshots NekkBackup recorded' {
        if ($skip) { Set-ItResult -Skipped -Because $skip; return }
        (Get-Completion 'Remove-NekkSnapshot -SnapshotId ').CompletionText | Should -Be @($snap.SnapshotId)
        (Get-Completion 'Get-NekkSnapshot -SnapshotId Btrfs:').CompletionText | Should -Be @($snap.SnapshotId)
        (Get-Completion 'Get-NekkSnapshot -SnapshotId Vss:') | Should -BeNullOrEmpty
    }
}
