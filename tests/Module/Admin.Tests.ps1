#Requires -Version 7.4
# Issue 13, as an experienced admin meets it: honest errors ($? and -ErrorAction Stop), quiet snapshots on file systems
# nothing can snapshot, failures visible in the log and the history, credentials listed and removed, and restores a
# scheduled (non-interactive) script can run. Scripts run in a child pwsh where the session kind matters.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-NekkTestModule
    $script:work = New-NekkTestDirectory 'admin'
    $env:NEKKBACKUP_DATA = Join-Path $work 'data'
    $script:manifest = Get-NekkManifestPath

    # Every line this account's run logs hold (the layout: <data>/logs/<user>/nekkbackup-<date>.log).
    function Get-RunLogLines([string] $Data = $env:NEKKBACKUP_DATA) {
        $dir = Join-Path $Data 'logs'
        if (-not (Test-Path $dir)) { return @() }
        @(Get-ChildItem $dir -Recurse -File -Filter 'nekkbackup-*' | ForEach-Object { Get-Content -LiteralPath $_.FullName })
    }

    # A small tree of compressible text files (the ransomware guard's percentage trigger needs a last run to compare with).
    function New-TextTree([string] $Path, [int] $Count = 20, [string] $Word = 'take') {
        New-Item -ItemType Directory -Force $Path | Out-Null
        1..$Count | ForEach-Object { Set-Content -LiteralPath (Join-Path $Path "take$_.txt") -Value ("$Word $_ " * 200) }
        $Path
    }

    # Runs a script file in a child pwsh (-NoProfile -NonInteractive -File) with the module imported; output and exit code.
    function Invoke-ChildScript([string] $Name, [string] $Body, [hashtable] $Environment = @{}) {
        $file = Join-Path $work "$Name.ps1"
        Set-Content -LiteralPath $file -Value ("`$ErrorActionPreference = 'Continue'`nImport-Module '$manifest'`n" + $Body) -Encoding utf8
        $saved = @{}
        foreach ($k in $Environment.Keys) { $saved[$k] = [Environment]::GetEnvironmentVariable($k); [Environment]::SetEnvironmentVariable($k, $Environment[$k]) }
        try { $out = Invoke-NekkPwsh -File $file 2>&1 | ForEach-Object { "$_" } }
        finally { foreach ($k in $saved.Keys) { [Environment]::SetEnvironmentVariable($k, $saved[$k]) } }
        [pscustomobject]@{ Output = @($out); Text = ($out -join "`n"); ExitCode = $LASTEXITCODE }
    }
}

AfterAll {
    Remove-Item -Recurse -Force $script:work -ErrorAction SilentlyContinue
}

