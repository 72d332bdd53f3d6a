#Requires -Version 7.4
# Image retention, browsing an image (Mount/Dismount, real loop devices as root) and the plugin compare, as an
# admin calls them. References are taken with Get-FileHash before each capture.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-NekkTestModule
    $script:work = New-NekkTestDirectory 'ghostbrowse'
    $env:NEKKBACKUP_DATA = Join-Path $script:work 'data'
    Remove-Item Env:NEKKBACKUP_PLUGIN_PATHS, Env:NEKKBACKUP_TOOL_ROOT -ErrorAction SilentlyContinue

    function Set-Scribble([string] $Path, [long] $Offset, [int] $Count, [int] $Seed) {
        $b = [byte[]]::new($Count); [System.Random]::new($Seed).NextBytes($b)
        $fs = [System.IO.File]::OpenWrite($Path)
        try { $fs.Position = $Offset; $fs.Write($b, 0, $Count) } finally { $fs.Dispose() }
    }
    # Moves an image's capture time in its manifest (docs/ghost-repository.md), as if it had been taken then.
    function Set-ImageCreated([string] $Repository, [string] $ImageId, [datetime] $Local) {
        $f = Join-Path $Repository "images/$ImageId.json"
        $utc = $Local.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ')
        (Get-Content -Raw $f) -replace '"created":\s*"[^"]*"', "`"created`": `"$utc`"" | Set-Content -NoNewline $f
    }
    function New-Vst3([string] $Folder, [string] $Name, [string] $Version, [string] $Vendor) {
        $d = New-Item -ItemType Directory -Force (Join-Path $Folder "$Name.vst3/Contents")
        "{ `"Name`": `"$Name`", `"Version`": `"$Version`", `"Factory Info`": { `"Vendor`": `"$Vendor`" } }" | Set-Content (Join-Path $d 'moduleinfo.json')
    }
}

AfterAll {
    Remove-Item -Recurse -Force $script:work -ErrorAction SilentlyContinue
}

Describe 'Remove-NekkGhostImage -Retention' {
    BeforeAll {
        $script:vol = Join-Path $work 'vol.img'
        $script:repo = Join-Path $work 'nas/ghost'
        New-Item -ItemType Directory -Force (Split-Path $repo) | Out-Null
        $b = [byte[]]::new(4MB); [System.Random]::new(1).NextBytes($b); [System.IO.File]::WriteAllBytes($vol, $b)
        # Five images over three months (local time); each after a change.
        $dates = [datetime]'2026-01-12 03:00', [datetime]'2026-02-09 03:00', [datetime]'2026-02-23 03:00', [datetime]'2026-03-02 03:00', [datetime]'2026-03-04 03:00'
        $script:ids = @(); $script:hashes = @()
        for ($i = 0; $i -lt $dates.Count; $i++) {
            Set-Scribble $vol ($i * 700KB) 300KB (10 + $i)
            $script:hashes += (Get-FileHash $vol -Algorithm SHA256).Hash
            $img = New-NekkGhostImage -Source $vol -Repository $repo
            Set-ImageCreated $repo $img.ImageId $dates[$i]
            $script:ids += $img.ImageId
        }
        # KeepLast 1 -> #5; Monthly 2 -> newest of March (#5) and of February (#3): #1, #2 and #4 go.
        $script:policy = '@{ KeepLast = 1; Monthly = 2 }'
    }

    It '-WhatIf lists exactly the images the policy drops and removes nothing' {
        $out = Invoke-NekkPwsh -Command "Import-Module '$(Get-NekkManifestPath)'; Remove-NekkGhostImage -Repository '$repo' -Retention $policy -WhatIf" 2>&1
        $listed = @($out | Select-String -Pattern 'What if: .*Remove Ghost image \(retention.* on target "(\S+) ' | ForEach-Object { $_.Matches[0].Groups[1].Value })
        $listed | Should -Be @($ids[0], $ids[1], $ids[3])
        # The preview is typed too: one NekkBackup.PreviewItem per image that would go, with the bytes only it holds.
        $rows = @(Remove-NekkGhostImage -Repository $repo -Retention @{ KeepLast = 1; Monthly = 2 } -WhatIf)
        $rows[0].PSObject.TypeNames[0] | Should -Be 'NekkBackup.PreviewItem'
        $rows.Path | Should -Be @($ids[0], $ids[1], $ids[3])
        $rows.Action | Select-Object -Unique | Should -Be 'Remove'
        @(Remove-NekkGhostImage -Repository $repo -ImageId $ids[0] -WhatIf).Path | Should -Be $ids[0]
        @(Get-NekkGhostImage -Repository $repo).Count | Should -Be 5
    }

    It 'keeps exactly the GFS set, frees their chunks, and the newest restores bit for bit' {
        $r = Remove-NekkGhostImage -Repository $repo -Retention @{ KeepLast = 1; Monthly = 2 } -Confirm:$false -PassThru
        $r.PSObject.TypeNames[0] | Should -Be 'NekkBackup.GhostRemoveResult'
        $r.RemovedImageIds | Should -Be @($ids[0], $ids[1], $ids[3])
        $r.KeptImageIds | Sort-Object | Should -Be (@($ids[2], $ids[4]) | Sort-Object)
        $r.FreedBytes | Should -BeGreaterThan 0
        (Get-NekkGhostImage -Repository $repo).ImageId | Should -Be @($ids[2], $ids[4])
        $t = Join-Path $work 'newest.img'
        Restore-NekkGhostImage -Repository $repo -ImageId $ids[4] -Target $t -Confirm:$false | Out-Null
        (Get-FileHash $t -Algorithm SHA256).Hash | Should -Be $hashes[4]
        (Test-NekkGhostImage -Repository $repo).Status | Should -Be 'Passed'
    }

    It 'a policy that keeps nothing is NekkBackup.InvalidRetention' {
        { Remove-NekkGhostImage -Repository $repo -Retention @{ KeepLast = 0 } -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'NekkBackup.InvalidRetention,NekkBackup.Commands.Ghost.RemoveNekkGhostImageCommand'
    }

    It "a plan's ImageRetention prunes after each capture" {
        $pdir = New-Item -ItemType Directory (Join-Path $work 'plan') -Force
        $src = New-Item -ItemType Directory (Join-Path $pdir 'Sessions') -Force
        Set-Content (Join-Path $src 'take.txt') 'take'
        $prepo = Join-Path $pdir 'ghost'
        $plan = Join-Path $pdir 'plan.psd1'
        $null = New-NekkBackupPlan -Path $plan -Source $src -NasDestination (Join-Path $pdir 'nas') -ImageSource $vol -ImageRepository $prepo -ImageRetention @{ KeepLast = 2 }
        (Get-Content -Raw $plan) | Should -Match 'ImageRetention\s+= @\{ KeepLast = 2 \}'
        $last = $null
        for ($i = 0; $i -lt 3; $i++) {
            Set-Scribble $vol (100KB * $i) 4096 (50 + $i)
            $last = Invoke-NekkBackupPlan -Path $plan -Job Image
            $LASTEXITCODE | Should -Be 0 -Because $last.Reason
        }
        ($last.Jobs | ForEach-Object { "$($_.Job)/$($_.Step)=$($_.Status)" }) | Should -Be @('Image/Capture=Succeeded', 'Image/Retention=Succeeded')
        $kept = Get-NekkGhostImage -Repository $prepo
        @($kept).Count | Should -Be 2
        $kept[-1].ImageId | Should -Be ($last.Jobs | Where-Object Step -eq Capture).LegRunId
    }
}

Describe 'Mount-NekkGhostImage / Dismount-NekkGhostImage' -Tag 'RequiresAdmin' {
    BeforeAll {
        $script:why = Get-NekkSkipReason -Root -Tool 'losetup', 'mkfs.ext4', 'mkntfs', 'ntfs-3g'
        $script:mrepo = Join-Path $work 'mount-repo'
        $script:vols = @{}
        if ($why) { return }
        foreach ($kind in 'ext4', 'ntfs') {
            $fs = New-LoopFileSystem $kind -SizeMB 48
            $d = New-Item -ItemType Directory -Force (Join-Path $fs.MountPoint 'Users/Engineer/Presets')
            Set-Content (Join-Path $d 'Vocal chain.fxp') "preset for $kind"
            $b = [byte[]]::new(2MB); [System.Random]::new($kind.Length).NextBytes($b)
            [System.IO.File]::WriteAllBytes((Join-Path $fs.MountPoint 'Users/Engineer/take 1.wav'), $b)
            $ref = Get-TreeDigest $fs.MountPoint
            & umount $fs.MountPoint
            $img = New-NekkGhostImage -Source $fs.Image -Repository $mrepo
            $script:vols[$kind] = [pscustomobject]@{ Fs = $fs; Ref = $ref; Image = $img }
        }
    }
    AfterAll {
        foreach ($v in $script:vols.Values) { Remove-LoopFileSystem $v.Fs }
    }

    It 'shows the source''s <_> files with the right digests, refuses writes, and Dismount leaves no loop device or file' -ForEach @('ext4', 'ntfs') {
        if ($why) { Set-ItResult -Skipped -Because $why; return }
        $v = $vols[$_]
        $mp = Join-Path $work "view-$_"
        $m = $v.Image | Mount-NekkGhostImage -MountPoint $mp
        $m.PSObject.TypeNames[0] | Should -Be 'NekkBackup.GhostMount'
        $m.FileSystem | Should -Be $_
        $m.ReadOnly | Should -BeTrue
        $seen = Get-TreeDigest $mp
        foreach ($k in $v.Ref.Keys) { $seen[$k] | Should -Be $v.Ref[$k] -Because $k }
        { Set-Content (Join-Path $mp 'Users/new.txt') 'x' -ErrorAction Stop } | Should -Throw
        ((& losetup -a) -join "`n") | Should -Match ([regex]::Escape($m.ImageFile))
        $lines = ($m | Format-Table | Out-String -Width 200) -split "`n"
        ($lines | Measure-Object -Property Length -Maximum).Maximum | Should -BeLessOrEqual 120

        $gone = Dismount-NekkGhostImage -MountPoint $mp -PassThru
        $gone.ImageId | Should -Be $v.Image.ImageId
        ((& losetup -a) -join "`n") | Should -Not -Match ([regex]::Escape($mrepo))
        Test-Path $m.ImageFile | Should -BeFalse
        Test-Path (Split-Path $m.ImageFile) | Should -BeFalse
        Test-Path $mp | Should -BeFalse
        (Get-Content /proc/self/mountinfo) -match [regex]::Escape(" $mp ") | Should -BeNullOrEmpty
    }

    It '-WhatIf mounts nothing; an unknown mount point is NekkBackup.MountNotFound' {
        if ($why) { Set-ItResult -Skipped -Because $why; return }
        Mount-NekkGhostImage -Repository $mrepo -ImageId $vols.ext4.Image.ImageId -MountPoint (Join-Path $work 'view-whatif') -WhatIf | Should -BeNullOrEmpty
        Test-Path (Join-Path $work 'view-whatif') | Should -BeFalse
        { Dismount-NekkGhostImage -MountPoint (Join-Path $work 'nothing-here') -ErrorAction Stop } |
            Should -Throw -ErrorId 'NekkBackup.MountNotFound,NekkBackup.Commands.Ghost.DismountNekkGhostImageCommand'
    }

    It 'a mount killed after it was recorded is cleaned by the next call' {
        if ($why) { Set-ItResult -Skipped -Because $why; return }
        # A volume with 160 MiB of used blocks: materialising it outlasts the kill below.
        $big = New-LoopFileSystem ext4 -SizeMB 200
        try {
            $b = [byte[]]::new(16MB); $rnd = [System.Random]::new(9)
            for ($i = 0; $i -lt 10; $i++) { $rnd.NextBytes($b); [System.IO.File]::WriteAllBytes((Join-Path $big.MountPoint "part$i.bin"), $b) }
            & umount $big.MountPoint
            $img = New-NekkGhostImage -Source $big.Image -Repository $mrepo
            $mp = Join-Path $work 'view-killed'
            $pidFile = Join-Path $work 'mount.pid'
            # The child stops itself (a hard kill) as soon as the mount is recorded.
            $script = "`$env:NEKKBACKUP_DATA = '$($env:NEKKBACKUP_DATA)'; Mount-NekkGhostImage -Repository '$mrepo' -ImageId $($img.ImageId) -MountPoint '$mp' -Verbose 4>&1 |" +
                " ForEach-Object { if (`"`$_`" -like 'Recorded mount*') { Stop-Process -Id `$PID -Force } }"
            $child = Start-NekkChildPwsh -Script $script -PidFile $pidFile
            $child.WaitForExit(120000) | Out-Null
            $state = Get-Content -Raw (Join-Path $env:NEKKBACKUP_DATA 'mounts.json') | ConvertFrom-Json
            $rec = @($state.Mounts | Where-Object MountPoint -eq $mp)
            $rec.Count | Should -Be 1
            $rec[0].State | Should -Be 'Creating'

            # The next Mount cleans it up before it mounts (here the same image on another folder).
            $other = Join-Path $work 'view-after'
            $m = Mount-NekkGhostImage -Repository $mrepo -ImageId $vols.ext4.Image.ImageId -MountPoint $other -WarningVariable warn -WarningAction SilentlyContinue
            ($warn -join "`n") | Should -Match 'stopped'
            Test-Path $rec[0].WorkDirectory | Should -BeFalse
            Test-Path $mp | Should -BeFalse
            ((& losetup -a) -join "`n") | Should -Not -Match ([regex]::Escape($rec[0].ImageFile))
            Dismount-NekkGhostImage -MountPoint $other
            ((& losetup -a) -join "`n") | Should -Not -Match ([regex]::Escape($mrepo))
            @((Get-Content -Raw (Join-Path $env:NEKKBACKUP_DATA 'mounts.json') | ConvertFrom-Json).Mounts).Count | Should -Be 0
        }
        finally { Remove-LoopFileSystem $big }
    }
}

