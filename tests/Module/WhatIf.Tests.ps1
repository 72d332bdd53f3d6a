#Requires -Version 7.4
# Issue 13 item 2: -WhatIf is a real preview, not one "Performing the operation" line. Each preview is checked against
# what the test itself changed in the source (counts and bytes known by construction), and against a digest of the
# destination tree / an S3 listing taken by an independent client before and after: nothing may change.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'NodeTools.psm1') -Force
    Import-NekkTestModule
    $script:work = New-NekkTestDirectory 'whatif'
    $env:NEKKBACKUP_DATA = Join-Path $work 'data'

    # Every file and folder below $Path with its size, time and SHA-256: the destination as plain PowerShell sees it.
    function Get-StateDigest([string] $Path) {
        if (-not (Test-Path -LiteralPath $Path)) { return '<absent>' }
        (Get-ChildItem -LiteralPath $Path -Recurse -Force | Sort-Object FullName | ForEach-Object {
            $h = if ($_.PSIsContainer) { 'dir' } else { (Get-FileHash -LiteralPath $_.FullName -Algorithm SHA256).Hash }
            '{0}|{1}|{2}|{3}' -f $_.FullName.Substring($Path.Length), $(if ($_.PSIsContainer) { 0 } else { $_.Length }), $_.LastWriteTimeUtc.Ticks, $h
        }) -join "`n"
    }
    function Set-Bytes([string] $Path, [int] $Size, [int] $Seed) {
        $b = [byte[]]::new($Size); [System.Random]::new($Seed).NextBytes($b)
        New-Item -ItemType Directory -Force (Split-Path $Path) | Out-Null
        [System.IO.File]::WriteAllBytes($Path, $b)
    }
}

AfterAll {
    Remove-Item -Recurse -Force $script:work -ErrorAction SilentlyContinue
}