Describe 'A refused or failed Backup-NekkFolder is an error, not only a warning (item 1)' {
    BeforeAll {
        $script:src = New-TextTree (Join-Path $work 'guard/Sessions')
        $script:nas = Join-Path $work 'guard/nas'
        $null = Backup-NekkFolder -Path $src -Destination $nas -Snapshot None
        # Every file rewritten: 100 % changed, more than the default MaxChangedPercent 30.
        New-TextTree $src -Word 'encrypted' | Out-Null
        $script:before = Get-TreeDigest $nas
    }

    It 'writes the Refused run, then one NekkBackup.BackupRefused SecurityError whose target is the run, and no warning' {
        $r = Backup-NekkFolder -Path $src -Destination $nas -Snapshot None -ErrorVariable e -ErrorAction SilentlyContinue -WarningVariable w
        $r.Status | Should -Be 'Refused'
        @($e).Count | Should -Be 1
        $e[0].FullyQualifiedErrorId | Should -Be 'NekkBackup.BackupRefused,NekkBackup.Commands.Folder.BackupNekkFolderCommand'
        $e[0].CategoryInfo.Category | Should -Be 'SecurityError'
        $e[0].TargetObject.RunId | Should -Be $r.RunId
        $e[0].Exception.Message | Should -BeLike "*nothing was written*$($r.Reason)*"
        # The guard says it once: no warning repeats the error.
        @($w).Count | Should -Be 0
        Compare-TreeDigest $before (Get-TreeDigest $nas) | Should -BeNullOrEmpty
    }

    It 'in a scheduled script: $? is false, and -ErrorAction Stop stops the script after the run object (pwsh -File)' {
        $c = Invoke-ChildScript 'refused' @"
Backup-NekkFolder -Path '$src' -Destination '$nas' -Snapshot None -ErrorAction SilentlyContinue | ForEach-Object { "STATUS `$(`$_.Status)" }
"DOLLAR `$?"
Backup-NekkFolder -Path '$src' -Destination '$nas' -Snapshot None -ErrorAction Stop | ForEach-Object { "STOPPED-AFTER `$(`$_.Status)" }
'NOT STOPPED'
"@
        $c.Output | Should -Contain 'STATUS Refused'
        $c.Output | Should -Contain 'DOLLAR False'
        $c.Output | Should -Contain 'STOPPED-AFTER Refused'
        $c.Output | Should -Not -Contain 'NOT STOPPED'
        $c.ExitCode | Should -Not -Be 0
        $c.Text | Should -Match 'NekkBackup.BackupRefused|ransomware guard'
    }

    It 'a run that fails (the NAS fills up) writes the Failed run, then its own error id with the run as its target' {
        $why = Get-NekkSkipReason -Root -Tool 'mkfs.ext4'
        if ($why) { Set-ItResult -Skipped -Because $why; return }
        $fs = New-LoopFileSystem ext4 -SizeMB 16
        $big = Join-Path $work 'full/Sessions'
        try {
            New-TextTree $big -Count 3 | Out-Null
            $dest = Join-Path $fs.MountPoint 'nas'
            $null = Backup-NekkFolder -Path $big -Destination $dest -Snapshot None
            $bytes = [byte[]]::new(24MB); [System.Random]::new(5).NextBytes($bytes)
            [System.IO.File]::WriteAllBytes((Join-Path $big 'mixdown.wav'), $bytes)
            $runs = [System.Collections.Generic.List[object]]::new()
            $err = $null
            try { Backup-NekkFolder -Path $big -Destination $dest -Snapshot None -ErrorAction Stop | ForEach-Object { $runs.Add($_) } } catch { $err = $_ }
            $runs.Count | Should -Be 1
            $runs[0].Status | Should -Be 'Failed'
            $err.FullyQualifiedErrorId | Should -Be 'NekkBackup.DestinationFull,NekkBackup.Commands.Folder.BackupNekkFolderCommand'
            $err.TargetObject.RunId | Should -Be $runs[0].RunId
            @(Get-RunLogLines | Where-Object { $_ -match "\[ERR\] $($runs[0].RunId) .*NekkBackup\.DestinationFull" }).Count | Should -Be 1
        }
        finally { Remove-LoopFileSystem $fs }
    }
}

Describe 'Misleading errors (item 7)' {
    It 'a file given as -Path says it is a file and how to back it up' {
        $src = New-TextTree (Join-Path $work 'file/Sessions') -Count 2
        $file = Join-Path $src 'take1.txt'
        $err = $null
        try { Backup-NekkFolder -Path $file -Destination (Join-Path $work 'file/nas') -ErrorAction Stop } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -Be 'NekkBackup.SourceIsFile,NekkBackup.Commands.Folder.BackupNekkFolderCommand'
        $err.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err.Exception.Message | Should -BeLike "*'$file' is a file*-Include 'take1.txt'*"
        $err.Exception.Message | Should -Not -BeLike '*does not exist*'
        Test-Path (Join-Path $work 'file/nas') | Should -BeFalse
    }
}

