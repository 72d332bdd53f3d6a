#Requires -Version 7.4
# Get-NekkCloudArchive / Restore-NekkCloudArchive as an admin calls them, against a real s3rver on 127.0.0.1.
# Digests of the project are taken with Get-FileHash before the upload and compared with what is restored.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-NekkTestModule
    $script:work = New-NekkTestDirectory 'archive'
    $env:NEKKBACKUP_DATA = Join-Path $script:work 'data'

    $cache = Join-Path $HOME '.cache/nekkbackup-s3rver'
    $s3js = if ($env:NEKKBACKUP_S3RVER) { $env:NEKKBACKUP_S3RVER } else { Join-Path $cache 'node_modules/s3rver/bin/s3rver.js' }
    if (-not (Test-Path $s3js)) { & npm install --no-audit --no-fund --prefix $cache s3rver@3.7.1 | Out-Null }
    $l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0); $l.Start()
    $script:port = $l.LocalEndpoint.Port; $l.Stop()
    $dataDir = New-Item -ItemType Directory (Join-Path $work 's3data')
    $script:s3 = Start-Process node -ArgumentList @('--openssl-legacy-provider', $s3js, '-d', $dataDir, '-p', $port, '-a', '127.0.0.1', '-s', '--configure-bucket', 'vault') -PassThru
    $deadline = (Get-Date).AddSeconds(30)
    while ($true) {
        try { $c = [System.Net.Sockets.TcpClient]::new('127.0.0.1', $port); $c.Dispose(); break }
        catch { if ((Get-Date) -gt $deadline) { throw 's3rver did not start' }; Start-Sleep -Milliseconds 100 }
    }
    $script:common = @{
        Bucket = 'vault'; Endpoint = "http://127.0.0.1:$port"; Prefix = 'pester'
        Credential = [pscredential]::new('S3RVER', (ConvertTo-SecureString 'S3RVER' -AsPlainText -Force))
    }

    $script:project = New-StudioData (Join-Path $work 'src/EP Final') -SizeMB 10 -Seed 31
    $bytes = [byte[]]::new(20MB); [System.Random]::new(5).NextBytes($bytes)
    [System.IO.File]::WriteAllBytes((Join-Path $project 'Bounce master.wav'), $bytes)
    $script:ref = Get-TreeDigest $project
    $script:sent = Send-NekkCloudArchive -Path $project @common -StorageClass STANDARD -ArchiveId 'ep-final-1'
    # s3rver answers a multipart upload before its file is fully written (field-notes.md): let it settle.
    Start-Sleep -Seconds 1
}

AfterAll {
    if ($script:s3) { Stop-Process -Id $script:s3.Id -Force -ErrorAction SilentlyContinue }
    Remove-Item -Recurse -Force $script:work -ErrorAction SilentlyContinue
}

Describe 'Get-NekkCloudArchive' {
    It 'lists the archive with its project, size, class and state' {
        $a = @(Get-NekkCloudArchive @common)
        $a.Count | Should -Be 1
        $a[0].PSObject.TypeNames[0] | Should -Be 'NekkBackup.CloudArchiveInfo'
        $a[0].ArchiveId | Should -Be 'ep-final-1'
        $a[0].Project | Should -Be 'EP Final'
        $a[0].SizeBytes | Should -Be $sent.Bytes
        $a[0].Files | Should -Be $ref.Count
        $a[0].StorageClass | Should -Be 'STANDARD'
        $a[0].State | Should -Be 'Available'
        @(Get-NekkCloudArchive @common -ArchiveId 'nothing-*').Count | Should -Be 0
    }

    It 'has a table view that fits 120 columns' {
        $lines = (Get-NekkCloudArchive @common | Format-Table | Out-String -Width 200) -split "`n"
        ($lines | Measure-Object -Property Length -Maximum).Maximum | Should -BeLessOrEqual 120
        ($lines -join "`n") | Should -Match 'ep-final-1\s+EP Final'
    }
}

