#Requires -Version 7.4
# Cloud cmdlets as an admin calls them, against a real s3rver (npm s3rver@3.7.1) on 127.0.0.1.
# Digests of the source are taken with plain PowerShell before the upload and compared after the restore.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-NekkTestModule
    $script:work = New-NekkTestDirectory 'cloud'
    $env:NEKKBACKUP_DATA = Join-Path $script:work 'data'

    $cache = Join-Path $HOME '.cache/nekkbackup-s3rver'
    $script:s3js = if ($env:NEKKBACKUP_S3RVER) { $env:NEKKBACKUP_S3RVER } else { Join-Path $cache 'node_modules/s3rver/bin/s3rver.js' }
    if (-not (Test-Path $s3js)) { & npm install --no-audit --no-fund --prefix $cache s3rver@3.7.1 | Out-Null }
    $l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0); $l.Start()
    $script:port = $l.LocalEndpoint.Port; $l.Stop()
    $dataDir = New-Item -ItemType Directory (Join-Path $work 's3data')
    # --openssl-legacy-provider: s3rver's continuation tokens use a cipher OpenSSL 3 only offers there.
    $script:s3 = Start-Process node -ArgumentList @('--openssl-legacy-provider', $s3js, '-d', $dataDir, '-p', $port, '-a', '127.0.0.1', '-s', '--configure-bucket', 'nekk') -PassThru
    $deadline = (Get-Date).AddSeconds(30)
    while ($true) {
        try { $c = [System.Net.Sockets.TcpClient]::new('127.0.0.1', $port); $c.Dispose(); break }
        catch { if ((Get-Date) -gt $deadline) { throw 's3rver did not start' }; Start-Sleep -Milliseconds 100 }
    }
    $secret = ConvertTo-SecureString 'S3RVER' -AsPlainText -Force
    $script:common = @{
        Bucket = 'nekk'; Endpoint = "http://127.0.0.1:$port"; Prefix = 'pester'
        Credential = [pscredential]::new('S3RVER', $secret)
    }
}

AfterAll {
    if ($script:s3) { Stop-Process -Id $script:s3.Id -Force -ErrorAction SilentlyContinue }
    Remove-Item -Recurse -Force $script:work -ErrorAction SilentlyContinue
}

Describe 'Send/Get/Restore-NekkCloudBackup round trip' {
    BeforeAll {
        $script:src = New-StudioData (Join-Path $work 'rt/Sessions') -SizeMB 8 -Seed 11
        $script:ref = Get-TreeDigest $src
        $script:run1 = Send-NekkCloudBackup -Path $src @common
        $script:run2 = Send-NekkCloudBackup -Path $src @common
    }

    It 'uploads everything once, then nothing' {
        $run1.PSObject.TypeNames[0] | Should -Be 'NekkBackup.CloudRun'
        $run1.Status | Should -Be 'Succeeded'
        $run1.FilesScanned | Should -Be $ref.Count
        $run1.BytesUploaded | Should -BeGreaterThan 0
        $run2.BytesUploaded | Should -Be 0
        $run2.FilesUploaded | Should -Be 0
    }

    It 'lists the latest run from its manifest' {
        $items = Get-NekkCloudBackup @common
        @($items).Count | Should -Be $ref.Count
        $items[0].PSObject.TypeNames[0] | Should -Be 'NekkBackup.CloudBackupItem'
        ($items | Select-Object -ExpandProperty RunId -Unique) | Should -Be $run2.RunId
        @(Get-NekkCloudBackup @common -RunId $run1.RunId -Path 'Sessions/*').Count | Should -Be $ref.Count
    }

    It 'restores byte for byte' {
        $target = Join-Path $work 'rt/restore'
        $r = Restore-NekkCloudBackup @common -Target $target
        $r.Status | Should -Be 'Succeeded'
        $r.FilesRestored | Should -Be $ref.Count
        Compare-TreeDigest $ref (Get-TreeDigest (Join-Path $target 'Sessions')) | Should -BeNullOrEmpty
    }

    It 'refuses a non-empty target without -Overwrite' {
        { Restore-NekkCloudBackup @common -Target (Join-Path $work 'rt/restore') -ErrorAction Stop } |
            Should -Throw -ErrorId 'NekkBackup.TargetNotEmpty,NekkBackup.Commands.Cloud.RestoreNekkCloudBackupCommand'
    }

    It '-WhatIf sends nothing' {
        Send-NekkCloudBackup -Path $src @common -WhatIf | Should -BeNullOrEmpty
    }
}