Describe '-Snapshot Auto on a file system nothing can snapshot is quiet; Required fails before creating anything (item 3)' {
    BeforeAll {
        $script:skip = Get-NekkSkipReason -Root -Tool 'mkfs.ext4'
        if (-not $skip) {
            $script:ext = New-LoopFileSystem ext4 -SizeMB 32
            $script:esrc = New-TextTree (Join-Path $ext.MountPoint 'Sessions') -Count 5
        }
        New-Item -ItemType Directory (Join-Path $work 'snap') -Force | Out-Null
    }
    AfterAll { Remove-LoopFileSystem $script:ext }

    It 'Auto on ext4: no warning; -Verbose and the run log say it reads live, naming ext4 (not ext2/ext3)' {
        if ($skip) { Set-ItResult -Skipped -Because $skip; return }
        $nas = Join-Path $work 'snap/nas-auto'
        $out = Backup-NekkFolder -Path $esrc -Destination $nas -Snapshot Auto -WarningVariable w -Verbose 4>&1
        $run = $out | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }
        $verbose = ($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }) -join "`n"
        $run.Status | Should -Be 'Succeeded'
        $run.SnapshotUsed | Should -BeNullOrEmpty
        @($w).Count | Should -Be 0
        $verbose | Should -Match "Reading '.*Sessions' live, without a snapshot"
        $verbose | Should -Match 'ext4 \(mounted at '
        $verbose | Should -Not -Match 'ext2/ext3'
        $logged = Get-RunLogLines | Where-Object { $_ -like "*$($run.RunId)*live, without a snapshot*" }
        @($logged).Count | Should -Be 1
        $logged | Should -Match '\[INF\].*ext4'
    }

    It 'Auto on tmpfs (no root needed) is just as quiet' {
        if (-not (Test-Path /dev/shm)) { Set-ItResult -Skipped -Because 'no /dev/shm (tmpfs) here'; return }
        $tsrc = New-TextTree (Join-Path '/dev/shm' ("nekk-admin-" + [guid]::NewGuid().ToString('N').Substring(0, 8))) -Count 3
        try {
            $out = Backup-NekkFolder -Path $tsrc -Destination (Join-Path $work 'snap/nas-tmpfs') -WarningVariable w -Verbose 4>&1
            @($w).Count | Should -Be 0
            (($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }) -join "`n") | Should -Match 'live, without a snapshot.*tmpfs'
        }
        finally { Remove-Item -Recurse -Force $tsrc -ErrorAction SilentlyContinue }
    }

    It 'Required on ext4 fails with NekkBackup.SnapshotUnsupported and creates nothing, not even the destination folder' {
        if ($skip) { Set-ItResult -Skipped -Because $skip; return }
        $nas = Join-Path $work 'snap/nas-required'
        $err = $null
        try { Backup-NekkFolder -Path $esrc -Destination $nas -Snapshot Required -ErrorAction Stop } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -Be 'NekkBackup.SnapshotUnsupported,NekkBackup.Commands.Folder.BackupNekkFolderCommand'
        $err.Exception.Message | Should -Match 'ext4'
        Test-Path $nas | Should -BeFalse
        @(Get-NekkSnapshot).Count | Should -Be 0
    }
}