Describe 'Backup-NekkFolder -WhatIf' {
    BeforeAll {
        $script:src = Join-Path $work 'Sessions'
        foreach ($i in 1..10) { Set-Bytes (Join-Path $src "Song/take$i.wav") (1000 * $i) $i }
        Set-Bytes (Join-Path $src 'Song/mix.rpp') 5000 99
        $script:nas = Join-Path $work 'nas'
    }

    It 'before the first run: everything to copy, the guard not checked, and not even the destination folder is made' {
        $p = Backup-NekkFolder -Path $src -Destination $nas -Snapshot None -WhatIf
        $p.PSObject.TypeNames[0] | Should -Be 'NekkBackup.FolderBackupPreview'
        $p.DestinationHasBackup | Should -BeFalse
        $p.FilesToCopy | Should -Be 11
        $p.BytesToCopy | Should -Be ((1..10 | Measure-Object -Sum { 1000 * $_ }).Sum + 5000)
        # The source's own folder comes with the mirror; below it, one new folder.
        $p.FoldersToCreate | Should -Be 1
        ($p.Items | Where-Object Action -eq 'Folder').Path | Should -Be 'Sessions/Song'
        $p.Guard | Should -Be 'NotChecked'
        Test-Path $nas | Should -BeFalse
    }

    It 'counts and bytes to copy, version and delete, the guard verdict and what retention prunes; nothing written' {
        $first = Backup-NekkFolder -Path $src -Destination $nas -Snapshot None
        $first.Status | Should -Be 'Succeeded'
        # Two takes re-recorded (other sizes), one deleted, two new, one touched with the same size (checked, not copied).
        Set-Bytes (Join-Path $src 'Song/take1.wav') 1500 101
        Set-Bytes (Join-Path $src 'Song/take2.wav') 2500 102
        Remove-Item (Join-Path $src 'Song/take3.wav')
        Set-Bytes (Join-Path $src 'Song/take11.wav') 7000 111
        Set-Bytes (Join-Path $src 'Comp/vox.wav') 3000 112
        (Get-Item (Join-Path $src 'Song/take4.wav')).LastWriteTimeUtc = [datetime]::UtcNow.AddMinutes(5)
        $before = Get-StateDigest $nas

        # 3 of the last run's 11 files replaced (take1, take2, take4) and 1 deleted: 36.4 %, under a limit of 50 %.
        $p = Backup-NekkFolder -Path $src -Destination $nas -Snapshot None -Retention @{ KeepLast = 1 } -MaxChangedPercent 50 -WhatIf -Verbose 4>&1
        $verbose = @($p | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message
        $p = $p | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }

        (Get-StateDigest $nas) | Should -Be $before -Because 'a preview writes nothing to the destination'
        @(Get-ChildItem (Join-Path $nas '.nekkbackup/runs') -File).Count | Should -Be 1
        $p.FilesScanned | Should -Be 12
        # Copies: take1, take2, take4 (same size, other time), take11, vox; versions: the three replaced and the deleted take3.
        "copy=$($p.FilesToCopy)/$($p.BytesToCopy) check=$($p.FilesToCheck)/$($p.BytesToCheck) version=$($p.FilesToVersion)/$($p.BytesToVersion) delete=$($p.FilesToDelete)/$($p.BytesToDelete) folders=$($p.FoldersToCreate)" |
            Should -Be 'copy=5/18000 check=0/0 version=4/10000 delete=1/3000 folders=1'
        $p.Guard | Should -Be 'Pass'
        $p.GuardDetail | Should -Match '^3 replaced and 1 deleted of 11 files \(36\.4 %, limit 50 %\)'
        $p.RetentionPrunes | Should -Be @($first.RunId)
        # -Verbose: one line per file (and per pruned run).
        $verbose | Should -Contain 'What if: Copy      Sessions/Comp/vox.wav 2.93 KB — new'
        $verbose | Should -Contain 'What if: Delete    Sessions/Song/take3.wav 2.93 KB — gone from the source'
        $verbose | Should -Contain "What if: Prune     $($first.RunId) — run retention would drop after this one"
        ($p | Out-String -Width 120) -split "`n" | Where-Object { $_.TrimEnd().Length -gt 120 } | Should -BeNullOrEmpty

        # The real run then does what the preview said.
        $run = Backup-NekkFolder -Path $src -Destination $nas -Snapshot None -Retention @{ KeepLast = 1 } -MaxChangedPercent 50
        "$($run.FilesCopied) $($run.BytesCopied) $($run.FilesDeleted)" | Should -Be "$($p.FilesToCopy) $($p.BytesToCopy) $($p.FilesToDelete)"
        (Get-ChildItem (Join-Path $nas '.nekkbackup/runs') -File).BaseName | Should -Not -Contain $first.RunId
    }

    It 'says the ransomware guard would refuse, without touching anything' {
        Get-ChildItem $src -Recurse -File | Select-Object -First 8 | ForEach-Object { Set-Bytes $_.FullName ($_.Length + 1) 7 }
        $before = Get-StateDigest $nas
        $p = Backup-NekkFolder -Path $src -Destination $nas -Snapshot None -WhatIf
        $p.Guard | Should -Be 'Refuse'
        $p.GuardDetail | Should -Match 'more than MaxChangedPercent 30 %'
        $p.ChangedPercent | Should -BeGreaterThan 30
        (Get-StateDigest $nas) | Should -Be $before
        (Backup-NekkFolder -Path $src -Destination $nas -Snapshot None -Force -WhatIf).Guard | Should -Be 'NotChecked'
    }

    It 'without -WhatIf writes no preview, only the run' {
        $r = Backup-NekkFolder -Path $src -Destination $nas -Snapshot None -Force
        $r.PSObject.TypeNames[0] | Should -Be 'NekkBackup.FolderBackupRun'
    }
}

