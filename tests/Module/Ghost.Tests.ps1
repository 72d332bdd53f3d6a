#Requires -Version 7.4
# Ghost image cmdlets as an admin calls them. Sources are disk-image files (no root needed); references
# are Get-FileHash of the source taken before each capture and compared with what is restored.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-NekkTestModule
    $script:work = New-NekkTestDirectory 'ghost'
    $env:NEKKBACKUP_DATA = Join-Path $script:work 'data'
    $env:NEKKBACKUP_PLUGIN_PATHS = Join-Path $script:work 'plugins'
    New-Item -ItemType Directory -Force (Join-Path $script:work 'plugins/Pro-Q 3.vst3/Contents') | Out-Null
    '{ "Name": "Pro-Q 3", "Version": "3.21", "Factory Info": { "Vendor": "FabFilter" } }' |
        Set-Content (Join-Path $script:work 'plugins/Pro-Q 3.vst3/Contents/moduleinfo.json')

    function New-VolumeFile([string] $Path, [int] $SizeMB, [int] $Seed) {
        $rnd = [System.Random]::new($Seed)
        $buf = [byte[]]::new(1MB)
        $fs = [System.IO.File]::Create($Path)
        try {
            for ($i = 0; $i -lt $SizeMB; $i++) {
                if ($i -eq 2) { [Array]::Clear($buf, 0, $buf.Length) } else { $rnd.NextBytes($buf) } # one free-space MiB
                $fs.Write($buf, 0, $buf.Length)
            }
        } finally { $fs.Dispose() }
    }
    function Set-Scribble([string] $Path, [long] $Offset, [int] $Count, [int] $Seed) {
        $b = [byte[]]::new($Count); [System.Random]::new($Seed).NextBytes($b)
        $fs = [System.IO.File]::OpenWrite($Path)
        try { $fs.Position = $Offset; $fs.Write($b, 0, $Count) } finally { $fs.Dispose() }
    }
}

AfterAll {
    Remove-Item -Recurse -Force $script:work -ErrorAction SilentlyContinue
    Remove-Item Env:NEKKBACKUP_PLUGIN_PATHS -ErrorAction SilentlyContinue
}