Describe 'Failures are in the log and the history (item 4)' {
    It 'every failed command leaves one Error line with a RunId, its error id and reason' {
        $missing = Join-Path $work 'nowhere/at/all'
        try { Backup-NekkFolder -Path $work -Destination $missing } catch { }
        try { Get-NekkFolderBackup -Destination $missing } catch { }
        try { Restore-NekkGhostImage -Repository $missing -ImageId 'x' -Target (Join-Path $work 'x.img') } catch { }
        $errors = Get-RunLogLines | Where-Object { $_ -match '\[ERR\]' -and $_ -like "*$missing*" }
        @($errors | Where-Object { $_ -match 'Backup-NekkFolder failed: NekkBackup\.DestinationNotFound' }).Count | Should -Be 1
        @($errors | Where-Object { $_ -match 'Get-NekkFolderBackup failed: NekkBackup\.DestinationNotFound' }).Count | Should -Be 1
        @($errors | Where-Object { $_ -match 'Restore-NekkGhostImage failed: NekkBackup\.' }).Count | Should -Be 1
        foreach ($line in $errors) { $line | Should -Match '\[ERR\] \d{8}T\d{6,9}Z-[0-9a-f]+ ' }
    }

    It 'a refused run is logged at Error with its RunId and reason; a good run has one clean summary line (sizes, no null)' {
        $src = New-TextTree (Join-Path $work 'log/Sessions') -Count 10
        $nas = Join-Path $work 'log/nas'
        $good = Backup-NekkFolder -Path $src -Destination $nas -Snapshot None
        New-TextTree $src -Count 10 -Word 'noise' | Out-Null
        $refused = Backup-NekkFolder -Path $src -Destination $nas -Snapshot None -ErrorAction SilentlyContinue
        $lines = Get-RunLogLines
        $summary = @($lines | Where-Object { $_ -like "*Backup $($good.RunId) Succeeded*" })
        $summary.Count | Should -Be 1
        $summary[0] | Should -Match '\[INF\]'
        $summary[0] | Should -Match 'copied \(\d+(\.\d+)? (B|KB|MB)\)'
        $summary[0] | Should -Not -Match '\bnull\b'
        $summary[0] | Should -Not -Match "\b$($good.BytesCopied) bytes"
        $r = @($lines | Where-Object { $_ -like "*Backup $($refused.RunId) Refused*" })
        $r.Count | Should -Be 1
        $r[0] | Should -Match "\[ERR\] $($refused.RunId) Backup-NekkFolder: .*MaxChangedPercent"
        # One line per event: nothing about the refusal is logged twice.
        @($lines | Where-Object { $_ -like "*$($refused.RunId)*" -and $_ -like '*MaxChangedPercent*' }).Count | Should -Be 1
    }

    It 'an unreachable NAS (exit 4) is logged at Error and shows in Get-NekkBackupHistory (pwsh -File)' {
        $src = New-TextTree (Join-Path $work 'unreach/Sessions') -Count 2
        $plan = Join-Path $work 'unreach/studio-u.psd1'
        $null = New-NekkBackupPlan -Path $plan -Source $src -NasDestination (Join-Path $work 'unreach/offline/share/studio-u') -Name 'studio-u'
        $c = Invoke-ChildScript 'unreachable' @"
`$r = Invoke-NekkBackupPlan -Path '$plan' -ErrorAction SilentlyContinue -ErrorVariable e
"RUNID `$(`$r.RunId)"
"TARGET `$(`$e[0].TargetObject.RunId)"
exit `$LASTEXITCODE
"@
        $c.ExitCode | Should -Be 4
        $runId = ($c.Output | Where-Object { $_ -like 'RUNID *' }) -replace '^RUNID ', ''
        $runId | Should -Not -BeNullOrEmpty
        # The one-line error's target is the run result, as for Backup-NekkFolder.
        $c.Output | Should -Contain "TARGET $runId"
        # One entry per leg the run was to run (the folder backup and, on a first run, the drill).
        $h = @(Get-NekkBackupHistory -Path $plan)
        $h.Job | Should -Be @('Folder', 'Drill')
        $h | ForEach-Object {
            $_.Status | Should -Be 'Unreachable'
            $_.PlanRunId | Should -Be $runId
            $_.Detail | Should -BeLike '*not reachable*'
        }
        $err = @(Get-RunLogLines | Where-Object { $_ -like "*$runId*" -and $_ -match '\[ERR\]' })
        $err.Count | Should -Be 1
        $err[0] | Should -Match 'Unreachable \(exit 4\): .*not reachable'
    }

    It 'each account writes its own daily log file, even when NEKKBACKUP_DATA points several accounts at one folder' {
        $why = Get-NekkSkipReason -Root -Tool 'runuser'
        if ($why) { Set-ItResult -Skipped -Because $why; return }
        $shared = New-Item -ItemType Directory (Join-Path $work 'shared') -Force
        & chmod 1777 $shared.FullName
        $usrc = New-TextTree (Join-Path $work 'users/Sessions') -Count 2
        & chmod -R a+rX (Join-Path $work 'users')
        & chmod a+rx $work
        $unas = New-Item -ItemType Directory (Join-Path $work 'users/nas-nobody') -Force
        & chmod 777 $unas.FullName
        # pwsh lives under /root (0700): a bind mount lets the other account start the same PowerShell.
        $pwshDir = Join-Path $work 'pwsh-bind'
        New-Item -ItemType Directory $pwshDir | Out-Null
        & mount --bind $PSHOME $pwshDir
        try {
            $script = "Import-Module '$manifest'; (Backup-NekkFolder -Path '$usrc' -Destination '$($unas.FullName)' -Snapshot None).RunId"
            $nobodyRun = & runuser -u nobody -- env "NEKKBACKUP_DATA=$($shared.FullName)" "HOME=$($shared.FullName)" dotnet (Join-Path $pwshDir 'pwsh.dll') -NoProfile -NonInteractive -Command $script 2>&1
            $LASTEXITCODE | Should -Be 0 -Because ($nobodyRun | Out-String)
        }
        finally { & umount $pwshDir }
        $saved = $env:NEKKBACKUP_DATA
        $env:NEKKBACKUP_DATA = $shared.FullName
        try { $rootRun = (Backup-NekkFolder -Path $usrc -Destination (Join-Path $work 'users/nas-root2') -Snapshot None).RunId }
        finally { $env:NEKKBACKUP_DATA = $saved }
        $nobodyLog = @(Get-ChildItem (Join-Path $shared 'logs/nobody') -File)
        $rootLog = @(Get-ChildItem (Join-Path $shared 'logs/root') -File)
        $nobodyLog.Count | Should -Be 1
        $rootLog.Count | Should -Be 1
        (& stat -c '%U' $nobodyLog[0].FullName) | Should -Be 'nobody'
        (Get-Content -Raw $nobodyLog[0].FullName) | Should -BeLike "*$(@($nobodyRun)[-1])*"
        (Get-Content -Raw $nobodyLog[0].FullName) | Should -Not -BeLike "*$rootRun*"
        (Get-Content -Raw $rootLog[0].FullName) | Should -BeLike "*$rootRun*"
        (Get-Content -Raw $rootLog[0].FullName) | Should -Not -BeLike "*$(@($nobodyRun)[-1])*"
    }
}

Describe 'Get-NekkCredential and Remove-NekkCredential (item 10)' {
    BeforeAll {
        $script:secret = 'Secr3t-' + [guid]::NewGuid()
        $script:cdata = Join-Path $work 'creddata'
        $script:savedData = $env:NEKKBACKUP_DATA
        $env:NEKKBACKUP_DATA = $cdata
        Set-NekkCredential -Target '\\NAS\Backup\studio-a' -Credential ([pscredential]::new('nas\backup', (ConvertTo-SecureString $secret -AsPlainText -Force)))
        Set-NekkCredential -Target 'studio-offsite' -Credential ([pscredential]::new('AKIAEXAMPLE', (ConvertTo-SecureString $secret -AsPlainText -Force)))
        Set-NekkCredential -Target 'webhook:teams' -Secret (ConvertTo-SecureString 'https://example.invalid/hook' -AsPlainText -Force)
    }
    AfterAll { $env:NEKKBACKUP_DATA = $script:savedData }

    It 'lists targets, kind, user, protection and when stored, never a secret' {
        $list = @(Get-NekkCredential)
        $list.Count | Should -Be 3
        $list[0].PSObject.TypeNames[0] | Should -Be 'NekkBackup.StoredCredential'
        ($list | ForEach-Object { "$($_.Kind) $($_.Target) $($_.UserName)" } | Sort-Object) |
            Should -Be (@('Bucket studio-offsite AKIAEXAMPLE', 'Webhook webhook:teams webhook', 'Share \\nas\backup nas\backup') | Sort-Object)
        $list | ForEach-Object { $_.Protection | Should -Be 'File0600'; $_.Updated | Should -BeGreaterThan (Get-Date).AddMinutes(-5) }
        ($list | ConvertTo-Json -Depth 3) | Should -Not -Match ([regex]::Escape($secret))
        ($list | ConvertTo-Json -Depth 3) | Should -Not -Match 'example\.invalid'
        ($list | Format-Table | Out-String -Width 120) | Should -Not -Match ([regex]::Escape($secret))
    }

    It 'finds a target as Set-NekkCredential normalised it, by wildcard, and says when one is not stored' {
        (Get-NekkCredential -Target '\\nas\BACKUP\other\path').Target | Should -Be '\\nas\backup'
        @(Get-NekkCredential -Target 'webhook:*').Count | Should -Be 1
        @(Get-NekkCredential -Target 'nothing-*').Count | Should -Be 0
        Get-NekkCredential -Target 'no-such-bucket' -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e[0].FullyQualifiedErrorId | Should -Be 'NekkBackup.CredentialNotFound,NekkBackup.Commands.Plans.GetNekkCredentialCommand'
    }

    It 'Remove-NekkCredential is ConfirmImpact High, -WhatIf removes nothing, the pipeline removes what Get lists' {
        $cmd = Get-Command Remove-NekkCredential
        $cmd.ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0].ConfirmImpact | Should -Be 'High'
        Get-NekkCredential -Target 'webhook:*' | Remove-NekkCredential -WhatIf
        @(Get-NekkCredential).Count | Should -Be 3
        Get-NekkCredential -Target 'webhook:*' | Remove-NekkCredential -Confirm:$false
        @(Get-NekkCredential).Target | Should -Not -Contain 'webhook:teams'
        Remove-NekkCredential -Target '\\NAS\Backup' -Confirm:$false
        @(Get-NekkCredential).Target | Should -Be @('studio-offsite')
        Remove-NekkCredential -Target '\\nas\backup' -Confirm:$false -ErrorVariable e -ErrorAction SilentlyContinue
        $e[0].FullyQualifiedErrorId | Should -Be 'NekkBackup.CredentialNotFound,NekkBackup.Commands.Plans.RemoveNekkCredentialCommand'
    }

    It 'in a non-interactive script Remove-NekkCredential asks (and so fails) unless -Confirm:$false' {
        $c = Invoke-ChildScript 'remove-cred' @"
Remove-NekkCredential -Target studio-offsite -ErrorAction SilentlyContinue
"LEFT `$(@(Get-NekkCredential).Count)"
Remove-NekkCredential -Target studio-offsite -Confirm:`$false
"LEFT `$(@(Get-NekkCredential).Count)"
"@ -Environment @{ NEKKBACKUP_DATA = $cdata }
        $c.Output | Should -Contain 'LEFT 1'
        $c.Output | Should -Contain 'LEFT 0'
    }
}

Describe 'Restore-NekkGhostImage in a scheduled, non-interactive script (item 8)' {
    BeforeAll {
        $script:gw = New-Item -ItemType Directory (Join-Path $work 'ghost') -Force
        $script:vol = Join-Path $gw 'volume.img'
        $bytes = [byte[]]::new(4MB)
        [System.Random]::new(13).NextBytes($bytes)
        [System.IO.File]::WriteAllBytes($vol, $bytes)
        $script:volHash = (Get-FileHash $vol -Algorithm SHA256).Hash
        $script:repo = Join-Path $gw 'repo'
        $script:img = New-NekkGhostImage -Source $vol -Repository $repo -Compression None
    }

    It 'restores to a new file without asking, validates before anything else, and needs -Force or -Confirm:$false to overwrite' {
        $new = Join-Path $gw 'restored.img'
        $existing = Join-Path $gw 'existing.img'
        Set-Content -LiteralPath $existing -Value 'keep me'
        $c = Invoke-ChildScript 'ghost-restore' @"
`$r = Restore-NekkGhostImage -Repository '$repo' -ImageId '$($img.ImageId)' -Target '$new'
"NEW `$(`$r.ImageId)"
try { Restore-NekkGhostImage -Repository '$repo' -ImageId 'no-such-image' -Target '$(Join-Path $gw 'x.img')' -ErrorAction Stop } catch { "MISSING `$(`$_.FullyQualifiedErrorId)" }
try { Restore-NekkGhostImage -Repository '$repo' -ImageId '$($img.ImageId)' -Target '$existing' -ErrorAction Stop } catch { "EXISTING `$(`$_.FullyQualifiedErrorId) `$(`$_.Exception.Message)" }
"KEPT `$((Get-Content -Raw '$existing').Trim())"
`$null = Restore-NekkGhostImage -Repository '$repo' -ImageId '$($img.ImageId)' -Target '$existing' -Confirm:`$false
"CONFIRMFALSE `$((Get-FileHash '$existing' -Algorithm SHA256).Hash)"
Set-Content -LiteralPath '$existing' -Value 'again'
`$null = Restore-NekkGhostImage -Repository '$repo' -ImageId '$($img.ImageId)' -Target '$existing' -Force
"FORCE `$((Get-FileHash '$existing' -Algorithm SHA256).Hash)"
exit 0
"@
        $c.ExitCode | Should -Be 0 -Because $c.Text
        $c.Output | Should -Contain "NEW $($img.ImageId)"
        (Get-FileHash $new -Algorithm SHA256).Hash | Should -Be $volHash
        $c.Output | Should -Contain 'MISSING NekkBackup.ImageNotFound,NekkBackup.Commands.Ghost.RestoreNekkGhostImageCommand'
        ($c.Output | Where-Object { $_ -like 'EXISTING *' }) | Should -BeLike 'EXISTING NekkBackup.TargetExists,*-Force*'
        $c.Output | Should -Contain 'KEPT keep me'
        $c.Output | Should -Contain "CONFIRMFALSE $volHash"
        $c.Output | Should -Contain "FORCE $volHash"
        $c.Text | Should -Not -Match 'NonInteractive mode'
    }

    It '-WhatIf writes nothing and says whether it would overwrite' {
        $t = Join-Path $gw 'whatif.img'
        $c = Invoke-ChildScript 'ghost-whatif' "Restore-NekkGhostImage -Repository '$repo' -ImageId '$($img.ImageId)' -Target '$t' -WhatIf"
        Test-Path $t | Should -BeFalse
        $c.Text | Should -Match 'What if: .*to a new file'
    }

    It 'is not ConfirmImpact High (a new-file restore must not prompt)' {
        $cmd = Get-Command Restore-NekkGhostImage
        $cmd.ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0].ConfirmImpact | Should -Not -Be 'High'
    }
}