Describe 'Restore-NekkCloudArchive' {
    It 'restores every file byte for byte (digests taken before the upload)' {
        $t = Join-Path $work 'r-all'
        $r = Restore-NekkCloudArchive @common -ArchiveId ep-final-1 -Target $t
        $r.PSObject.TypeNames[0] | Should -Be 'NekkBackup.CloudArchiveRestoreResult'
        $r.Status | Should -Be 'Succeeded'
        $r.FilesRestored | Should -Be $ref.Count
        Compare-TreeDigest $ref (Get-TreeDigest (Join-Path $t 'EP Final')) | Should -BeNullOrEmpty
        Get-ChildItem $t -Force -Recurse -Filter '*.nekk*' | Should -BeNullOrEmpty
        Get-ChildItem $t -Force -Filter '.nekk-restore-*' | Should -BeNullOrEmpty
    }

    It 'restores only a -Path subset, piped from Get-NekkCloudArchive' {
        $t = Join-Path $work 'r-subset'
        $r = Get-NekkCloudArchive @common | Restore-NekkCloudArchive @common -Target $t -Path 'EP Final/Bounce*'
        $r.FilesRestored | Should -Be 1
        $r.BytesDownloaded | Should -BeLessThan ($sent.Bytes * 0.9)
        $got = Get-TreeDigest (Join-Path $t 'EP Final')
        @($got.Keys) | Should -Be @('Bounce master.wav')
        $got['Bounce master.wav'] | Should -Be $ref['Bounce master.wav']
    }

    It '-WhatIf writes nothing' {
        $t = Join-Path $work 'r-whatif'
        Restore-NekkCloudArchive @common -ArchiveId ep-final-1 -Target $t -WhatIf | Should -BeNullOrEmpty
        Test-Path $t | Should -BeFalse
    }

    It 'refuses a non-empty target, an unknown archive and a bad id with NekkBackup ids' {
        { Restore-NekkCloudArchive @common -ArchiveId ep-final-1 -Target (Join-Path $work 'r-all') -ErrorAction Stop } |
            Should -Throw -ErrorId 'NekkBackup.TargetNotEmpty,NekkBackup.Commands.Cloud.RestoreNekkCloudArchiveCommand'
        { Restore-NekkCloudArchive @common -ArchiveId no-such-archive -Target (Join-Path $work 'r-none') -ErrorAction Stop } |
            Should -Throw -ErrorId 'NekkBackup.CloudArchiveNotFound,NekkBackup.Commands.Cloud.RestoreNekkCloudArchiveCommand'
        { Restore-NekkCloudArchive @common -ArchiveId '../x' -Target (Join-Path $work 'r-none') -ErrorAction Stop } |
            Should -Throw -ErrorId 'NekkBackup.InvalidArchiveId,NekkBackup.Commands.Cloud.RestoreNekkCloudArchiveCommand'
    }

    It 'a killed restore continues where it stopped' {
        $t = Join-Path $work 'r-killed'
        $pidFile = Join-Path $work 'restore.pid'
        $c = $common
        $script = "`$env:NEKKBACKUP_DATA = '$($env:NEKKBACKUP_DATA)'; Restore-NekkCloudArchive -Bucket vault -Endpoint '$($c.Endpoint)' -Prefix pester " +
            "-Credential ([pscredential]::new('S3RVER', (ConvertTo-SecureString 'S3RVER' -AsPlainText -Force))) -ArchiveId ep-final-1 -Target '$t' -MaxMBps 4 -Confirm:`$false"
        $child = Start-NekkChildPwsh -Script $script -PidFile $pidFile
        $deadline = (Get-Date).AddSeconds(90)
        $written = 0
        while ((Get-Date) -lt $deadline -and -not $child.HasExited) {
            $written = (Get-ChildItem $t -Recurse -File -Force -ErrorAction Ignore | Measure-Object Length -Sum).Sum
            if ($written -ge 10MB) { break }
            Start-Sleep -Milliseconds 50
        }
        $child.HasExited | Should -BeFalse -Because 'the restore must still be running when it is killed'
        Stop-Process -Id ([int](Get-Content $pidFile)) -Force   # the engine itself, not dotnet's shim
        $child.WaitForExit(10000) | Out-Null
        Get-ChildItem $t -Force -Filter '.nekk-restore-ep-final-1.json' | Should -Not -BeNullOrEmpty

        $r = Restore-NekkCloudArchive @common -ArchiveId ep-final-1 -Target $t
        $r.Status | Should -Be 'Succeeded'
        $r.BytesResumed | Should -BeGreaterThan 8MB
        $r.BytesDownloaded | Should -BeLessThan ($sent.Bytes - 8MB)
        Compare-TreeDigest $ref (Get-TreeDigest (Join-Path $t 'EP Final')) | Should -BeNullOrEmpty
        Get-ChildItem $t -Force -Filter '.nekk-restore-*' | Should -BeNullOrEmpty
    }

    It 'has a table view that fits 120 columns' {
        $r = Restore-NekkCloudArchive @common -ArchiveId ep-final-1 -Target (Join-Path $work 'r-view')
        $lines = ($r | Format-Table | Out-String -Width 200) -split "`n"
        ($lines | Measure-Object -Property Length -Maximum).Maximum | Should -BeLessOrEqual 120
    }
}