Describe 'Ghost image round trip' {
    BeforeAll {
        $script:src = Join-Path $work 'volume.img'
        $script:repo = Join-Path $work 'nas/ghost'
        New-Item -ItemType Directory -Force (Split-Path $repo) | Out-Null
        New-VolumeFile $src -SizeMB 8 -Seed 1
        $script:hash1 = (Get-FileHash $src -Algorithm SHA256).Hash
        $script:img1 = New-NekkGhostImage -Source $src -Repository $repo -Tag weekly
        Set-Scribble $src -Offset 5MB -Count 4096 -Seed 2
        $script:hash2 = (Get-FileHash $src -Algorithm SHA256).Hash
        $script:img2 = New-NekkGhostImage -Source $src -Repository $repo -Compression None
    }

    It 'returns typed images that store only what changed' {
        $img1.PSObject.TypeNames[0] | Should -Be 'NekkBackup.GhostImage'
        $img1.SizeBytes | Should -Be 8MB
        $img1.Tags | Should -Be @('weekly')
        $img1.PluginCount | Should -Be 1
        $img2.NewBytes | Should -BeLessThan ($img1.NewBytes / 10)
        $img2.NewBytes | Should -BeGreaterThan 0
    }

    It 'lists the images and filters by id' {
        $all = Get-NekkGhostImage -Repository $repo
        $all.ImageId | Should -Be @($img1.ImageId, $img2.ImageId)
        (Get-NekkGhostImage $repo -ImageId $img2.ImageId).ImageId | Should -Be $img2.ImageId
    }

    It 'passes a restore drill on every image and records it' {
        $r = Get-NekkGhostImage -Repository $repo | Test-NekkGhostImage -Full
        $r.Status | Should -Be @('Passed', 'Passed')
        $r[0].BytesVerified | Should -Be 8MB
        @(Get-ChildItem (Join-Path $repo 'drills') -Filter *.json).Count | Should -Be 2
    }

    It 'restores each image bit for bit (piped)' {
        $t1 = Join-Path $work 'r1.img'; $t2 = Join-Path $work 'r2.img'
        $img1 | Restore-NekkGhostImage -Target $t1 -Confirm:$false | Out-Null
        Restore-NekkGhostImage -Repository $repo -ImageId $img2.ImageId -Target $t2 -Confirm:$false |
            ForEach-Object { $_.PSObject.TypeNames[0] | Should -Be 'NekkBackup.GhostRestoreResult' }
        (Get-FileHash $t1 -Algorithm SHA256).Hash | Should -Be $hash1
        (Get-FileHash $t2 -Algorithm SHA256).Hash | Should -Be $hash2
    }

    It 'exports a fixed VHD with the volume at 1 MiB' {
        $vhd = Join-Path $work 'disk.vhd'
        $r = Restore-NekkGhostImage -Repository $repo -ImageId $img1.ImageId -Target $vhd -Format Vhd -Confirm:$false
        $r.VolumeOffset | Should -Be 1MB
        (Get-Item $vhd).Length | Should -Be (1MB + 8MB + 512)
        $bytes = [System.IO.File]::ReadAllBytes($vhd)
        [System.Text.Encoding]::ASCII.GetString($bytes, $bytes.Length - 512, 8) | Should -Be 'conectix'
        [BitConverter]::ToUInt32($bytes, 0x1BE + 8) | Should -Be 2048
    }

    It 'overwrites an existing file only when told: -Confirm:$false or -Force (a script without them: Admin.Tests.ps1)' {
        $t = Join-Path $work 'exists.img'
        Set-Content $t 'keep'
        Restore-NekkGhostImage -Repository $repo -ImageId $img1.ImageId -Target $t -WhatIf
        Get-Content $t | Should -Be 'keep'
        $null = Restore-NekkGhostImage -Repository $repo -ImageId $img1.ImageId -Target $t -Confirm:$false
        (Get-FileHash $t -Algorithm SHA256).Hash | Should -Be $hash1
    }

    It 'removes an image (piped), frees its chunks and keeps the other restorable' {
        $before = (Get-ChildItem $repo -Recurse -File | Measure-Object Length -Sum).Sum
        $res = Get-NekkGhostImage $repo -ImageId $img1.ImageId | Remove-NekkGhostImage -Confirm:$false -PassThru
        $res.RemovedImageIds | Should -Be @($img1.ImageId)
        $res.FreedBytes | Should -BeGreaterThan 0
        (Get-ChildItem $repo -Recurse -File | Measure-Object Length -Sum).Sum | Should -BeLessThan $before
        (Get-NekkGhostImage $repo).ImageId | Should -Be @($img2.ImageId)
        (Test-NekkGhostImage $repo -Full).Status | Should -Be 'Passed'
    }
}

