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

    It 'lists the runs, one object per run manifest, oldest first (issue 13 item 11)' {
        $runs = @(Get-NekkCloudBackup @common)
        $runs.Count | Should -Be 2
        $runs[0].PSObject.TypeNames[0] | Should -Be 'NekkBackup.CloudRunInfo'
        $runs.RunId | Should -Be @($run1.RunId, $run2.RunId)
        # Against the source itself, not the product: file count and bytes.
        $files = Get-ChildItem $src -Recurse -File -Force | Where-Object { -not $_.LinkType }
        $runs | ForEach-Object {
            $_.Files | Should -Be $files.Count
            $_.SizeBytes | Should -Be ($files | Measure-Object Length -Sum).Sum
            $_.Status | Should -Be 'Complete'
            $_.Encrypted | Should -BeFalse
            $_.Sources | Should -Be @($src)
            $_.ManifestKey | Should -BeLike "pester/*/manifests/$($_.RunId).json"
        }
        @(Get-NekkCloudBackup @common -RunId ($run1.RunId.Substring(0, 8) + '*')).RunId | Should -Contain $run1.RunId
    }

    It '-RunId (or a run from the pipeline) lists that run''s files; -Path alone, the latest run''s' {
        $items = @(Get-NekkCloudBackup @common -RunId $run1.RunId)
        $items.Count | Should -Be $ref.Count
        $items[0].PSObject.TypeNames[0] | Should -Be 'NekkBackup.CloudBackupItem'
        ($items | Select-Object -ExpandProperty RunId -Unique) | Should -Be $run1.RunId
        $piped = @(Get-NekkCloudBackup @common | Select-Object -Last 1 | Get-NekkCloudBackup @common)
        ($piped | Select-Object -ExpandProperty RunId -Unique) | Should -Be $run2.RunId
        @(Get-NekkCloudBackup @common -Path 'Sessions/*').Count | Should -Be $ref.Count
        (@(Get-NekkCloudBackup @common -Path 'Sessions/*') | Select-Object -ExpandProperty RunId -Unique) | Should -Be $run2.RunId
        @(Get-NekkCloudBackup @common -RunId $run1.RunId -Path 'Sessions/*').Count | Should -Be $ref.Count
    }

    It 'completes -RunId from the bucket the command line names (newest first) and -ProfileName from the AWS files' {
        $line = "Get-NekkCloudBackup -Bucket nekk -Endpoint http://127.0.0.1:$port -Prefix pester -Credential `$cloudCred -RunId "
        $typed = $line + $run1.RunId.Substring(0, 18)
        $global:cloudCred = $common.Credential
        try {
            $m = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches
            $m1 = (TabExpansion2 -inputScript $typed -cursorColumn $typed.Length).CompletionMatches
        }
        finally { Remove-Variable -Scope Global cloudCred }
        $m.CompletionText | Should -Be @($run2.RunId, $run1.RunId)
        $m1.CompletionText | Should -Contain $run1.RunId
        $m1.CompletionText | Should -Not -Contain $run2.RunId
        # A bucket that does not answer: nothing, quickly, and no error.
        $Error.Clear()
        $dead = "Restore-NekkCloudBackup -Bucket nekk -Endpoint http://127.0.0.1:9 -Prefix pester -Target x -RunId "
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        (TabExpansion2 -inputScript $dead -cursorColumn $dead.Length).CompletionMatches | Should -BeNullOrEmpty
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 8
        $Error.Count | Should -Be 0
        $aws = Join-Path $work 'aws-credentials'
        Set-Content $aws "[studio-offsite]`naws_access_key_id = AKIAEXAMPLE`naws_secret_access_key = x`n[backup]`naws_access_key_id = AKIAEXAMPLE2`naws_secret_access_key = y"
        # A fresh session: the AWS SDK reads where its files are once per process.
        $old = $env:AWS_SHARED_CREDENTIALS_FILE
        $env:AWS_SHARED_CREDENTIALS_FILE = $aws
        try {
            $out = Invoke-NekkPwsh -Command ("Import-Module '$(Get-NekkManifestPath)'; `$p = 'Send-NekkCloudBackup -Path . -Bucket nekk -ProfileName stu'; " +
                "(TabExpansion2 -inputScript `$p -cursorColumn `$p.Length).CompletionMatches.CompletionText")
        }
        finally { $env:AWS_SHARED_CREDENTIALS_FILE = $old }
        $out | Should -Be @('studio-offsite')
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

    It '-WhatIf sends nothing (it returns a preview: WhatIf.Tests.ps1)' {
        $before = @(Get-NekkCloudBackup @common).RunId
        (Send-NekkCloudBackup -Path $src @common -WhatIf).PSObject.TypeNames[0] | Should -Be 'NekkBackup.CloudBackupPreview'
        @(Get-NekkCloudBackup @common).RunId | Should -Be $before
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
        (Get-NekkCloudBackup @common -Prefix 'pester-filter' -RunId $r.RunId).Path | Sort-Object | Should -Be @('Proj/song.rpp', 'Proj/Stems/kick.wav')
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

    It 'a closed port is NekkBackup.CloudUnreachable, each retry logged once and the failure at Error with the run''s id' {
        $c = $common.Clone(); $c.Endpoint = 'http://127.0.0.1:9'
        { Get-NekkCloudBackup @c -ErrorAction Stop } |
            Should -Throw -ErrorId 'NekkBackup.CloudUnreachable,NekkBackup.Commands.Cloud.GetNekkCloudBackupCommand'
        $d = New-Item -ItemType Directory (Join-Path $work 'retry') -Force
        Set-Content (Join-Path $d 'a.txt') 'a'
        { Send-NekkCloudBackup -Path $d @c -ErrorAction Stop } | Should -Throw -ErrorId 'NekkBackup.CloudUnreachable,*'
        $lines = Get-ChildItem (Join-Path $env:NEKKBACKUP_DATA 'logs') -Recurse -File | Get-Content
        $failed = @($lines | Where-Object { $_ -match '\[ERR\] (\S+) Send-NekkCloudBackup: Send-NekkCloudBackup failed: NekkBackup\.CloudUnreachable' })
        $failed.Count | Should -Be 1
        $runId = ($failed[0] -split ' ')[4]
        $retries = @($lines | Where-Object { $_ -like "* $runId *" -and $_ -match 'retry \d' })
        $retries.Count | Should -BeGreaterThan 0
        # One line per retry: attempt numbers never repeat.
        $attempts = $retries | ForEach-Object { if ($_ -match 'retry (\d+)') { $Matches[1] } }
        @($attempts | Select-Object -Unique).Count | Should -Be $retries.Count
    }

    It 'missing credentials are NekkBackup.CloudCredentialsMissing at once, naming the four places; a stored credential is used (child pwsh)' {
        $home2 = New-Item -ItemType Directory (Join-Path $work 'no-aws-home') -Force
        $data2 = Join-Path $work 'no-cred-data'
        $d = New-Item -ItemType Directory (Join-Path $work 'nocred/Sessions') -Force
        Set-Content (Join-Path $d 'take.txt') 'take'
        $script = Join-Path $work 'nocred.ps1'
        Set-Content $script @"
Import-Module '$(Get-NekkManifestPath)'
`$sw = [System.Diagnostics.Stopwatch]::StartNew()
try { Send-NekkCloudBackup -Path '$d' -Bucket nekk -Endpoint http://127.0.0.1:$port -Prefix pester-nocred -ErrorAction Stop } catch { "ID `$(`$_.FullyQualifiedErrorId)"; "MSG `$(`$_.Exception.Message)" }
"SECONDS `$([int]`$sw.Elapsed.TotalSeconds)"
Set-NekkCredential -Target nekk -Credential ([pscredential]::new('S3RVER', (ConvertTo-SecureString 'S3RVER' -AsPlainText -Force)))
"STORED `$((Send-NekkCloudBackup -Path '$d' -Bucket nekk -Endpoint http://127.0.0.1:$port -Prefix pester-nocred).Status)"
"@
        $saved = @{}
        $envs = @{ HOME = $home2.FullName; NEKKBACKUP_DATA = $data2; AWS_ACCESS_KEY_ID = $null; AWS_SECRET_ACCESS_KEY = $null; AWS_SESSION_TOKEN = $null
            AWS_PROFILE = $null; AWS_SHARED_CREDENTIALS_FILE = (Join-Path $home2 'none'); AWS_CONFIG_FILE = (Join-Path $home2 'none'); AWS_EC2_METADATA_DISABLED = 'true' }
        foreach ($k in $envs.Keys) { $saved[$k] = [Environment]::GetEnvironmentVariable($k); [Environment]::SetEnvironmentVariable($k, $envs[$k]) }
        try { $out = Invoke-NekkPwsh -File $script 2>&1 | ForEach-Object { "$_" } }
        finally { foreach ($k in $saved.Keys) { [Environment]::SetEnvironmentVariable($k, $saved[$k]) } }
        $out | Should -Contain 'ID NekkBackup.CloudCredentialsMissing,NekkBackup.Commands.Cloud.SendNekkCloudBackupCommand'
        $msg = ($out | Where-Object { $_ -like 'MSG *' }) -join ' '
        foreach ($place in '-Credential', '-ProfileName', 'AWS_ACCESS_KEY_ID', 'Set-NekkCredential -Target nekk') { $msg | Should -BeLike "*$place*" }
        [int](($out | Where-Object { $_ -like 'SECONDS *' }) -replace 'SECONDS ', '') | Should -BeLessThan 5
        $out | Should -Contain 'STORED Succeeded'
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
        # -ArchiveId completes from the bucket the line names (here with the credential stored for it).
        $global:cloudCred = $common.Credential
        try {
            $line = "Restore-NekkCloudArchive -Bucket nekk -Endpoint http://127.0.0.1:$port -Prefix pester -Credential `$cloudCred -Target x -ArchiveId "
            $m = (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches
        }
        finally { Remove-Variable -Scope Global cloudCred }
        $m.CompletionText | Should -Contain $a.ArchiveId
        ($m | Where-Object CompletionText -eq $a.ArchiveId).ToolTip | Should -BeLike 'Album, *'
    }
}