Describe 'Send-NekkCloudBackup -Include/-Exclude/-Snapshot' {
    BeforeAll {
        $script:fsrc = New-Item -ItemType Directory (Join-Path $work 'filter/Proj')
        New-Item -ItemType Directory (Join-Path $fsrc 'Render Cache'), (Join-Path $fsrc 'Stems') | Out-Null
        Set-Content (Join-Path $fsrc 'song.rpp') 'session'
        Set-Content (Join-Path $fsrc 'Stems/kick.wav') 'kick'
        Set-Content (Join-Path $fsrc 'Stems/peaks.tmp') 'peaks'
        Set-Content (Join-Path $fsrc 'Render Cache/freeze.wav') 'frozen'
        Set-Content (Join-Path $fsrc 'notes.txt') 'notes'
    }

    It 'uploads only what the filters select, read live with -Snapshot None' {
        $r = Send-NekkCloudBackup -Path $fsrc @common -Prefix 'pester-filter' -Include '*.wav', '*.rpp' -Exclude 'Render Cache', '*.tmp' -Snapshot None
        $r.Status | Should -Be 'Succeeded'
        $r.FilesScanned | Should -Be 2
        (Get-NekkCloudBackup @common -Prefix 'pester-filter').Path | Sort-Object | Should -Be @('Proj/Stems/kick.wav', 'Proj/song.rpp')
    }

    It '-Snapshot Required where no snapshot can be made is NekkBackup.SnapshotUnsupported and sends nothing' {
        { Send-NekkCloudBackup -Path $fsrc @common -Prefix 'pester-snap' -Snapshot Required -ErrorAction Stop } |
            Should -Throw -ErrorId 'NekkBackup.SnapshotUnsupported,NekkBackup.Commands.Cloud.SendNekkCloudBackupCommand'
        Get-NekkCloudBackup @common -Prefix 'pester-snap' | Should -BeNullOrEmpty
    }
}

Describe 'Cloud argument and connection errors' {
    It 'bad -ModifiedWithin is NekkBackup.InvalidModifiedWithin' {
        { Send-NekkCloudBackup -Path $work @common -ModifiedWithin 'soon' -ErrorAction Stop } |
            Should -Throw -ErrorId 'NekkBackup.InvalidModifiedWithin,NekkBackup.Commands.Cloud.SendNekkCloudBackupCommand'
    }

    It 'an unquoted 30d (the decimal 30) means 30 days' {
        $d = New-Item -ItemType Directory (Join-Path $work 'mw')
        Set-Content (Join-Path $d 'old.txt') 'old'
        (Get-Item (Join-Path $d 'old.txt')).LastWriteTimeUtc = (Get-Date).ToUniversalTime().AddDays(-40)
        Set-Content (Join-Path $d 'new.txt') 'new'
        $r = Send-NekkCloudBackup -Path $d @common -Prefix 'pester-mw' -ModifiedWithin 30d
        $r.FilesUploaded | Should -Be 1
    }

    It 'a missing bucket is NekkBackup.CloudBucketNotFound' {
        $c = $common.Clone(); $c.Bucket = 'no-such-bucket'
        { Send-NekkCloudBackup -Path $work @c -ErrorAction Stop } |
            Should -Throw -ErrorId 'NekkBackup.CloudBucketNotFound,NekkBackup.Commands.Cloud.SendNekkCloudBackupCommand'
    }

    It 'a closed port is NekkBackup.CloudUnreachable' {
        $c = $common.Clone(); $c.Endpoint = 'http://127.0.0.1:9'
        { Get-NekkCloudBackup @c -ErrorAction Stop } |
            Should -Throw -ErrorId 'NekkBackup.CloudUnreachable,NekkBackup.Commands.Cloud.GetNekkCloudBackupCommand'
    }
}

Describe 'Send-NekkCloudArchive' {
    It 'archives a project as one object and warns about missing media' {
        $p = New-Item -ItemType Directory (Join-Path $work 'Album')
        Set-Content (Join-Path $p 'mix.rpp') "<REAPER_PROJECT`n <SOURCE WAVE`n  FILE `"/nowhere/vox.wav`"`n >`n>"
        Set-Content (Join-Path $p 'notes.txt') 'final'
        $a = Send-NekkCloudArchive -Path $p @common -StorageClass STANDARD -WarningVariable warn -WarningAction SilentlyContinue
        $a.PSObject.TypeNames[0] | Should -Be 'NekkBackup.CloudArchive'
        $a.Files | Should -Be 2
        $a.StorageClass | Should -Be 'STANDARD'
        ($warn -join "`n") | Should -Match 'vox.wav'
    }
}
