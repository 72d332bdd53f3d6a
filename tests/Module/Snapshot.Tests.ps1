#Requires -Version 7.4
# Snapshot cmdlets as an admin calls them, on real btrfs / ext4 loop file systems. The snapshot's content
# is compared with a digest taken (Get-FileHash) at snapshot time; `btrfs subvolume list` is the
# independent witness of what exists.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-NekkTestModule
    $script:work = New-NekkTestDirectory 'snap'
    $env:NEKKBACKUP_DATA = Join-Path $script:work 'data'

    function script:Get-NekkBtrfsSnapshots($Fs) {
        @(& btrfs subvolume list $Fs.MountPoint | Where-Object { $_ -match '\.nekk-snapshots/nekk_' })
    }
    function script:New-StudioPool {
        $fs = New-LoopFileSystem btrfs -SizeMB 256
        $sub = Join-Path $fs.MountPoint 'studio'
        & btrfs subvolume create $sub | Out-Null
        New-StudioData (Join-Path $sub 'Sessions') -SizeMB 6 -Seed 5 | Out-Null
        $fs | Add-Member -NotePropertyName Sessions -NotePropertyValue (Join-Path $sub 'Sessions') -PassThru
    }
    function script:Remove-StudioPool($Fs) {
        if (-not $Fs) { return }
        foreach ($l in (Get-NekkBtrfsSnapshots $Fs)) { & btrfs subvolume delete (Join-Path $Fs.MountPoint ($l -replace '^.* path ', '')) | Out-Null }
        Remove-LoopFileSystem $Fs
    }
}

AfterAll {
    Remove-Item -Recurse -Force $script:work -ErrorAction SilentlyContinue
    Remove-Item Env:NEKKBACKUP_DATA -ErrorAction SilentlyContinue
}

