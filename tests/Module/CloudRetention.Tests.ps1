#Requires -Version 7.4
# Remove-NekkCloudBackup -Retention (and a plan's CloudRetention) as an admin calls it, against a real s3rver.
# Independent references: which objects must stay is computed from the source files' own SHA-256 (Get-FileHash);
# what the bucket holds is read from s3rver's own storage folder; objects are made old by back-dating the files
# s3rver serves them from (its Last-Modified is their mtime), so the product's real 24-hour rule is what is tested;
# the newest run is restored and compared with digests taken before any prune.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot 'NodeTools.psm1') -Force
    Import-NekkTestModule
    $script:work = New-NekkTestDirectory 'cloudret'
    $env:NEKKBACKUP_DATA = Join-Path $work 'data'
    $script:s3data = Join-Path $work 's3data'
    $script:s3 = Start-NekkS3rver -DataDirectory $s3data -Bucket 'ret'
    $script:common = @{
        Bucket = 'ret'; Endpoint = "http://127.0.0.1:$($s3.Port)"; Prefix = 'pester'
        Credential = [pscredential]::new('S3RVER', (ConvertTo-SecureString 'S3RVER' -AsPlainText -Force))
    }
    $script:suffix = '._S3rver_object'

    # Keys as s3rver stores them (one <key>._S3rver_object file per object), under a key prefix.
    function Get-StoredObject([string] $Under) {
        $root = Join-Path $s3data 'ret'
        $dir = Join-Path $root $Under
        if (-not (Test-Path $dir)) { return @() }
        @(Get-ChildItem $dir -Recurse -File -Filter "*$suffix" | ForEach-Object {
            $rel = $_.FullName.Substring($root.Length + 1).Replace('\', '/')
            [pscustomobject]@{ Key = $rel.Substring(0, $rel.Length - $suffix.Length); Size = $_.Length; File = $_ } } | Sort-Object Key)
    }
    function Set-ObjectAge([string] $Under, [timespan] $Age, [string[]] $Except = @()) {
        $when = [datetime]::UtcNow - $Age
        Get-StoredObject $Under | Where-Object Key -notin $Except | ForEach-Object { $_.File.LastWriteTimeUtc = $when }
    }
    function Get-DataKey($Digest) { @($Digest.Values | ForEach-Object { "$hostRoot/data/$($_.ToLowerInvariant())" } | Sort-Object -Unique) }

    # Three runs with deletions and an edit between them.
    $script:src = New-StudioData (Join-Path $work 'src/Sessions') -SizeMB 4 -Seed 21
    $d1 = Get-TreeDigest $src
    $script:run1 = Send-NekkCloudBackup -Path $src @common
    $script:hostRoot = $run1.ManifestKey -replace '/manifests/[^/]+$', ''
    $files = @(Get-ChildItem $src -Recurse -File | Sort-Object FullName)
    $files[0..2] | Remove-Item
    [System.IO.File]::WriteAllBytes($files[3].FullName, [byte[]](1..200 | ForEach-Object { $_ % 7 }))
    $d2 = Get-TreeDigest $src
    $script:run2 = Send-NekkCloudBackup -Path $src @common
    $files[4..5] | Remove-Item
    $bytes = [byte[]]::new(300KB); [System.Random]::new(9).NextBytes($bytes)
    [System.IO.File]::WriteAllBytes((Join-Path $src 'bounce-final.wav'), $bytes)
    $script:ref = Get-TreeDigest $src
    $script:run3 = Send-NekkCloudBackup -Path $src @common
    $script:allKeys = @(@(Get-DataKey $d1) + @(Get-DataKey $d2) + @(Get-DataKey $ref) | Sort-Object -Unique)
    $script:newestKeys = Get-DataKey $ref
    $script:policy = @{ KeepLast = 1 }
}

AfterAll {
    if ($script:s3) { Stop-Process -Id $s3.Process.Id -Force -ErrorAction SilentlyContinue }
    Remove-Item -Recurse -Force $script:work -ErrorAction SilentlyContinue
}