Describe 'Send-NekkCloudBackup -WhatIf' {
    BeforeAll {
        $s = Start-NekkS3rver -DataDirectory (Join-Path $work 's3data') -Bucket 'pre'
        $script:s3 = $s.Process
        $script:endpoint = "http://127.0.0.1:$($s.Port)"
        $script:c = @{ Bucket = 'pre'; Endpoint = $endpoint; Prefix = 'whatif'
            Credential = [pscredential]::new('S3RVER', (ConvertTo-SecureString 'S3RVER' -AsPlainText -Force)) }
        $script:csrc = Join-Path $work 'Cloud/Sessions'
        foreach ($i in 1..6) { Set-Bytes (Join-Path $csrc "take$i.wav") (20000 * $i) (200 + $i) }
        # Every object in the bucket (key, size, ETag), listed by an independent client: plain unsigned HTTP.
        function Get-BucketListing {
            $x = [xml](Invoke-WebRequest "$endpoint/pre?list-type=2&max-keys=1000").Content
            @(@($x.ListBucketResult.Contents) | Where-Object { $_ } | ForEach-Object { "$($_.Key)|$($_.Size)|$($_.ETag)" } | Sort-Object) -join "`n"
        }
    }
    AfterAll {
        if ($script:s3) { Stop-Process -Id $script:s3.Id -Force -ErrorAction SilentlyContinue }
    }

    It 'before the first upload: every file to upload, and the bucket stays empty' {
        $p = Send-NekkCloudBackup -Path $csrc @c -Snapshot None -WhatIf
        $p.PSObject.TypeNames[0] | Should -Be 'NekkBackup.CloudBackupPreview'
        $p.PreviousRunId | Should -BeNullOrEmpty
        "$($p.FilesToUpload) $($p.BytesToUpload)" | Should -Be "6 $(20000 * 21)"
        Get-BucketListing | Should -BeNullOrEmpty
    }

    It 'files and bytes to upload against what the bucket already holds; the bucket listing is unchanged' {
        $run1 = Send-NekkCloudBackup -Path $csrc @c -Snapshot None
        $run1.Status | Should -Be 'Succeeded'
        Set-Bytes (Join-Path $csrc 'take1.wav') 33333 301                        # changed
        Set-Bytes (Join-Path $csrc 'Comp/vox.wav') 44444 302                     # new
        Copy-Item (Join-Path $csrc 'take6.wav') (Join-Path $csrc 'take6 copy.wav')   # new path, content already there
        (Get-Item (Join-Path $csrc 'take5.wav')).LastWriteTimeUtc = [datetime]::UtcNow.AddMinutes(-1)  # touched, same content
        $before = Get-BucketListing
        $before | Should -Match 'whatif/[^/]+/manifests/[^|]+\.json\|\d+\|'
        @($before -split "`n" | Where-Object { $_ -match '/data/[0-9a-f]{64}\|' }).Count | Should -Be 6

        $out = Send-NekkCloudBackup -Path $csrc @c -Snapshot None -WhatIf -Verbose 4>&1
        $verbose = @($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message
        $p = $out | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }

        (Get-BucketListing) | Should -Be $before -Because 'a preview writes nothing to the bucket (no lock, no manifest, no data)'
        $p.PreviousRunId | Should -Be $run1.RunId
        $p.FilesScanned | Should -Be 8
        # Upload: take1 (changed) and vox (new); stored: the copy of take6 and the touched take5; unchanged: take2, 3, 4, 6.
        "upload=$($p.FilesToUpload)/$($p.BytesToUpload) stored=$($p.FilesAlreadyStored)/$($p.BytesAlreadyStored) unchanged=$($p.FilesUnchanged)/$($p.BytesUnchanged)" |
            Should -Be 'upload=2/77777 stored=2/220000 unchanged=4/300000'
        $verbose | Should -Contain 'What if: Upload    Sessions/Comp/vox.wav 43.4 KB — new'
        $verbose | Should -Contain 'What if: Stored    Sessions/take6 copy.wav 117 KB — content already in the bucket: recorded, not sent'
        ($p | Out-String -Width 120) -split "`n" | Where-Object { $_.TrimEnd().Length -gt 120 } | Should -BeNullOrEmpty

        # The real upload then sends what the preview said, and nothing else.
        $run2 = Send-NekkCloudBackup -Path $csrc @c -Snapshot None
        "$($run2.FilesUploaded) $($run2.BytesUploaded)" | Should -Be "$($p.FilesToUpload) $($p.BytesToUpload)"
    }

    It '-ModifiedWithin: older files are not read' {
        Get-ChildItem $csrc -Recurse -File | ForEach-Object { $_.LastWriteTimeUtc = [datetime]::UtcNow.AddDays(-40) }
        Set-Bytes (Join-Path $csrc 'take2.wav') 1234 401
        $p = Send-NekkCloudBackup -Path $csrc @c -Snapshot None -ModifiedWithin 30 -WhatIf
        "$($p.FilesToUpload) $($p.BytesToUpload) $($p.FilesOutsideWindow)" | Should -Be '1 1234 7'
    }
}

Describe 'Remove-NekkCredential -WhatIf' {
    It 'returns the entry that would go as a typed row and keeps it' {
        Set-NekkCredential -Target 'whatif-bucket' -Credential ([pscredential]::new('AKIAWHATIF', (ConvertTo-SecureString 'x' -AsPlainText -Force)))
        $store = (Get-NekkCredential -Target 'whatif-bucket').Path
        $before = Get-StateDigest (Split-Path $store)
        $p = @(Remove-NekkCredential -Target 'whatif-*' -WhatIf)
        $p.Count | Should -Be 1
        $p[0].PSObject.TypeNames[0] | Should -Be 'NekkBackup.PreviewItem'
        "$($p[0].Action) $($p[0].Path)" | Should -Be 'Remove whatif-bucket'
        $p[0].Detail | Should -BeLike "*credential of 'AKIAWHATIF', stored *"
        (Get-StateDigest (Split-Path $store)) | Should -Be $before
        Remove-NekkCredential -Target 'whatif-bucket' -Confirm:$false | Should -BeNullOrEmpty
        Get-NekkCredential -Target 'whatif-*' | Should -BeNullOrEmpty
    }
}