Describe 'Ghost image errors and -WhatIf' {
    It 'reports an unknown image with a stable id' {
        $repo = Join-Path $work 'err/repo'
        New-Item -ItemType Directory -Force (Split-Path $repo) | Out-Null
        $src = Join-Path $work 'err/v.img'; New-VolumeFile $src -SizeMB 1 -Seed 3
        New-NekkGhostImage -Source $src -Repository $repo | Out-Null
        { Restore-NekkGhostImage -Repository $repo -ImageId nope -Target (Join-Path $work 'err/x.img') -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'NekkBackup.ImageNotFound,NekkBackup.Commands.Ghost.RestoreNekkGhostImageCommand'
        { Test-NekkGhostImage -Repository $repo -ImageId nope -ErrorAction Stop } |
            Should -Throw -ErrorId 'NekkBackup.ImageNotFound,NekkBackup.Commands.Ghost.TestNekkGhostImageCommand'
        { Remove-NekkGhostImage -Repository $repo -ImageId nope -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'NekkBackup.ImageNotFound,NekkBackup.Commands.Ghost.RemoveNekkGhostImageCommand'
    }

    It 'reports a missing source and a missing repository' {
        { New-NekkGhostImage -Source (Join-Path $work 'absent.img') -Repository (Join-Path $work 'r') -ErrorAction Stop } |
            Should -Throw -ErrorId 'NekkBackup.SourceNotFound,NekkBackup.Commands.Ghost.NewNekkGhostImageCommand'
        { Get-NekkGhostImage -Repository (Join-Path $work 'no/such/repo') -ErrorAction Stop } |
            Should -Throw -ErrorId 'NekkBackup.RepositoryNotFound,NekkBackup.Commands.Ghost.GetNekkGhostImageCommand'
    }

    It 'captures nothing with -WhatIf' {
        $src = Join-Path $work 'wi.img'; New-VolumeFile $src -SizeMB 1 -Seed 4
        $repo = Join-Path $work 'wi-repo'
        New-NekkGhostImage -Source $src -Repository $repo -WhatIf | Should -BeNullOrEmpty
        Test-Path $repo | Should -BeFalse
    }

    It 'has the parameters PRODUCT.md gives' {
        (Get-Command New-NekkGhostImage).Parameters.Keys | Should -Contain 'Snapshot'
        (Get-Command New-NekkGhostImage).Parameters['Compression'].ParameterType.Name | Should -Be 'GhostCompression'
        (Get-Command Restore-NekkGhostImage).Parameters['Format'].ParameterType.Name | Should -Be 'GhostRestoreFormat'
        (Get-Command Remove-NekkGhostImage).Parameters['ImageId'].Attributes.ValueFromPipelineByPropertyName | Should -Contain $true
        (Get-Command Test-NekkGhostImage).Parameters.Keys | Should -Contain 'Full'
        (Get-Command New-NekkGhostImage).Parameters['Mode'].ParameterType.Name | Should -Be 'GhostCaptureMode'
    }

    It 'falls back to every block, with a Verbose note, where there is no file system bitmap' {
        $src = Join-Path $work 'fb.img'; New-VolumeFile $src -SizeMB 2 -Seed 5
        $out = New-NekkGhostImage -Source $src -Repository (Join-Path $work 'fb-repo') -Mode UsedBlocks -Verbose 4>&1
        $img = $out | Where-Object { $_.PSObject.TypeNames[0] -eq 'NekkBackup.GhostImage' }
        $img.Mode | Should -Be 'AllBlocks'
        $img.UsedBytes | Should -Be 2MB
        ($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message |
            Should -Contain "UsedBlocks: every block of '$src' is read instead (no ext2/3/4 or NTFS file system was found)."
    }
}

Describe 'New-NekkGhostImage -Mode UsedBlocks on an ext4 block device' {
    # Free space full of old data (the image file is random before mkfs; a file is written and deleted): a used-block
    # image stores none of it, and restores to a file system e2fsck accepts with the take intact.
    BeforeAll {
        $script:uskip = if ($IsWindows) { 'Linux loop devices' } else { Get-NekkSkipReason -Root -Tool 'losetup', 'mkfs.ext4', 'e2fsck', 'mount' }
        if (-not $uskip) {
            $script:udir = Join-Path $work 'used'
            New-Item -ItemType Directory -Force "$udir/mnt" | Out-Null
            $script:uimg = Join-Path $udir 'ext4.img'
            New-VolumeFile $uimg -SizeMB 64 -Seed 7
            & mkfs.ext4 -q -F -E nodiscard $uimg | Out-Null
            & mount -o loop $uimg "$udir/mnt"
            New-VolumeFile "$udir/mnt/take1.wav" -SizeMB 12 -Seed 8
            Start-Sleep -Milliseconds 300 # take1 is then well before the volume's newest change (the comparison's racy window)
            New-VolumeFile "$udir/mnt/edit.wav" -SizeMB 2 -Seed 11
            New-VolumeFile "$udir/mnt/deleted.wav" -SizeMB 8 -Seed 9
            Remove-Item "$udir/mnt/deleted.wav"
            $script:takeHash = (Get-FileHash "$udir/mnt/take1.wav").Hash
            & umount "$udir/mnt"
            $script:uloop = (& losetup --find --show $uimg).Trim()
        }
    }
    AfterAll { if ($script:uloop) { & losetup -d $script:uloop } }

    It 'reads only the used blocks, stores far less than AllBlocks and restores a clean file system' {
        if ($uskip) { Set-ItResult -Skipped -Because $uskip; return }
        $out = New-NekkGhostImage -Source $uloop -Repository "$udir/repo" -Snapshot None -Mode UsedBlocks -Verbose 4>&1 3>$null
        $used = $out | Where-Object { $_.PSObject.TypeNames[0] -eq 'NekkBackup.GhostImage' }
        $verbose = ($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message
        @($verbose -match '^UsedBlocks: ext4 on .*free space is stored as zeros').Count | Should -Be 1 -Because ($verbose -join "`n")
        $used.Mode | Should -Be 'UsedBlocks'
        $used.UsedBytes | Should -BeLessThan 24MB
        $used.UsedBytes | Should -BeGreaterThan 12MB
        $all = New-NekkGhostImage -Source $uloop -Repository "$udir/repo-all" -Snapshot None -WarningAction SilentlyContinue
        $all.Mode | Should -Be 'AllBlocks'
        $all.StoredBytes | Should -BeGreaterThan ($used.StoredBytes + 30MB)
        (Get-NekkGhostImage "$udir/repo" | Format-Table | Out-String -Width 120) | Should -Match 'UsedBlocks'

        $restored = Join-Path $udir 'restored.img'
        Restore-NekkGhostImage -Repository "$udir/repo" -ImageId $used.ImageId -Target $restored -Confirm:$false | Out-Null
        & e2fsck -fn $restored 2>&1 | Out-Null
        $LASTEXITCODE | Should -Be 0
        & mount -o loop,ro $restored "$udir/mnt"
        try { (Get-FileHash "$udir/mnt/take1.wav").Hash | Should -Be $takeHash }
        finally { & umount "$udir/mnt" }
        (Test-NekkGhostImage -Repository "$udir/repo" -ImageId $used.ImageId -Full).Status | Should -Be 'Passed'
    }

    It 'takes unchanged files unread the next time and restores the same bytes as -ChangeDetection Contents' {
        if ($uskip) { Set-ItResult -Skipped -Because $uskip; return }
        Start-Sleep -Milliseconds 300
        & mount -o loop $uimg "$udir/mnt"
        try {
            New-VolumeFile "$udir/mnt/take2.wav" -SizeMB 4 -Seed 10
            [System.IO.File]::AppendAllText("$udir/mnt/edit.wav", 'an edit')
            $take1 = (Get-FileHash "$udir/mnt/take1.wav").Hash; $take2 = (Get-FileHash "$udir/mnt/take2.wav").Hash
            $edit = (Get-FileHash "$udir/mnt/edit.wav").Hash
        }
        finally { & umount "$udir/mnt" }
        Copy-Item -Recurse "$udir/repo" "$udir/repo-contents"
        $out = New-NekkGhostImage -Source $uloop -Repository "$udir/repo" -Snapshot None -Mode UsedBlocks -Verbose 4>&1 3>$null
        $next = $out | Where-Object { $_.PSObject.TypeNames[0] -eq 'NekkBackup.GhostImage' }
        $line = @(($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message -match '^Change detection: ')
        $line.Count | Should -Be 1
        $line[0] | Should -Match '; ([\d,]+) of [\d,]+ chunks hold only unchanged files'' data and are not read\.$'
        [int](($line[0] -replace '.*; ([\d,]+) of .*', '$1') -replace ',', '') | Should -BeGreaterThan 10 -Because $line[0]
        $all = New-NekkGhostImage -Source $uloop -Repository "$udir/repo-contents" -Snapshot None -Mode UsedBlocks -ChangeDetection Contents -Verbose 4>&1 3>$null |
            Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -match '^Change detection' }
        $all | Should -BeNullOrEmpty
        $ids = (Get-NekkGhostImage "$udir/repo-contents" | Sort-Object Created)[-1].ImageId
        Restore-NekkGhostImage -Repository "$udir/repo" -ImageId $next.ImageId -Target "$udir/next.img" -Confirm:$false | Out-Null
        Restore-NekkGhostImage -Repository "$udir/repo-contents" -ImageId $ids -Target "$udir/contents.img" -Confirm:$false | Out-Null
        (Get-FileHash "$udir/next.img").Hash | Should -Be (Get-FileHash "$udir/contents.img").Hash
        & mount -o loop,ro "$udir/next.img" "$udir/mnt"
        try {
            (Get-FileHash "$udir/mnt/take1.wav").Hash | Should -Be $take1
            (Get-FileHash "$udir/mnt/take2.wav").Hash | Should -Be $take2
            (Get-FileHash "$udir/mnt/edit.wav").Hash | Should -Be $edit
        }
        finally { & umount "$udir/mnt" }
    }
}

Describe 'New-NekkGhostImage -Snapshot on a real block device' {
    # A loop device is neither an LVM volume nor a VSS volume: Auto images it live with a warning, Required
    # refuses it. (LVM / VSS captures are covered by [LvmFact] / fake-CIM tests in NekkBackup.Core.Tests.)
    BeforeAll {
        $script:skip = if ($IsWindows) { 'Linux loop devices' } else { Get-NekkSkipReason -Root -Tool 'losetup', 'mkfs.ext4' }
        if (-not $skip) {
            $script:img = Join-Path $work 'blk/ext4.img'
            New-Item -ItemType Directory -Force (Split-Path $img) | Out-Null
            $fs = [System.IO.File]::Create($img); $fs.SetLength(16MB); $fs.Dispose()
            & mkfs.ext4 -q -F $img | Out-Null
            $script:loop = (& losetup --find --show $img).Trim()
        }
    }
    AfterAll { if ($script:loop) { & losetup -d $script:loop } }

    It 'Required fails with NekkBackup.SnapshotUnsupported and captures nothing' {
        if ($skip) { Set-ItResult -Skipped -Because $skip; return }
        $repo = Join-Path $work 'blk/repo-required'
        { New-NekkGhostImage -Source $loop -Repository $repo -Snapshot Required -ErrorAction Stop } |
            Should -Throw -ErrorId 'NekkBackup.SnapshotUnsupported,NekkBackup.Commands.Ghost.NewNekkGhostImageCommand'
        @(Get-NekkSnapshot).Count | Should -Be 0
    }

    It 'Auto warns, images the live device bit for bit and leaves no snapshot' {
        if ($skip) { Set-ItResult -Skipped -Because $skip; return }
        $repo = Join-Path $work 'blk/repo-auto'
        $image = New-NekkGhostImage -Source $loop -Repository $repo -WarningVariable warn -WarningAction SilentlyContinue
        ($warn -join "`n") | Should -Match 'No snapshot of .*imaging the live device'
        $out = Join-Path $work 'blk/restored.img'
        Restore-NekkGhostImage -Repository $repo -ImageId $image.ImageId -Target $out -Confirm:$false | Out-Null
        (Get-FileHash $out).Hash | Should -Be (Get-FileHash $img).Hash
        @(Get-NekkSnapshot).Count | Should -Be 0
    }
}