Describe 'New/Get/Remove-NekkSnapshot on btrfs' {
    BeforeAll {
        $script:skip = Get-NekkSkipReason -Root -Tool 'mkfs.btrfs', 'btrfs'
        if (-not $skip) { $script:pool = New-StudioPool }
    }
    AfterAll { Remove-StudioPool $script:pool }

    It 'takes a read-only snapshot that keeps the data of its moment' {
        if ($skip) { Set-ItResult -Skipped -Because $skip; return }
        $before = Get-TreeDigest $pool.Sessions
        $snap = New-NekkSnapshot -Path $pool.Sessions
        Update-StudioData $pool.Sessions -Percent 40 -Seed 9

        $snap.PSObject.TypeNames[0] | Should -Be 'NekkBackup.Snapshot'
        $snap.SnapshotId | Should -Match '^Btrfs:nekk_'
        $snap.Provider | Should -Be 'Btrfs'
        $snap.SourcePath | Should -Be $pool.Sessions
        $snap.Volume | Should -Be (Split-Path $pool.Sessions)
        Compare-TreeDigest $before (Get-TreeDigest $snap.SnapshotPath) | Should -BeNullOrEmpty
        Compare-TreeDigest $before (Get-TreeDigest $pool.Sessions) | Should -Not -BeNullOrEmpty
        { Set-Content -LiteralPath (Join-Path $snap.SnapshotPath 'x.txt') -Value x -ErrorAction Stop } | Should -Throw
        @(Get-NekkBtrfsSnapshots $pool).Count | Should -Be 1
        $script:snap = $snap
    }

    It 'lists it, with a table view' {
        if ($skip) { Set-ItResult -Skipped -Because $skip; return }
        $listed = @(Get-NekkSnapshot)
        $listed.SnapshotId | Should -Contain $snap.SnapshotId
        (Get-NekkSnapshot -SnapshotId 'Btrfs:*').SnapshotId | Should -Contain $snap.SnapshotId
        ($listed | Format-Table | Out-String -Width 200) | Should -Match 'Created\s+SnapshotId\s+Provider'
    }

    It '-WhatIf removes nothing; the pipeline removes it' {
        if ($skip) { Set-ItResult -Skipped -Because $skip; return }
        # The preview is a typed row per snapshot that would go (issue 13 item 2), and nothing goes.
        $id = (Get-NekkSnapshot).SnapshotId
        $preview = @(Get-NekkSnapshot | Remove-NekkSnapshot -WhatIf)
        $preview.Count | Should -Be 1
        $preview[0].PSObject.TypeNames[0] | Should -Be 'NekkBackup.PreviewItem'
        "$($preview[0].Action) $($preview[0].Path)" | Should -Be "Remove $id"
        $preview[0].Detail | Should -BeLike 'Btrfs snapshot of * at *'
        @(Get-NekkBtrfsSnapshots $pool).Count | Should -Be 1
        Get-NekkSnapshot | Remove-NekkSnapshot -Confirm:$false
        @(Get-NekkBtrfsSnapshots $pool).Count | Should -Be 0
        @(Get-NekkSnapshot).Count | Should -Be 0
    }

    It '-WhatIf on New-NekkSnapshot makes nothing' {
        if ($skip) { Set-ItResult -Skipped -Because $skip; return }
        New-NekkSnapshot -Path $pool.Sessions -WhatIf | Should -BeNullOrEmpty
        @(Get-NekkBtrfsSnapshots $pool).Count | Should -Be 0
    }

    It 'Remove-NekkSnapshot -Orphaned removes what a killed run left, and only that' {
        if ($skip) { Set-ItResult -Skipped -Because $skip; return }
        $kept = New-NekkSnapshot -Path $pool.Sessions      # persistent: never an orphan
        $flag = Join-Path $work 'ready.txt'
        $pidFile = Join-Path $work 'child.pid'
        # A run holding a snapshot, as Backup-NekkFolder does (Core lives in the module's private load context, hence reflection).
        $script = "`$core = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -eq 'NekkBackup.Core' } | Select-Object -First 1; " +
            "`$r = `$core.GetType('NekkBackup.Core.Snapshots.SnapshotSources')::ForMode('Required', `$core.GetType('NekkBackup.Core.Observability.NullRunObserver')::Instance); " +
            "`$v = `$r.OpenAsync('$($pool.Sessions)', [Threading.CancellationToken]::None).GetAwaiter().GetResult(); " +
            "`$v.SnapshotId | Set-Content -LiteralPath '$flag'; Start-Sleep -Seconds 120"
        $child = Start-NekkChildPwsh -Script $script -PidFile $pidFile
        try {
            $deadline = (Get-Date).AddSeconds(60)
            while (-not (Test-Path $flag) -and -not $child.HasExited -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 100 }
            (Get-Content $flag -ErrorAction Ignore) | Should -Match '^Btrfs:nekk_' -Because (Get-Content "$pidFile.err" -Raw -ErrorAction Ignore)
            @(Get-NekkBtrfsSnapshots $pool).Count | Should -Be 2
            # The owner is alive: not an orphan.
            Remove-NekkSnapshot -Orphaned -Confirm:$false
            @(Get-NekkBtrfsSnapshots $pool).Count | Should -Be 2
        }
        finally {
            $enginePid = [int](Get-Content $pidFile)
            Stop-Process -Id $enginePid -Force -ErrorAction Ignore
            $child.Kill($true); $child.WaitForExit(30000) | Out-Null
            Start-Sleep -Milliseconds 300
        }
        @(Get-NekkBtrfsSnapshots $pool).Count | Should -Be 2      # the kill left it
        $orphan = @(Remove-NekkSnapshot -Orphaned -WhatIf)
        $orphan.Count | Should -Be 1
        $orphan[0].Path | Should -Not -Be $kept.SnapshotId
        $orphan[0].Detail | Should -BeLike "*orphaned snapshot left by process $enginePid*"
        @(Get-NekkBtrfsSnapshots $pool).Count | Should -Be 2
        Remove-NekkSnapshot -Orphaned -Confirm:$false
        $left = @(Get-NekkBtrfsSnapshots $pool)
        $left.Count | Should -Be 1
        $left[0] | Should -Match ([regex]::Escape($kept.SnapshotId.Substring(6)))
        Remove-NekkSnapshot -SnapshotId $kept.SnapshotId -Confirm:$false
        @(Get-NekkBtrfsSnapshots $pool).Count | Should -Be 0
    }

    It 'Backup-NekkFolder -Snapshot Required reads from a snapshot and removes it' {
        if ($skip) { Set-ItResult -Skipped -Because $skip; return }
        $expected = Get-TreeDigest $pool.Sessions
        $nas = Join-Path $work 'nas'
        $run = Backup-NekkFolder -Path $pool.Sessions -Destination $nas -Snapshot Required
        $run.Status | Should -Be 'Succeeded'
        $run.SnapshotUsed | Should -Match '^Btrfs:nekk_'
        Compare-TreeDigest $expected (Get-TreeDigest (Join-Path $nas 'Sessions')) | Should -BeNullOrEmpty
        @(Get-NekkBtrfsSnapshots $pool).Count | Should -Be 0
        @(Get-NekkSnapshot).Count | Should -Be 0
    }

    It 'backing up the file system root from a snapshot never copies .nekk-snapshots' {
        if ($skip) { Set-ItResult -Skipped -Because $skip; return }
        $nas = Join-Path $work 'nas-root'
        $run = Backup-NekkFolder -Path $pool.MountPoint -Destination $nas -Snapshot Required
        $run.Status | Should -Be 'Succeeded'
        $mirror = Join-Path $nas (Split-Path -Leaf $pool.MountPoint)
        Test-Path (Join-Path $mirror 'studio') | Should -BeTrue
        Test-Path (Join-Path $mirror '.nekk-snapshots') | Should -BeFalse
        @(Get-NekkBtrfsSnapshots $pool).Count | Should -Be 0
    }
}