Describe 'Remove-NekkCloudBackup -Retention' {
    It 'the three runs left objects only older runs name (the premise)' {
        @(Get-StoredObject "$hostRoot/data").Key | Should -Be $allKeys
        $allKeys.Count | Should -BeGreaterThan $newestKeys.Count
        @(Get-NekkCloudBackup @common).RunId | Should -Be @($run1.RunId, $run2.RunId, $run3.RunId)
    }

    It 'keeps everything younger than 24 hours' {
        $r = Remove-NekkCloudBackup @common -Retention $policy -Confirm:$false
        $r.PSObject.TypeNames[0] | Should -Be 'NekkBackup.CloudPruneResult'
        $r.Status | Should -Be 'Succeeded'
        $r.RunsRemoved | Should -BeNullOrEmpty
        $r.ObjectsRemoved | Should -Be 0
        @($r.Held | Where-Object Kind -eq Manifest).Count | Should -Be 2
        $r.Held.Reason | Sort-Object -Unique | Should -Be 'Young'
        @(Get-StoredObject "$hostRoot/data").Key | Should -Be $allKeys
        @(Get-NekkCloudBackup @common).Count | Should -Be 3
    }

    It 'once old enough, -WhatIf lists every manifest and object and the bytes freed, and changes nothing' {
        Set-ObjectAge $hostRoot ([timespan]::FromDays(3))
        $before = Get-ChildItem (Join-Path $s3data 'ret') -Recurse -File | ForEach-Object { "$($_.FullName)|$($_.Length)|$($_.LastWriteTimeUtc.Ticks)" }
        $log = Join-Path $work 'whatif.txt'
        Start-Transcript -Path $log | Out-Null
        try { $script:preview = Remove-NekkCloudBackup @common -Retention $policy -WhatIf }
        finally { Stop-Transcript | Out-Null }
        $preview.Status | Should -Be 'WhatIf'
        $preview.RunsRemoved | Should -Be @($run1.RunId, $run2.RunId)
        $gone = @($allKeys | Where-Object { $_ -notin $newestKeys })
        @($preview.Objects.Key | Sort-Object) | Should -Be $gone
        $stored = @{}; Get-StoredObject $hostRoot | ForEach-Object { $stored[$_.Key] = $_.Size }
        $expectBytes = ($gone | ForEach-Object { $stored[$_] } | Measure-Object -Sum).Sum + $stored["$hostRoot/manifests/$($run1.RunId).json"] + $stored["$hostRoot/manifests/$($run2.RunId).json"]
        $preview.BytesFreed | Should -Be $expectBytes
        # One What-if line per manifest and per object, and the summary.
        $text = Get-Content -Raw $log
        foreach ($id in $preview.RunsRemoved) { $text | Should -Match ([regex]::Escape("$hostRoot/manifests/$id.json")) }
        foreach ($k in $gone) { $text | Should -Match ([regex]::Escape($k)) }
        $text | Should -Match "2 run manifest\(s\) and $($gone.Count) data object\(s\)"
        # Nothing changed: every file s3rver keeps is as it was (names, sizes, times), no mark, no lock.
        $after = Get-ChildItem (Join-Path $s3data 'ret') -Recurse -File | ForEach-Object { "$($_.FullName)|$($_.Length)|$($_.LastWriteTimeUtc.Ticks)" }
        $after | Should -Be $before
    }

    It 'removes exactly the objects no kept manifest references, and the runs the policy drops' {
        $r = Remove-NekkCloudBackup @common -Retention $policy -Confirm:$false
        $r.Status | Should -Be 'Succeeded'
        $r.RunsRemoved | Should -Be $preview.RunsRemoved
        $r.RunsKept | Should -Be @($run3.RunId)
        $r.ObjectsRemoved | Should -Be $preview.ObjectsRemoved
        $r.BytesFreed | Should -Be $preview.BytesFreed
        @(Get-StoredObject "$hostRoot/data").Key | Should -Be $newestKeys
        @(Get-StoredObject "$hostRoot/manifests" | Where-Object Key -like '*.json').Key | Should -Be @("$hostRoot/manifests/$($run3.RunId).json")
        Get-StoredObject "$hostRoot/locks" | Should -BeNullOrEmpty
        Test-Path (Join-Path $s3data "ret/$hostRoot/prune.json$suffix") | Should -BeFalse
        @(Get-NekkCloudBackup @common).RunId | Should -Be @($run3.RunId)
        ($r | Out-String -Width 120) | Should -Match 'Succeeded'
    }

    It 'the newest run still restores byte for byte' {
        $out = Join-Path $work 'restore-1'
        $r = Restore-NekkCloudBackup @common -Target $out
        $r.Status | Should -Be 'Succeeded'
        Compare-TreeDigest $ref (Get-TreeDigest (Join-Path $out 'Sessions')) | Should -BeNullOrEmpty
    }

    It 'keeps a young object no manifest names any more, and removes it once it is old' {
        $take = Join-Path $src 'take-overdub.wav'
        $b = [byte[]]::new(123KB); [System.Random]::new(77).NextBytes($b); [System.IO.File]::WriteAllBytes($take, $b)
        $young = "$hostRoot/data/$((Get-FileHash $take -Algorithm SHA256).Hash.ToLowerInvariant())"
        $run4 = Send-NekkCloudBackup -Path $src @common
        Remove-Item $take
        $run5 = Send-NekkCloudBackup -Path $src @common
        # Every manifest old, the overdub's object written just now.
        Set-ObjectAge $hostRoot ([timespan]::FromDays(2)) -Except $young
        $r = Remove-NekkCloudBackup @common -Retention $policy -Confirm:$false -Verbose 4>&1 | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }
        $r.RunsRemoved | Should -Be @($run3.RunId, $run4.RunId)
        $r.ObjectsRemoved | Should -Be 0
        $held = @($r.Held)
        $held.Count | Should -Be 1
        $held[0].Key | Should -Be $young
        $held[0].Reason | Should -Be 'Young'
        @(Get-StoredObject "$hostRoot/data").Key | Should -Contain $young
        Set-ObjectAge $hostRoot ([timespan]::FromDays(2))
        $r2 = Remove-NekkCloudBackup @common -Retention $policy -Confirm:$false
        @($r2.Objects.Key) | Should -Be @($young)
        @(Get-StoredObject "$hostRoot/data").Key | Should -Be $newestKeys
        $out = Join-Path $work 'restore-2'
        (Restore-NekkCloudBackup @common -Target $out).Status | Should -Be 'Succeeded'
        Compare-TreeDigest $ref (Get-TreeDigest (Join-Path $out 'Sessions')) | Should -BeNullOrEmpty
    }

    It 'refuses a policy that keeps nothing, before touching the bucket' {
        { Remove-NekkCloudBackup @common -Retention @{ KeepLast = 0 } -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'NekkBackup.InvalidRetention,NekkBackup.Commands.Cloud.RemoveNekkCloudBackupCommand'
        { Remove-NekkCloudBackup @common -Retention @{ Yearly = 1 } -Confirm:$false -ErrorAction Stop } |
            Should -Throw -ErrorId 'NekkBackup.InvalidRetention,NekkBackup.Commands.Cloud.RemoveNekkCloudBackupCommand'
    }

    It 'refuses to prune while an upload holds the bucket lock, and deletes nothing' {
        $b = [byte[]]::new(6MB); [System.Random]::new(5).NextBytes($b); [System.IO.File]::WriteAllBytes((Join-Path $src 'long-take.wav'), $b)
        Set-ObjectAge $hostRoot ([timespan]::FromDays(2))
        # A real upload, capped at 1 MB/s, holds the lock shared while it runs.
        $job = Start-ThreadJob -ArgumentList $env:NEKK_MODULE_MANIFEST, $src, $common -ScriptBlock {
            param($manifest, $path, $c)
            Import-Module $manifest
            Send-NekkCloudBackup -Path $path @c -MaxMBps 1
        }
        try {
            $deadline = (Get-Date).AddSeconds(60)
            while (-not (Get-StoredObject "$hostRoot/locks") -and $job.State -in 'NotStarted', 'Running' -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 50 }
            $job.State | Should -Be 'Running'
            $before = @(Get-StoredObject $hostRoot | Where-Object Key -notlike '*/locks/*').Key
            { Remove-NekkCloudBackup @common -Retention $policy -Confirm:$false -ErrorAction Stop } |
                Should -Throw -ErrorId 'NekkBackup.CloudLocked,NekkBackup.Commands.Cloud.RemoveNekkCloudBackupCommand'
            @(Get-StoredObject $hostRoot | Where-Object Key -notlike '*/locks/*' | Where-Object Key -in $before).Count | Should -Be $before.Count
        }
        finally {
            $up = $job | Receive-Job -Wait -AutoRemoveJob
        }
        $up.Status | Should -Be 'Succeeded'
    }
}

