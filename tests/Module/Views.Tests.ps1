#Requires -Version 7.4
# Issue 13 item 5: every default view of every output type, rendered from real objects (real runs, a real s3rver,
# real loop mounts as root) with Out-String -Width 120: no line wider than 120, no column cut with '…', no column
# dropped, and sizes in the one format (B/KB/MB/GB/TB, three significant digits) everywhere.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'NodeTools.psm1') -Force
    Import-NekkTestModule
    # Long names on purpose: paths are what overflows a table.
    $script:work = New-NekkTestDirectory 'views-Studio Sessions 2026 Album Recording'
    $env:NEKKBACKUP_DATA = Join-Path $work 'data'
    Remove-Item Env:NEKKBACKUP_PLUGIN_PATHS, Env:NEKKBACKUP_TOOL_ROOT -ErrorAction SilentlyContinue
    $script:asRoot = -not (Get-NekkSkipReason -Root -Tool 'mkfs.ext4', 'mkfs.btrfs', 'btrfs', 'losetup')
    $script:objects = [ordered]@{}
    function Add-ViewObject { foreach ($o in $args) { foreach ($x in @($o)) { if ($null -ne $x) {
        $t = $x.PSObject.TypeNames[0]
        if (-not $objects.Contains($t)) { $objects[$t] = [System.Collections.Generic.List[object]]::new() }
        $objects[$t].Add($x) } } } }
    function New-Vst3([string] $Folder, [string] $Name, [string] $Version, [string] $Vendor) {
        $d = New-Item -ItemType Directory -Force (Join-Path $Folder "$Name.vst3/Contents")
        "{ `"Name`": `"$Name`", `"Version`": `"$Version`", `"Factory Info`": { `"Vendor`": `"$Vendor`" } }" | Set-Content (Join-Path $d 'moduleinfo.json')
    }

    # ---- folder backups: a good run, a refused one (its long reason), versions, a restore, a check
    $src = New-StudioData (Join-Path $work 'Sessions of the Long Album Name') -SizeMB 3 -Seed 5
    New-Item -ItemType Directory (Join-Path $work 'nas') | Out-Null
    $nas = Join-Path $work 'nas/studio-a folder backups on the network share'
    $good = Backup-NekkFolder -Path $src -Destination $nas -Snapshot None
    Get-ChildItem $src -Recurse -File | ForEach-Object { [System.IO.File]::WriteAllBytes($_.FullName, [byte[]]::new([Math]::Max(1, $_.Length))) }
    $refused = Backup-NekkFolder -Path $src -Destination $nas -Snapshot None -ErrorAction SilentlyContinue
    Add-ViewObject $good $refused
    # -WhatIf previews (issue 13 item 2): the refused change above, previewed, with one row per file.
    $fprev = Backup-NekkFolder -Path $src -Destination $nas -Snapshot None -Retention @{ KeepLast = 1 } -WhatIf
    Add-ViewObject $fprev $fprev.Items
    $rel = (Get-ChildItem $src -Recurse -File | Select-Object -First 1).FullName.Substring((Split-Path $src).Length + 1)
    Add-ViewObject (Get-NekkFolderBackup -Destination $nas -Path $rel)
    Add-ViewObject (Restore-NekkFolder -Destination $nas -Target (Join-Path $work 'restored folder of the long album') -RunId $good.RunId)
    Add-ViewObject (Test-NekkFolderBackup -Destination $nas -Full)

    # ---- Ghost: a 32 MiB volume (shown as "32.0 MB"), its check, a damaged chunk, restore, plugin compare, removal
    $vol = Join-Path $work 'system volume of the workstation.img'
    $fs = [System.IO.File]::Create($vol)
    try { $fs.SetLength(32MB); $b = [byte[]]::new(1MB); [System.Random]::new(3).NextBytes($b); $fs.Write($b, 0, $b.Length) } finally { $fs.Dispose() }
    $plugins = Join-Path $work 'plugins'
    New-Vst3 $plugins 'Pro-Q 3 Dynamic Equalizer' '3.21' 'FabFilter'
    New-Vst3 $plugins 'Valhalla VintageVerb' '3.0.1' 'Valhalla DSP'
    $script:repo = Join-Path $work 'ghost repository on another share'
    $script:img = New-NekkGhostImage -Source $vol -Repository $repo -PluginPath $plugins
    Add-ViewObject $img
    Add-ViewObject (Test-NekkGhostImage -Repository $repo -ImageId $img.ImageId)
    Add-ViewObject (Restore-NekkGhostImage -Repository $repo -ImageId $img.ImageId -Target (Join-Path $work 'restored system volume.img'))
    $other = Join-Path $work 'plugins on this machine'
    New-Vst3 $other 'Pro-Q 3 Dynamic Equalizer' '3.24' 'FabFilter'
    New-Vst3 $other 'Serum Advanced Wavetable Synthesizer' '1.368' 'Xfer Records'
    Add-ViewObject (Compare-NekkPluginInventory -Repository $repo -ImageId $img.ImageId -PluginPath $other)
    $repo2 = Join-Path $work 'damaged repository'
    $img2 = New-NekkGhostImage -Source $vol -Repository $repo2 -Compression None
    $chunk = Get-ChildItem (Join-Path $repo2 'chunks') -Recurse -File | Select-Object -First 1
    [System.IO.File]::WriteAllBytes($chunk.FullName, [byte[]]::new(16))
    $damaged = Test-NekkGhostImage -Repository $repo2 -ErrorAction SilentlyContinue
    Add-ViewObject $damaged @($damaged.Problems)
    Add-ViewObject (Remove-NekkGhostImage -Repository $repo2 -ImageId $img2.ImageId -Confirm:$false -PassThru)

    # ---- cloud, against a real S3 protocol server
    $script:s3 = Start-NekkS3rver -DataDirectory (Join-Path $work 's3data') -Bucket 'nekk'
    $c = @{ Bucket = 'nekk'; Endpoint = "http://127.0.0.1:$($s3.Port)"; Prefix = 'views'
        Credential = [pscredential]::new('S3RVER', (ConvertTo-SecureString 'S3RVER' -AsPlainText -Force)) }
    $crun = Send-NekkCloudBackup -Path $src @c
    Add-ViewObject (Send-NekkCloudBackup -Path $src @c -WhatIf)
    Add-ViewObject $crun (Get-NekkCloudBackup @c) (Get-NekkCloudBackup @c -RunId $crun.RunId)
    Add-ViewObject (Restore-NekkCloudBackup @c -Target (Join-Path $work 'restored from the bucket'))
    Add-ViewObject (Remove-NekkCloudBackup @c -Retention @{ KeepLast = 3; Daily = 7; Weekly = 4; Monthly = 12 } -Confirm:$false)
    $project = New-Item -ItemType Directory (Join-Path $work 'Finished Project With A Long Name')
    Set-Content (Join-Path $project 'mix.rpp') '<REAPER_PROJECT>'
    $arch = Send-NekkCloudArchive -Path $project @c -StorageClass STANDARD
    Add-ViewObject $arch (Get-NekkCloudArchive @c)
    Add-ViewObject (Restore-NekkCloudArchive @c -ArchiveId $arch.ArchiveId -Target (Join-Path $work 'restored archive of the project'))

    # ---- plans, compliance, schedules, fleet, credentials, report, alerts
    $plan = Join-Path $work 'studio-a.psd1'
    Add-ViewObject (New-NekkBackupPlan -Path $plan -Source $src -NasDestination (Join-Path $work 'nas/plan destination') -Name 'studio-a' -DawProcess @())
    Add-ViewObject (Test-NekkBackupPlan -Path $plan)
    Add-ViewObject (Invoke-NekkBackupPlan -Path $plan)
    Add-ViewObject (Get-NekkBackupHistory -Path $plan)
    Add-ViewObject (Test-NekkBackupCompliance -Path $plan)
    Add-ViewObject (Register-NekkBackupPlan -Path $plan -Scheduler Systemd -UnitDirectory (Join-Path $work 'units') -PassThru)
    Add-ViewObject (Get-NekkFleetStatus -Path (Join-Path $work 'nas/plan destination'))
    Add-ViewObject (Get-NekkFleetStatus -Path (Join-Path $work 'nas/plan destination') -Summary)
    $down = Join-Path $work 'unreachable.psd1'
    $null = New-NekkBackupPlan -Path $down -Source $src -NasDestination (Join-Path $work 'offline/share/with a long name/studio-b') -Name 'studio-b'
    Add-ViewObject (Invoke-NekkBackupPlan -Path $down -ErrorAction SilentlyContinue)
    Add-ViewObject (Get-NekkBackupHistory -Path $down)
    Set-NekkCredential -Target '\\nas-with-a-long-name.studio.example\backup-share' -Credential ([pscredential]::new('STUDIO\backup-service', (ConvertTo-SecureString 'x' -AsPlainText -Force)))
    Set-NekkCredential -Target 'studio-offsite-bucket' -Credential ([pscredential]::new('AKIAIOSFODNN7EXAMPLE', (ConvertTo-SecureString 'x' -AsPlainText -Force)))
    Add-ViewObject (Get-NekkCredential)
    Add-ViewObject (Remove-NekkCredential -Target 'studio-offsite-bucket' -WhatIf)
    Add-ViewObject (Export-NekkBackupReport -Path $plan -OutFile (Join-Path $work 'report for the studio owner.html'))
    $l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0); $l.Start(); $deadPort = $l.LocalEndpoint.Port; $l.Stop()
    Set-NekkCredential -Target webhook:dead -Secret (ConvertTo-SecureString "http://127.0.0.1:$deadPort/hooks/x" -AsPlainText -Force)
    $np = Join-Path $work 'notify.psd1'
    Set-Content $np "@{ SchemaVersion = 1; Name = 'notify'; Sources = '$src'; NasDestination = '$(Join-Path $work 'nas/notify')'; Notify = @{ When = 'Failure'; Webhook = @{ Name = 'dead'; Format = 'Json' } } }"
    Add-ViewObject (Send-NekkBackupNotification -Path $np -Test -WarningAction SilentlyContinue -ErrorAction SilentlyContinue)

    # ---- as root: a btrfs snapshot and a mounted image
    $script:pool = $null; $script:mp = $null; $script:snap = $null
    if ($asRoot) {
        $script:pool = New-LoopFileSystem btrfs -SizeMB 128
        New-Item -ItemType Directory (Join-Path $pool.MountPoint 'studio sessions') | Out-Null
        $script:snap = New-NekkSnapshot -Path (Join-Path $pool.MountPoint 'studio sessions')
        Add-ViewObject $snap
        $ext = Join-Path $work 'ext4 volume.img'
        & truncate -s 24M $ext; & mkfs.ext4 -q -F $ext
        $eimg = New-NekkGhostImage -Source $ext -Repository $repo
        $script:mp = Join-Path $work 'mounted image of the ext4 volume'
        Add-ViewObject (Mount-NekkGhostImage -Repository $repo -ImageId $eimg.ImageId -MountPoint $mp)
    }
}

AfterAll {
    if ($script:mp) { Dismount-NekkGhostImage -MountPoint $mp -ErrorAction SilentlyContinue }
    if ($script:snap) { Remove-NekkSnapshot -SnapshotId $snap.SnapshotId -Confirm:$false -ErrorAction SilentlyContinue }
    Remove-LoopFileSystem $script:pool
    if ($script:s3) { Stop-Process -Id $s3.Process.Id -Force -ErrorAction SilentlyContinue }
    Remove-Item -Recurse -Force $script:work -ErrorAction SilentlyContinue
}

Describe 'Default views' {
    It 'real objects of every output type the cmdlets declare were made' {
        $declared = Get-Command -Module NekkBackup | ForEach-Object { $_.OutputType.Name } |
            Where-Object { $_ -like 'NekkBackup.*' } | Sort-Object -Unique
        $rootOnly = 'NekkBackup.Snapshot', 'NekkBackup.GhostMount'
        $missing = $declared | Where-Object { -not $objects.Contains($_) -and ($asRoot -or $_ -notin $rootOnly) }
        $missing | Should -BeNullOrEmpty
        # Every declared type has a default view of its own.
        $declared | Where-Object { -not (Get-FormatData -TypeName $_) } | Should -BeNullOrEmpty
    }

    It 'every view renders within 120 columns, with every column shown and nothing cut with …' {
        $problems = foreach ($type in $objects.Keys) {
            $text = ($objects[$type] | Out-String -Width 120)
            $lines = $text -split "`r?`n"
            foreach ($line in $lines) { if ($line.Length -gt 120) { "${type}: a line of $($line.Length) columns" } }
            if ($text.Contains([char]0x2026)) { "${type}: a value was cut with '…'`n$text" }
            $view = (Get-FormatData -TypeName $type).FormatViewDefinition | Select-Object -First 1
            if ($view.Control -is [System.Management.Automation.TableControl]) {
                $header = $lines | Where-Object { $_.Trim() } | Select-Object -First 1
                foreach ($h in $view.Control.Headers) { if ($h.Label -and $header -notmatch "\b$([regex]::Escape($h.Label))\b") { "${type}: column '$($h.Label)' not shown`n$text" } }
            }
        }
        $problems | Should -BeNullOrEmpty
    }

    It 'long details (a refusal, a compliance finding, an unreachable plan) wrap whole instead of being cut' {
        foreach ($pair in @(
                @{ Type = 'NekkBackup.FolderBackupRun'; Text = ($objects['NekkBackup.FolderBackupRun'] | Where-Object Status -eq 'Refused').Reason }
                @{ Type = 'NekkBackup.ComplianceFinding'; Text = ($objects['NekkBackup.ComplianceFinding'] | Sort-Object { $_.Detail.Length } | Select-Object -Last 1).Detail }
                @{ Type = 'NekkBackup.PlanRunResult'; Text = ($objects['NekkBackup.PlanRunResult'] | Where-Object Status -eq 'Unreachable').Reason })) {
            $pair.Text | Should -Not -BeNullOrEmpty
            # The detail is the last column: wrapped, it reads back whole once the line breaks and padding are taken out.
            $shown = ($objects[$pair.Type] | Out-String -Width 120) -replace '\s', ''
            $shown.Contains(($pair.Text -replace '\s', '')) | Should -BeTrue -Because "$($pair.Type) shows all of: $($pair.Text)"
        }
    }

    It 'sizes use the one formatter: 32 MiB is 32.0 MB, never 0.0 GB, raw bytes or MiB columns' {
        [NekkBackup.Commands.Infrastructure.Format]::Bytes(32MB) | Should -Be '32.0 MB'
        [NekkBackup.Commands.Infrastructure.Format]::Bytes(5529651) | Should -Be '5.27 MB'
        [NekkBackup.Commands.Infrastructure.Format]::Bytes(17120) | Should -Be '16.7 KB'
        [NekkBackup.Commands.Infrastructure.Format]::Bytes(1000) | Should -Be '0.98 KB'
        [NekkBackup.Commands.Infrastructure.Format]::Bytes(512) | Should -Be '512 B'
        [NekkBackup.Commands.Infrastructure.Format]::Bytes(3TB) | Should -Be '3.00 TB'
        ($objects['NekkBackup.GhostImage'] | Where-Object ImageId -eq $img.ImageId | Out-String -Width 120) | Should -Match '\b32\.0 MB\b'
        ($objects['NekkBackup.GhostRestoreResult'] | Out-String -Width 120) | Should -Match '\b32\.0 MB\b'
        $all = ($objects.Values | ForEach-Object { $_ } | Out-String -Width 120)
        $all | Should -Not -Match '\(MiB\)|\b0\.0 GB\b|bytes imaged'
        foreach ($type in 'NekkBackup.FolderBackupRun', 'NekkBackup.CloudRun', 'NekkBackup.FolderRestoreResult', 'NekkBackup.CloudBackupItem', 'NekkBackup.FolderFileVersion') {
            $o = $objects[$type][0]
            $bytes = @($o.BytesCopied, $o.BytesUploaded, $o.BytesRestored, $o.Size) | Where-Object { $_ -is [long] -and $_ -ge 1000 } | Select-Object -First 1
            if ($bytes) { ($objects[$type] | Out-String -Width 120) | Should -Not -Match "\b$bytes\b" -Because "$type shows $bytes as a size" }
        }
        # Plan history details use it too.
        ($objects['NekkBackup.PlanHistoryEntry'] | Where-Object Step -eq 'Backup').Detail | Should -Match 'copied \(\d+(\.\d+)? (B|KB|MB)\)'
    }
}