Describe 'Snapshots where the file system cannot snapshot' {
    BeforeAll {
        $script:skip = Get-NekkSkipReason -Root -Tool 'mkfs.ext4'
        if (-not $skip) {
            $script:ext = New-LoopFileSystem ext4 -SizeMB 64
            $script:src = New-StudioData (Join-Path $ext.MountPoint 'Sessions') -SizeMB 2 -Seed 3
        }
    }
    AfterAll { Remove-LoopFileSystem $script:ext }

    It 'New-NekkSnapshot on ext4 fails with NekkBackup.SnapshotUnsupported' {
        if ($skip) { Set-ItResult -Skipped -Because $skip; return }
        { New-NekkSnapshot -Path $src -ErrorAction Stop } |
            Should -Throw -ErrorId 'NekkBackup.SnapshotUnsupported,NekkBackup.Commands.Snapshot.NewNekkSnapshotCommand'
        { New-NekkSnapshot -Path $src -Provider Btrfs -ErrorAction Stop } |
            Should -Throw -ErrorId 'NekkBackup.SnapshotUnsupported,NekkBackup.Commands.Snapshot.NewNekkSnapshotCommand'
    }

    It 'Backup-NekkFolder -Snapshot Required refuses; Auto reads the live folder without a warning' {
        if ($skip) { Set-ItResult -Skipped -Because $skip; return }
        $nas = Join-Path $work 'nas-ext4'
        { Backup-NekkFolder -Path $src -Destination $nas -Snapshot Required -ErrorAction Stop } |
            Should -Throw -ErrorId 'NekkBackup.SnapshotUnsupported*'
        $run = Backup-NekkFolder -Path $src -Destination $nas -Snapshot Auto -WarningVariable w
        $run.Status | Should -Be 'Succeeded'
        $run.SnapshotUsed | Should -BeNullOrEmpty
        @($w).Count | Should -Be 0
    }
}

Describe 'Snapshot cmdlets: bad input' {
    It 'a missing path is NekkBackup.PathNotFound' {
        { New-NekkSnapshot -Path (Join-Path $work 'nope') -ErrorAction Stop } |
            Should -Throw -ErrorId 'NekkBackup.PathNotFound,NekkBackup.Commands.Snapshot.NewNekkSnapshotCommand'
    }

    It 'an id NekkBackup did not record is a non-terminating NekkBackup.SnapshotNotFound' {
        Remove-NekkSnapshot -SnapshotId 'Btrfs:nekk_19990101T000000Z_00000000', 'Vss:{00000000-0000-0000-0000-000000000000}' -Confirm:$false -ErrorVariable e -ErrorAction SilentlyContinue
        $e.Count | Should -Be 2
        $e[0].FullyQualifiedErrorId | Should -Be 'NekkBackup.SnapshotNotFound,NekkBackup.Commands.Snapshot.RemoveNekkSnapshotCommand'
        $e[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }

    It 'only the documented providers are accepted' {
        { New-NekkSnapshot -Path $work -Provider None -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
    }

    It 'Remove-NekkSnapshot is ConfirmImpact High and binds SnapshotId from the pipeline' {
        $cmd = Get-Command Remove-NekkSnapshot
        $cmd.ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0].ConfirmImpact | Should -Be 'High'
        $cmd.Parameters['SnapshotId'].Attributes.Where({ $_ -is [System.Management.Automation.ParameterAttribute] })[0].ValueFromPipelineByPropertyName | Should -BeTrue
    }
}