Describe 'Compare-NekkPluginInventory' {
    BeforeAll {
        $script:pvst3 = Join-Path $work 'plugins/VST3'
        $script:proot = Join-Path $work 'plugins/C'
        New-Vst3 $pvst3 'Pro-Q 3' '3.21' 'FabFilter'
        New-Vst3 $pvst3 'Valhalla Room' '1.6.2' 'Valhalla DSP'
        New-Vst3 $pvst3 'Soothe2' '1.3.0' 'oeksound'
        New-Item -ItemType Directory -Force (Join-Path $proot 'Program Files/iLok License Manager') | Out-Null
        Set-Content (Join-Path $proot 'Program Files/iLok License Manager/iLok License Manager.exe') 'MZ'
        $vol = Join-Path $work 'pvol.img'
        $b = [byte[]]::new(1MB); [System.Random]::new(3).NextBytes($b); [System.IO.File]::WriteAllBytes($vol, $b)
        $script:prepo = Join-Path $work 'plugin-repo'
        $script:pimg = New-NekkGhostImage -Source $vol -Repository $prepo -PluginPath $pvst3 -ToolRoot $proot
        # This machine after the image: Valhalla gone, Soothe2 updated, Kontakt new, iLok uninstalled.
        Remove-Item -Recurse (Join-Path $pvst3 'Valhalla Room.vst3')
        New-Vst3 $pvst3 'Soothe2' '1.4.1' 'oeksound'
        New-Vst3 $pvst3 'Kontakt 8' '8.2.0' 'Native Instruments'
        Remove-Item -Recurse (Join-Path $proot 'Program Files/iLok License Manager')
    }

    It 'finds a missing, an extra and a changed plugin (and a missing licence tool) in fixture folders' {
        $rows = Compare-NekkPluginInventory -Repository $prepo -ImageId $pimg.ImageId -PluginPath $pvst3 -ToolRoot $proot
        $rows[0].PSObject.TypeNames[0] | Should -Be 'NekkBackup.PluginComparison'
        $by = @{}; foreach ($r in $rows) { $by["$($r.Kind)/$($r.Name)"] = "$($r.Status) $($r.ImageVersion)>$($r.OtherVersion)" }
        $by['VST3/Valhalla Room'] | Should -Be 'Missing 1.6.2>'
        $by['VST3/Kontakt 8'] | Should -Be 'Extra >8.2.0'
        $by['VST3/Soothe2'] | Should -Be 'Different 1.3.0>1.4.1'
        $by['VST3/Pro-Q 3'] | Should -Be 'Same 3.21>3.21'
        $by['AuthorizationTool/iLok License Manager'] | Should -BeLike 'Missing *'
        $rows.Count | Should -Be 5
        ($rows | Where-Object Name -eq 'Valhalla Room').Vendor | Should -Be 'Valhalla DSP'
        $lines = ($rows | Format-Table | Out-String -Width 200) -split "`n"
        ($lines | Measure-Object -Property Length -Maximum).Maximum | Should -BeLessOrEqual 120
    }

    It 'takes the scan roots from NEKKBACKUP_PLUGIN_PATHS and NEKKBACKUP_TOOL_ROOT too' {
        $env:NEKKBACKUP_PLUGIN_PATHS = $pvst3
        $env:NEKKBACKUP_TOOL_ROOT = $proot
        try {
            $rows = $pimg | Compare-NekkPluginInventory
            ($rows | Where-Object Status -ne Same | ForEach-Object { "$($_.Status) $($_.Name)" }) |
                Should -Be @('Missing iLok License Manager', 'Missing Valhalla Room', 'Different Soothe2', 'Extra Kontakt 8')
        }
        finally { Remove-Item Env:NEKKBACKUP_PLUGIN_PATHS, Env:NEKKBACKUP_TOOL_ROOT -ErrorAction SilentlyContinue }
    }

    It 'an unknown image is NekkBackup.ImageNotFound' {
        { Compare-NekkPluginInventory -Repository $prepo -ImageId 20200101T000000Z-00000000 -ErrorAction Stop } |
            Should -Throw -ErrorId 'NekkBackup.ImageNotFound,NekkBackup.Commands.Ghost.CompareNekkPluginInventoryCommand'
    }
}