Describe 'A plan''s CloudRetention' {
    It 'prunes after each upload, as its own Cloud/Retention step in the history' {
        Set-NekkCredential -Target ret -Credential $common.Credential
        $psrc = New-StudioData (Join-Path $work 'plan/Mixes') -SizeMB 2 -Seed 33
        $scratch = Join-Path $psrc 'scratch-take.wav'
        $b = [byte[]]::new(50KB); [System.Random]::new(123).NextBytes($b); [System.IO.File]::WriteAllBytes($scratch, $b)
        $nas = New-Item -ItemType Directory (Join-Path $work 'plan/nas')
        $plan = Join-Path $work 'plan/studio.psd1'
        Set-Content $plan @"
@{ SchemaVersion = 1; Name = 'ret-plan'; Sources = '$psrc'; NasDestination = '$nas'
   Cloud = @{ Bucket = 'ret'; Endpoint = '$($common.Endpoint)'; Prefix = 'plan' }
   CloudRetention = @{ KeepLast = 1; Daily = 1 } }
"@
        $r1 = Invoke-NekkBackupPlan -Path $plan -Job Cloud
        Remove-Item $scratch
        $r2 = Invoke-NekkBackupPlan -Path $plan -Job Cloud
        $r2.Status | Should -Be 'Succeeded'
        $steps = @(Get-NekkBackupHistory -Path $plan | Where-Object Job -eq Cloud)
        @($steps | ForEach-Object { "$($_.Step)=$($_.Status)" }) | Should -Be @('Upload=Succeeded', 'Retention=Succeeded', 'Upload=Succeeded', 'Retention=Succeeded')
        $steps[3].Detail | Should -Match '1 held back \(1 Young\)'
        $planCommon = @{} + $common; $planCommon.Prefix = 'plan'
        $planRoot = (@(Get-NekkCloudBackup @planCommon)[0].ManifestKey) -replace '/manifests/[^/]+$', ''
        Set-ObjectAge $planRoot ([timespan]::FromDays(2))
        $r3 = Invoke-NekkBackupPlan -Path $plan -Job Cloud
        $r3.Status | Should -Be 'Succeeded'
        $last = Get-NekkBackupHistory -Path $plan -Last 1
        $last.Step | Should -Be 'Retention'
        $last.Detail | Should -Match 'removed 2'
        $last.Files | Should -Be 1  # the scratch take's object went
        $last.Bytes | Should -BeGreaterThan 50KB
        Get-StoredObject "$planRoot/data" | Where-Object Key -like "*/$((Get-FileHash -InputStream ([System.IO.MemoryStream]::new($b)) -Algorithm SHA256).Hash.ToLowerInvariant())" | Should -BeNullOrEmpty
        @(Get-NekkCloudBackup @planCommon).Count | Should -Be 1
    }
}
