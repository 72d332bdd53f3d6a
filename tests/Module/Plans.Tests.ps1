#Requires -Version 7.4
# Plans, schedules, 3-2-1 compliance and fleet status as an admin uses them: plan files written and edited,
# Invoke-NekkBackupPlan run for real against a NAS on its own loop-mounted filesystem, compliance judged at
# other instants with -AsOf (never by sleeping), exit codes read from $LASTEXITCODE.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-NekkTestModule
    $script:work = New-NekkTestDirectory 'plans'
    $env:NEKKBACKUP_DATA = Join-Path $work 'data'

    function New-TestPlanFile([string] $Path, [string] $Body) {
        Set-Content -LiteralPath $Path -Value $Body -Encoding utf8
        $Path
    }
    function Get-Finding($Findings, [string] $Rule) { $Findings | Where-Object Rule -eq $Rule }
}

AfterAll {
    Remove-Item -Recurse -Force $script:work -ErrorAction SilentlyContinue
}

Describe 'New-NekkBackupPlan' {
    It 'writes a commented plan that PowerShell and NekkBackup read back the same' {
        $src = New-Item -ItemType Directory (Join-Path $work 'np/Sessions') -Force
        $path = Join-Path $work 'np/studio.psd1'
        $plan = New-NekkBackupPlan -Path $path -Source $src.FullName -NasDestination (Join-Path $work 'np/nas') -ImageSource '/dev/sdz9' `
            -ImageRepository (Join-Path $work 'np/ghost') -Bucket 'offsite' -Endpoint 'http://127.0.0.1:4568' -Prefix 'nekk' `
            -Retention @{ KeepLast = 5; Daily = 7 } -DawPolicy Throttle -Schedules @{ Cloud = @{ At = '23:15' } }
        $plan.PSObject.TypeNames[0] | Should -Be 'NekkBackup.BackupPlan'
        $plan.Name | Should -Be 'studio'
        $plan.Legs | Should -Be @('Folder', 'Image', 'Cloud', 'Drill')
        $plan.CloudSchedule.ToString() | Should -Be 'daily 23:15'
        $text = Get-Content -Raw $path
        $text | Should -Match '# No secret ever goes in this file'
        $data = Import-PowerShellDataFile $path
        $data.SchemaVersion | Should -Be 1
        $data.Cloud.Bucket | Should -Be 'offsite'
        $data.Retention.Daily | Should -Be 7
        $data.Daw.Policy | Should -Be 'Throttle'
        $data.Image.Mode | Should -Be 'UsedBlocks'
        $plan.ImageMode | Should -Be 'UsedBlocks'
        $all = New-NekkBackupPlan -Path (Join-Path $work 'np/all.psd1') -Source $src.FullName -NasDestination (Join-Path $work 'np/nas') `
            -ImageSource '/dev/sdz9' -ImageRepository (Join-Path $work 'np/ghost') -ImageMode AllBlocks -ImageChangeDetection Contents
        $all.ImageMode | Should -Be 'AllBlocks'
        $all.ImageChangeDetection | Should -Be 'Contents'
        (Import-PowerShellDataFile (Join-Path $work 'np/all.psd1')).Image.Mode | Should -Be 'AllBlocks'
        (Import-PowerShellDataFile (Join-Path $work 'np/all.psd1')).Image.ChangeDetection | Should -Be 'Contents'
        $plan.ImageChangeDetection | Should -Be 'FileSystem'
    }

    It '-CloudRetention and -Drill go into the plan file and read back the same; without them the file shows them commented' {
        $src = New-Item -ItemType Directory (Join-Path $work 'npd/Sessions') -Force
        $path = Join-Path $work 'npd/drill.psd1'
        $plan = New-NekkBackupPlan -Path $path -Source $src.FullName -NasDestination (Join-Path $work 'npd/nas') -Bucket 'offsite' `
            -Endpoint 'http://127.0.0.1:4568' -CloudRetention @{ KeepLast = 3; Weekly = 4 } `
            -Drill @{ Cloud = 'Full'; Seed = 7; Scratch = (Join-Path $work 'npd/scratch'); ThawTier = 'Bulk' } -DawProcess @()
        $data = Import-PowerShellDataFile $path
        $data.CloudRetention.KeepLast | Should -Be 3
        $data.CloudRetention.Weekly | Should -Be 4
        $data.Drill.Cloud | Should -Be 'Full'
        $data.Drill.Seed | Should -Be 7
        $data.Drill.ThawTier | Should -Be 'Bulk'
        $data.Drill.Scratch | Should -Be (Join-Path $work 'npd/scratch')
        # What the cmdlet returns is the written file loaded back by the plan reader.
        $plan.CloudRetention.KeepLast | Should -Be 3
        $plan.Drill.Full | Should -BeTrue
        $plan.Drill.Seed | Should -Be 7
        $plain = Join-Path $work 'npd/plain.psd1'
        $null = New-NekkBackupPlan -Path $plain -Source $src.FullName -NasDestination (Join-Path $work 'npd/nas') -Bucket 'offsite' -DawProcess @()
        $text = Get-Content -Raw $plain
        $text | Should -Match '# CloudRetention = @\{'
        $text | Should -Match '# Drill         = @\{'
        { New-NekkBackupPlan -Path (Join-Path $work 'npd/bad.psd1') -Source $src.FullName -NasDestination (Join-Path $work 'npd/nas') `
            -CloudRetention @{ KeepLast = 3 } -DawProcess @() -ErrorAction Stop } | Should -Throw -ErrorId 'NekkBackup.InvalidPlan*'
    }

    It '-Exclude/-Include go into the plan, and its Folder job leaves the excluded files out (issue 13 item 12)' {
        $root = New-Item -ItemType Directory (Join-Path $work 'npx') -Force
        $src = New-Item -ItemType Directory (Join-Path $root 'Sessions') -Force
        foreach ($f in 'Song/take1.wav', 'Song/take1.wav.tmp', 'Song/Render Cache/mix.peak', 'Render Cache/a.bin', 'Song/notes.txt', 'scratch.tmp') {
            $p = Join-Path $src $f
            New-Item -ItemType Directory (Split-Path $p) -Force | Out-Null
            Set-Content -LiteralPath $p "content of $f"
        }
        $path = Join-Path $root 'excl.psd1'
        $nas = Join-Path $root 'nas'
        $plan = New-NekkBackupPlan -Path $path -Source $src.FullName -NasDestination $nas -Exclude '*.tmp', 'Render Cache' -DawProcess @()
        $plan.Exclude | Should -Be @('*.tmp', 'Render Cache')
        $data = Import-PowerShellDataFile $path
        $data.Folder.Exclude | Should -Be @('*.tmp', 'Render Cache')
        $r = Invoke-NekkBackupPlan -Path $path -Job Folder
        $LASTEXITCODE | Should -Be 0 -Because $r.Reason
        # What the destination holds, read with plain PowerShell (the metadata folder aside).
        $mirror = Join-Path $nas 'Sessions'
        $landed = Get-ChildItem $mirror -Recurse -File -Force | ForEach-Object { [System.IO.Path]::GetRelativePath($mirror, $_.FullName) -replace '\\', '/' } | Sort-Object
        $landed | Should -Be @('Song/notes.txt', 'Song/take1.wav')
        Get-ChildItem $nas -Recurse -Force -Filter '*Render Cache*' | Should -BeNullOrEmpty

        # -Include: only the matching files are selected; -Exclude still wins.
        $ipath = Join-Path $root 'incl.psd1'
        $null = New-NekkBackupPlan -Path $ipath -Source $src.FullName -NasDestination (Join-Path $root 'nas-i') -Include '*.wav', '*.tmp' -Exclude '*.tmp' -DawProcess @()
        $null = Invoke-NekkBackupPlan -Path $ipath -Job Folder
        $LASTEXITCODE | Should -Be 0
        (Get-ChildItem (Join-Path $root 'nas-i/Sessions') -Recurse -File -Force).Name | Should -Be @('take1.wav')
    }

    It 'refuses to overwrite without -Force and writes nothing with -WhatIf' {
        $path = Join-Path $work 'np/studio.psd1'
        { New-NekkBackupPlan -Path $path -Source /srv -NasDestination /mnt/x -ErrorAction Stop } |
            Should -Throw -ErrorId 'NekkBackup.PlanExists,NekkBackup.Commands.Plans.NewNekkBackupPlanCommand'
        $other = Join-Path $work 'np/whatif.psd1'
        New-NekkBackupPlan -Path $other -Source /srv -NasDestination /mnt/x -WhatIf | Should -BeNullOrEmpty
        Test-Path $other | Should -BeFalse
    }
}

Describe 'Bad plan files' {
    BeforeAll {
        $script:bad = New-Item -ItemType Directory (Join-Path $work 'bad') -Force
        $script:good = "SchemaVersion = 1`n    Sources = @('/srv/Sessions')`n    NasDestination = '/mnt/nas/x'"
    }

    It 'fails with NekkBackup.InvalidPlan naming <Key> and sets $LASTEXITCODE 3 (<Case>)' -ForEach @(
        @{ Case = 'missing key'; Key = 'Sources'; Body = "@{ SchemaVersion = 1; NasDestination = '/mnt/nas/x' }"; Message = "key 'Sources' is missing" }
        @{ Case = 'wrong type'; Key = 'Sources'; Body = "@{ SchemaVersion = 1; Sources = 42; NasDestination = '/mnt/nas/x' }"; Message = "key 'Sources' must be a string or a list" }
        @{ Case = 'unknown leg'; Key = 'Schedules.Tape'; Body = "@{ SchemaVersion = 1; Sources = '/srv'; NasDestination = '/mnt/nas/x'; Schedules = @{ Tape = @{ At = '01:00' } } }"; Message = "unknown leg 'Tape'" }
        @{ Case = 'unknown key'; Key = 'Tape'; Body = "@{ SchemaVersion = 1; Sources = '/srv'; NasDestination = '/mnt/nas/x'; Tape = @{} }"; Message = "key 'Tape' is not a plan key" }
        @{ Case = 'a secret'; Key = 'Cloud.SecretKey'; Body = "@{ SchemaVersion = 1; Sources = '/srv'; NasDestination = '/mnt/nas/x'; Cloud = @{ Bucket = 'b'; SecretKey = 'x' } }"; Message = 'plans never hold secrets' }
        @{ Case = 'code in the file'; Key = '(code)'; Body = "@{ SchemaVersion = 1; Sources = (Get-ChildItem /); NasDestination = '/mnt/nas/x' }"; Message = 'only constant values' }
        @{ Case = 'a syntax error'; Key = '(syntax)'; Body = "@{ SchemaVersion = 1; Sources = '/srv' "; Message = 'line 1' }
    ) {
        $path = New-TestPlanFile (Join-Path $bad "$($Case -replace ' ', '-').psd1") $Body
        $global:LASTEXITCODE = 0
        $err = $null
        try { Invoke-NekkBackupPlan -Path $path -ErrorAction Stop } catch { $err = $_ }
        $err | Should -Not -BeNullOrEmpty
        $err.FullyQualifiedErrorId | Should -Be 'NekkBackup.InvalidPlan,NekkBackup.Commands.Plans.InvokeNekkBackupPlanCommand'
        $err.CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err.Exception.Message | Should -BeLike "*$Message*"
        $global:LASTEXITCODE | Should -Be 3
        { Test-NekkBackupCompliance -Path $path -ErrorAction Stop } | Should -Throw -ErrorId 'NekkBackup.InvalidPlan,NekkBackup.Commands.Plans.TestNekkBackupComplianceCommand'
    }

    It 'a plan whose Host is a path, or a FIFO in place of the plan file, is InvalidPlan at once (issue 11)' {
        $path = New-TestPlanFile (Join-Path $bad 'host-path.psd1') "@{ $good; Host = '../../../../x/pwn' }"
        $err = $null
        try { Invoke-NekkBackupPlan -Path $path -Job Folder -ErrorAction Stop } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -Be 'NekkBackup.InvalidPlan,NekkBackup.Commands.Plans.InvokeNekkBackupPlanCommand'
        $err.Exception.Message | Should -BeLike "*key 'Host'*"
        $fifo = Join-Path $bad 'fifo.psd1'
        & mkfifo $fifo
        $ps = [powershell]::Create()
        $null = $ps.AddScript("Import-Module '$(Get-NekkManifestPath)'; try { Test-NekkBackupCompliance -Path '$fifo' -ErrorAction Stop } catch { `$_.FullyQualifiedErrorId }")
        $handle = $ps.BeginInvoke()
        $done = $handle.AsyncWaitHandle.WaitOne([TimeSpan]::FromSeconds(30))
        if (-not $done) { & bash -c "exec 3>'$fifo'" }   # release the reader so the runspace can end
        $done | Should -BeTrue -Because 'a FIFO in place of the plan file must not hang the cmdlet'
        $ps.EndInvoke($handle) | Should -Be 'NekkBackup.InvalidPlan,NekkBackup.Commands.Plans.TestNekkBackupComplianceCommand'
        $ps.Dispose()
    }

    It 'a -Job the plan has no leg for is a bad argument (exit 3)' {
        $path = New-TestPlanFile (Join-Path $bad 'folder-only.psd1') "@{ $good }"
        { Invoke-NekkBackupPlan -Path $path -Job Cloud -ErrorAction Stop } | Should -Throw -ErrorId 'NekkBackup.JobNotInPlan,NekkBackup.Commands.Plans.InvokeNekkBackupPlanCommand'
        $global:LASTEXITCODE | Should -Be 3
    }

    It '-AsRmmOutput reports an unreadable plan as not compliant (exit 1), on one line' {
        $path = New-TestPlanFile (Join-Path $bad 'rmm.psd1') "@{ SchemaVersion = 1 }"
        $out = Test-NekkBackupCompliance -Path $path -AsRmmOutput
        @($out).Count | Should -Be 1
        $out | Should -BeLike 'NEKK NONCOMPLIANT plan-unreadable*'
        $global:LASTEXITCODE | Should -Be 1
    }
}

Describe 'A whole plan on this machine' {
    BeforeAll {
        $script:e2e = New-Item -ItemType Directory (Join-Path $work 'e2e') -Force
        $script:src = New-StudioData (Join-Path $e2e 'Sessions') -SizeMB 5 -Seed 11
        # The NAS is its own filesystem (another "medium" than the sources), as a real NAS share is.
        $script:fs = $null
        if (-not (Get-NekkSkipReason -Root -Tool 'mkfs.ext4')) { $script:fs = New-LoopFileSystem ext4 -SizeMB 64 }
        $script:nasRoot = if ($fs) { $fs.MountPoint } else { (New-Item -ItemType Directory (Join-Path $e2e 'nasroot')).FullName }
        $script:nas = Join-Path $nasRoot 'studio-a'
        $script:planPath = Join-Path $e2e 'studio-a.psd1'
        $null = New-NekkBackupPlan -Path $planPath -Source $src -NasDestination $nas -Name 'studio-a'
        $script:before = Test-NekkBackupCompliance -Path $planPath
        $script:run = Invoke-NekkBackupPlan -Path $planPath
        $script:runExit = $global:LASTEXITCODE
        $script:after = Test-NekkBackupCompliance -Path $planPath
    }
    AfterAll { Remove-LoopFileSystem $script:fs }

    It 'is not compliant before the first run' {
        (Get-Finding $before FolderFresh).Status | Should -Be 'Fail'
        (Get-Finding $before ThreeCopies).Status | Should -Be 'Fail'
        $before.Count | Should -Be 9
        $before[0].PSObject.TypeNames[0] | Should -Be 'NekkBackup.ComplianceFinding'
    }

    It 'runs the due jobs (folder, then the first drill) and exits 0' {
        $run.PSObject.TypeNames[0] | Should -Be 'NekkBackup.PlanRunResult'
        $run.Status | Should -Be 'Succeeded'
        $runExit | Should -Be 0
        $run.ExitCode | Should -Be 0
        $run.JobsRun | Should -Be @('Folder', 'Drill')
        ($run.Jobs | ForEach-Object { "$($_.Job)/$($_.Step)=$($_.Status)" }) | Should -Be @('Folder/Backup=Succeeded', 'Folder/Verify=Passed', 'Drill/FullVerify=Passed')
        Compare-TreeDigest (Get-TreeDigest $src) (Get-TreeDigest (Join-Path $nas 'Sessions')) | Should -BeNullOrEmpty
    }

    It 'is compliant afterwards for every rule the folder leg carries (cloud and image legs aside)' {
        if (-not $fs) { Set-ItResult -Skipped -Because 'needs root to give the NAS its own filesystem'; return }
        foreach ($rule in 'TwoMedia', 'FolderFresh', 'DrillWithin92Days', 'IntegrityCheckPassed') {
            (Get-Finding $after $rule).Status | Should -Be 'Pass' -Because ((Get-Finding $after $rule).Detail)
        }
        (Get-Finding $after OneOffsite).Detail | Should -BeLike '*no Cloud leg*'
        (Get-Finding $after FolderFresh).Evidence | Should -BeLike "*$($run.Jobs[0].LegRunId)*"
    }

    It 'goes stale again when judged a week later (-AsOf), and the RMM line says so with exit 1' {
        $later = Test-NekkBackupCompliance -Path $planPath -AsOf (Get-Date).AddDays(7)
        (Get-Finding $later FolderFresh).Status | Should -Be 'Fail'
        (Get-Finding $later FolderFresh).Detail | Should -BeLike 'stale*'
        $line = Test-NekkBackupCompliance -Path $planPath -AsOf (Get-Date).AddDays(7) -AsRmmOutput
        @($line).Count | Should -Be 1
        $line.Length | Should -BeLessOrEqual 2048
        $line | Should -BeLike 'NEKK NONCOMPLIANT host=* FolderFresh:Fail(stale*'
        $global:LASTEXITCODE | Should -Be 1
        # Judged before the run happened, the backup does not count either.
        (Get-Finding (Test-NekkBackupCompliance -Path $planPath -AsOf (Get-Date).AddDays(-1)) FolderFresh).Status | Should -Be 'Fail'
    }

    It 'runs nothing when nothing is due (exit 0) and keeps the history across legs' {
        $r = Invoke-NekkBackupPlan -Path $planPath
        $r.Status | Should -Be 'NothingDue'
        $global:LASTEXITCODE | Should -Be 0
        $h = Get-NekkBackupHistory -Path $planPath
        ($h | Select-Object -ExpandProperty Step) | Should -Be @('Backup', 'Verify', 'FullVerify')
        Test-Path (Join-Path $nas ".nekkbackup/plan-history") | Should -BeTrue
        @(Get-NekkBackupHistory -Path $planPath -Job Drill).Count | Should -Be 1
    }

    It 'refuses a second run of the same plan while one holds the lock (exit 1)' {
        $lock = Join-Path $env:NEKKBACKUP_DATA 'plans/studio-a/run.lock'
        $held = [System.IO.File]::Open($lock, 'OpenOrCreate', 'ReadWrite', 'None')
        try {
            $r = Invoke-NekkBackupPlan -Path $planPath -Job Folder -ErrorVariable ev -ErrorAction SilentlyContinue
        } finally { $held.Dispose() }
        $r.Status | Should -Be 'Refused'
        $global:LASTEXITCODE | Should -Be 1
        @($ev).Count | Should -Be 1
        "$($ev[0])" | Should -BeLike 'NEKK Refused plan=studio-a exit=1: another run*'
    }

    It 'publishes the host status next to the backups' {
        $status = Get-NekkFleetStatus -Path $nas
        @($status).Count | Should -Be 1
        $status.Plan | Should -Be 'studio-a'
        $status.LastFolder | Should -Not -BeNullOrEmpty
        $status.Stale | Should -BeFalse
    }

    It 'the Intune detection and RMM job scripts print one line and exit 1 while not compliant' {
        $env:PSModulePath = (Split-Path (Split-Path (Split-Path (Get-NekkManifestPath)))) + [System.IO.Path]::PathSeparator + $env:PSModulePath
        foreach ($script in 'intune/Detect-NekkBackupCompliance.ps1', 'rmm/Invoke-NekkRmmJob.ps1') {
            $path = Join-Path $PSScriptRoot "../../examples/$script"
            [string[]] $extra = if ($script -like 'rmm*') { @('-WhatIf') } else { @() }
            $out = Invoke-NekkPwsh -File $path -PlanPath $planPath @extra 2>&1
            $LASTEXITCODE | Should -Be 1 -Because ($out | Out-String)
            @($out | Where-Object { $_ -like 'NEKK *' }).Count | Should -Be 1 -Because ($out | Out-String)
            ($out | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] }) | Should -BeNullOrEmpty
        }
    }

    It 'the example studio plan is a valid plan' {
        $p = Join-Path $PSScriptRoot '../../examples/studio-plan.psd1'
        { Get-NekkBackupHistory -Path $p -ErrorAction Stop } | Should -Not -Throw
        $data = Import-PowerShellDataFile $p
        $data.Image.Repository | Should -Not -Be $data.NasDestination
    }

    It 'checks every destination is writable with the schedule''s credentials' {
        $checks = Test-NekkBackupPlan -Path $planPath
        ($checks | Where-Object Leg -eq 'Folder').Status | Should -Be 'Passed'
        (Get-ChildItem $nas -Force -Filter '.nekkbackup-probe-*') | Should -BeNullOrEmpty
    }
}

Describe 'Exit codes of Invoke-NekkBackupPlan' {
    It 'an unreachable NAS is exit 4 with one line on the error stream and nothing else' {
        $p = New-TestPlanFile (Join-Path $work 'unreach.psd1') "@{ SchemaVersion = 1; Sources = '$work'; NasDestination = '/nonexistent-nas-$(Get-Random)/share/studio' }"
        $out = Invoke-NekkBackupPlan -Path $p -ErrorVariable ev -ErrorAction SilentlyContinue -WarningVariable wv 6>&1
        $global:LASTEXITCODE | Should -Be 4
        @($out).Count | Should -Be 1
        $out.Status | Should -Be 'Unreachable'
        @($ev).Count | Should -Be 1
        $ev[0].FullyQualifiedErrorId | Should -BeLike 'NekkBackup.PlanUnreachable*'
        "$($ev[0])" | Should -Not -Match "`n"
        $wv | Should -BeNullOrEmpty
    }

    It 'a child PowerShell ends with the same code (exit $LASTEXITCODE)' {
        $p = New-TestPlanFile (Join-Path $work 'unreach2.psd1') "@{ SchemaVersion = 1; Sources = '$work'; NasDestination = '/nonexistent-nas-$(Get-Random)/x' }"
        Invoke-NekkPwsh -Command "Import-Module '$(Get-NekkManifestPath)'; Invoke-NekkBackupPlan -Path '$p' 2>`$null | Out-Null; exit `$LASTEXITCODE"
        $LASTEXITCODE | Should -Be 4
    }
}

Describe 'DAW awareness' {
    BeforeAll {
        $script:dawDir = New-Item -ItemType Directory (Join-Path $work 'daw') -Force
        $script:dsrc = New-StudioData (Join-Path $dawDir 'Sessions') -SizeMB 2 -Seed 5
        # A "DAW" whose executable name is longer than the 15 characters /proc/PID/comm keeps.
        $script:fake = Join-Path $dawDir 'ProToolsDaemonHelperX'
        Copy-Item /bin/sleep $fake
        & chmod 755 $fake
        $script:proc = Start-Process -FilePath $fake -ArgumentList 120 -PassThru
        $script:dplan = Join-Path $dawDir 'daw.psd1'
        $null = New-NekkBackupPlan -Path $dplan -Source $dsrc -NasDestination (Join-Path $dawDir 'nas') -DawProcess 'protoolsdaemonhelper?'
    }
    AfterAll { if ($script:proc -and -not $script:proc.HasExited) { $script:proc.Kill(); $script:proc.WaitForExit(5000) } }

    It 'defers the job while a listed DAW runs, says so, exits 0 and writes no backup' {
        $r = Invoke-NekkBackupPlan -Path $dplan -Job Folder
        $r.Status | Should -Be 'Deferred'
        $r.Deferred | Should -BeTrue
        $r.DawProcesses | Should -BeLike "ProToolsDaemonHelperX (pid $($proc.Id))"
        $r.Reason | Should -BeLike 'deferred: ProToolsDaemonHelperX*'
        $global:LASTEXITCODE | Should -Be 0
        Test-Path (Join-Path $dawDir 'nas/.nekkbackup/runs') | Should -BeFalse
        (Get-NekkBackupHistory -Path $dplan -Last 1).Status | Should -Be 'Deferred'
    }

    It 'runs throttled instead when the plan says Throttle' {
        $text = (Get-Content -Raw $dplan) -replace "Policy    = 'Defer'", "Policy    = 'Throttle'"
        Set-Content -LiteralPath $dplan -Value $text
        $r = Invoke-NekkBackupPlan -Path $dplan -Job Folder
        $r.Status | Should -Be 'Succeeded'
        $r.Throttled | Should -BeTrue
        $r.Jobs[0].Throttled | Should -BeTrue
    }

    It 'runs normally once the DAW has quit' {
        $proc.Kill(); $proc.WaitForExit(5000)
        $r = Invoke-NekkBackupPlan -Path $dplan -Job Folder
        $r.Status | Should -Be 'Succeeded'
        $r.Throttled | Should -BeFalse
    }
}

Describe 'Fleet status' {
    It 'aggregates 50 simulated hosts publishing to one NAS share' {
        $fleet = New-Item -ItemType Directory (Join-Path $work 'fleet') -Force
        $share = New-Item -ItemType Directory (Join-Path $fleet 'share') -Force
        $fsrc = New-Item -ItemType Directory (Join-Path $fleet 'Sessions') -Force
        Set-Content (Join-Path $fsrc 'take.txt') 'take'
        $hosts = 1..50 | ForEach-Object { 'studio-{0:d2}' -f $_ }
        foreach ($h in $hosts) {
            $p = New-TestPlanFile (Join-Path $fleet "$h.psd1") "@{ SchemaVersion = 1; Name = 'room'; Host = '$h'; Sources = '$($fsrc.FullName)'; NasDestination = '$(Join-Path $share.FullName $h)'; Daw = @{ Processes = @() } }"
            $null = Invoke-NekkBackupPlan -Path $p -Job Folder
            $LASTEXITCODE | Should -Be 0
        }
        # Five hosts stopped reporting three days ago.
        foreach ($h in $hosts[0..4]) {
            $f = Join-Path $share.FullName "$h/.nekkbackup/status/$h.json"
            $j = Get-Content -Raw $f | ConvertFrom-Json
            $j.generatedUtc = [datetime]::UtcNow.AddDays(-3).ToString('o')
            $j | ConvertTo-Json -Depth 5 | Set-Content $f
        }
        $all = Get-NekkFleetStatus -Path $share.FullName
        @($all).Count | Should -Be 50
        ($all.Host | Sort-Object) | Should -Be $hosts
        @($all | Where-Object Stale).Count | Should -Be 5
        ($all | Where-Object Stale).Host | Should -Be $hosts[0..4]
        @($all | Where-Object { $_.LastFolder }).Count | Should -Be 50
        @($all | Where-Object { $_.Failing -contains 'OneOffsite' }).Count | Should -Be 50
        @($all | Where-Object Compliant).Count | Should -Be 0
        @(Get-NekkFleetStatus -Path $share.FullName -Problem).Count | Should -Be 50
        $all[0].PSObject.TypeNames[0] | Should -Be 'NekkBackup.FleetHostStatus'
        $sum = Get-NekkFleetStatus -Path $share.FullName -Summary
        $sum.PSObject.TypeNames[0] | Should -Be 'NekkBackup.FleetSummary'
        "$($sum.Hosts) $($sum.Compliant) $($sum.Warning) $($sum.Failing) $($sum.Stale)" | Should -Be '50 0 0 45 5'
    }
}

Describe 'Fleet status in a bucket, as the cloud cmdlets reach it (issue 13 item 9)' {
    BeforeAll {
        Import-Module (Join-Path $PSScriptRoot 'NodeTools.psm1') -Force
        $script:fw = New-Item -ItemType Directory (Join-Path $work 'fleetb') -Force
        # Its own data folder (history, credential store): the Set-NekkCredential tests below start from an empty one.
        $script:dataBefore = $env:NEKKBACKUP_DATA
        $env:NEKKBACKUP_DATA = Join-Path $fw 'data'
        $srv = Start-NekkS3rver -DataDirectory (Join-Path $fw 's3data') -Bucket 'fleetb'
        $script:fsrv = $srv.Process
        $script:fend = "http://127.0.0.1:$($srv.Port)"
        $script:keys = [pscredential]::new('S3RVER', (ConvertTo-SecureString 'S3RVER' -AsPlainText -Force))
        $script:where = @{ Bucket = 'fleetb'; Endpoint = $fend; Prefix = 'studio'; Region = 'us-east-1' }
        # The schedule's key for the bucket, stored for the backup principal (never in a plan).
        Set-NekkCredential -Target fleetb -Credential $keys
        $src = New-Item -ItemType Directory (Join-Path $fw 'Sessions') -Force
        New-Item -ItemType Directory (Join-Path $fw 'nas') -Force | Out-Null   # the share; each host's destination comes with its first run
        New-Item -ItemType Directory (Join-Path $src 'Render Cache') -Force | Out-Null
        Set-Content (Join-Path $src 'take.wav') 'take'
        Set-Content (Join-Path $src 'take.wav.tmp') 'autosave'
        Set-Content (Join-Path $src 'Render Cache/peak.bin') 'peaks'
        # Host one: this machine, its plan written by New-NekkBackupPlan (with -Exclude), folder and cloud legs run.
        $script:planA = New-NekkBackupPlan -Path (Join-Path $fw 'room-a.psd1') -Source $src.FullName -NasDestination (Join-Path $fw 'nas/a') `
            -Bucket fleetb -Endpoint $fend -Prefix studio -Region us-east-1 -Exclude '*.tmp', 'Render Cache' -DawProcess @()
        $script:runA = Invoke-NekkBackupPlan -Path $planA.Path -Job Folder
        $script:exitA = $LASTEXITCODE
        if ($exitA -eq 0) { $script:runA = Invoke-NekkBackupPlan -Path $planA.Path -Job Cloud; $script:exitA = $LASTEXITCODE }
        # Host two: another machine's plan (its Host key), folder leg only.
        $pb = Join-Path $fw 'room-b.psd1'
        Set-Content $pb "@{ SchemaVersion = 1; Name = 'room'; Host = 'room-b'; Sources = '$($src.FullName)'; NasDestination = '$(Join-Path $fw 'nas/b')'; Cloud = @{ Bucket = 'fleetb'; Endpoint = '$fend'; Prefix = 'studio'; Region = 'us-east-1' }; Daw = @{ Processes = @() } }"
        $null = Invoke-NekkBackupPlan -Path $pb -Job Folder
        $script:exitB = $LASTEXITCODE

        # An independent S3 client (plain HTTP; s3rver takes unsigned requests) reads and writes the status objects.
        function Get-StatusObject([string] $HostName) { Invoke-RestMethod "$fend/fleetb/studio/$HostName/status.json" }
        function Set-StatusObject([string] $HostName, $Doc) {
            $null = Invoke-WebRequest -Method Put -Uri "$fend/fleetb/studio/$HostName/status.json" -ContentType 'application/json' -Body ($Doc | ConvertTo-Json -Depth 6)
        }
    }
    AfterAll {
        if ($script:fsrv) { Stop-Process -Id $script:fsrv.Id -Force -ErrorAction SilentlyContinue }
        Remove-NekkCredential -Target fleetb -Confirm:$false -ErrorAction SilentlyContinue
        $env:NEKKBACKUP_DATA = $script:dataBefore
    }

    It 'two hosts publish their status to the bucket, and the fleet view lists both with the stored key' {
        $exitA | Should -Be 0 -Because $runA.Reason
        $exitB | Should -Be 0
        $rows = @(Get-NekkFleetStatus @where -Verbose 4>&1)
        ($rows | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message | Should -Contain "Using the credential Set-NekkCredential stored for the bucket 'fleetb'."
        $rows = @($rows | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] })
        $rows.Count | Should -Be 2
        $rows.Host | Should -Be @($planA.Host, 'room-b' | Sort-Object)
        $a = $rows | Where-Object Host -eq $planA.Host
        $b = $rows | Where-Object Host -eq 'room-b'
        # Folder and cloud ran on host one, folder only on host two; neither has an image leg, so neither is compliant.
        $a.LastFolder | Should -Not -BeNullOrEmpty
        $a.LastCloud | Should -Not -BeNullOrEmpty
        $b.LastFolder | Should -Not -BeNullOrEmpty
        $b.LastCloud | Should -BeNullOrEmpty
        $b.Failing | Should -Contain 'OneOffsite'
        $a.Failing | Should -Not -Contain 'OneOffsite'
        $rows.State | Should -Be @('Failing', 'Failing')
        $a.Source | Should -Be "s3://fleetb/studio/$($planA.Host)/status.json"
        # The plan's -Exclude held for the cloud leg too: the run in the bucket has the take and nothing excluded.
        $cloud = Get-NekkCloudBackup @where -HostName $planA.Host -Credential $keys
        (Get-NekkCloudBackup @where -HostName $planA.Host -Credential $keys -RunId @($cloud)[-1].RunId).Path | Should -Be @('Sessions/take.wav')
    }

    It 'counts compliant, warning, failing and stale hosts, a host silent for three days as stale' {
        # Host two stopped reporting three days ago; two more hosts published a compliant status, one with a warning.
        $b = Get-StatusObject 'room-b'
        $b.generatedUtc = [datetime]::UtcNow.AddDays(-3).ToString('o')
        Set-StatusObject 'room-b' $b
        $ok = Get-StatusObject $planA.Host
        $ok.generatedUtc = [datetime]::UtcNow.ToString('o')
        $ok.compliant = $true
        foreach ($f in $ok.findings) { $f.status = 'Pass' }
        $ok.host = 'room-c'
        Set-StatusObject 'room-c' $ok
        $ok.host = 'room-d'
        $ok.findings[0].status = 'Warn'
        Set-StatusObject 'room-d' $ok

        $rows = Get-NekkFleetStatus @where
        ($rows | ForEach-Object { "$($_.Host)=$($_.State)" }) | Should -Be (@("$($planA.Host)=Failing", 'room-b=Stale', 'room-c=Compliant', 'room-d=Warning') | Sort-Object)
        ($rows | Where-Object Host -eq 'room-b').Stale | Should -BeTrue
        $sum = Get-NekkFleetStatus @where -Summary
        $sum.PSObject.TypeNames[0] | Should -Be 'NekkBackup.FleetSummary'
        $sum.Location | Should -Be 's3://fleetb/studio'
        "hosts=$($sum.Hosts) compliant=$($sum.Compliant) warning=$($sum.Warning) failing=$($sum.Failing) stale=$($sum.Stale)" |
            Should -Be 'hosts=4 compliant=1 warning=1 failing=1 stale=1'
        $sum.Attention | Should -Be (@($planA.Host, 'room-b', 'room-d') | Sort-Object)
        (Get-NekkFleetStatus @where -Problem).Host | Should -Be (@($planA.Host, 'room-b') | Sort-Object)
        $text = $sum | Out-String -Width 120
        $text | Should -Match 's3://fleetb/studio\s+4\s+1\s+1\s+1\s+1'
    }

    It 'takes -Credential or -ProfileName like the cloud cmdlets once no key is stored, never both' {
        Remove-NekkCredential -Target fleetb -Confirm:$false
        @(Get-NekkFleetStatus @where -Credential $keys).Count | Should -Be 4
        $aws = Join-Path $fw 'aws-credentials'
        Set-Content $aws "[studio-fleet]`naws_access_key_id = S3RVER`naws_secret_access_key = S3RVER"
        # The AWS SDK reads AWS_SHARED_CREDENTIALS_FILE once per process: a child PowerShell, as a scheduled script would run.
        $old = $env:AWS_SHARED_CREDENTIALS_FILE
        $env:AWS_SHARED_CREDENTIALS_FILE = $aws
        try {
            $out = Invoke-NekkPwsh -Command ("Import-Module '$(Get-NekkManifestPath)'; `$w = @{ Bucket = 'fleetb'; Endpoint = '$fend'; Prefix = 'studio' }; " +
                "'HOSTS ' + @(Get-NekkFleetStatus @w -ProfileName studio-fleet).Count; " +
                "try { Get-NekkFleetStatus @w -ProfileName no-such-profile -ErrorAction Stop } catch { 'ID ' + `$_.FullyQualifiedErrorId }") 2>&1 | ForEach-Object { "$_" }
        }
        finally { $env:AWS_SHARED_CREDENTIALS_FILE = $old }
        $out | Should -Contain 'HOSTS 4'
        $out | Should -Contain 'ID NekkBackup.CloudProfileNotFound,NekkBackup.Commands.Plans.GetNekkFleetStatusCommand'
        { Get-NekkFleetStatus @where -Credential $keys -ProfileName studio-fleet -ErrorAction Stop } |
            Should -Throw -ErrorId 'NekkBackup.ConflictingCredential,NekkBackup.Commands.Plans.GetNekkFleetStatusCommand'
        # A key the server does not know is refused and said so, not an empty fleet.
        $wrong = [pscredential]::new('AKIANOTAKEY', (ConvertTo-SecureString 'S3RVER' -AsPlainText -Force))
        { Get-NekkFleetStatus @where -Credential $wrong -ErrorAction Stop } | Should -Throw -ErrorId 'NekkBackup.CloudAccessDenied,NekkBackup.Commands.Plans.GetNekkFleetStatusCommand'
    }
}

Describe 'Register-NekkBackupPlan / Unregister-NekkBackupPlan' {
    BeforeAll {
        $script:rdir = New-Item -ItemType Directory (Join-Path $work 'reg') -Force
        $script:rplan = Join-Path $rdir 'studio-b.psd1'
        $null = New-NekkBackupPlan -Path $rplan -Source $work -NasDestination (Join-Path $rdir 'nas') -ImageSource /dev/sdz1 -ImageRepository (Join-Path $rdir 'ghost') -Bucket offsite
    }

    It 'writes a service and a timer per leg that systemd-analyze accepts' {
        if ($why = Get-NekkSkipReason -Tool 'systemd-analyze') { Set-ItResult -Skipped -Because $why; return }
        $units = Join-Path $rdir 'units'
        $regs = Register-NekkBackupPlan -Path $rplan -Scheduler Systemd -UnitDirectory $units -PassThru
        $regs.Job | Should -Be @('Folder', 'Image', 'Cloud', 'Drill')
        ($regs | Where-Object Job -eq Folder).Native | Should -Be 'OnCalendar=Mon..Sat *-*-* 08,12,16,20:00:00'
        $files = Get-ChildItem $units
        $files.Count | Should -Be 8
        $out = & systemd-analyze verify --man=no @($files.FullName) 2>&1
        $LASTEXITCODE | Should -Be 0 -Because ($out | Out-String)
        $svc = Get-Content -Raw (Join-Path $units 'nekkbackup-studio-b-folder.service')
        $svc | Should -Match ([regex]::Escape("Invoke-NekkBackupPlan -Path '$rplan' -Job Folder; exit `$`$LASTEXITCODE"))
        Unregister-NekkBackupPlan -Path $rplan -Scheduler Systemd -UnitDirectory $units -Confirm:$false
        Get-ChildItem $units | Should -BeNullOrEmpty
    }

    It 'writes cron lines where systemd is absent, and -WhatIf writes nothing' {
        $cron = Join-Path $rdir 'cron.d'
        Register-NekkBackupPlan -Path $rplan -Scheduler Cron -UnitDirectory $cron -WhatIf
        Test-Path $cron | Should -BeFalse
        Register-NekkBackupPlan -Path $rplan -Scheduler Cron -UnitDirectory $cron | Should -BeNullOrEmpty
        $lines = Get-Content (Join-Path $cron 'nekkbackup-studio-b') | Where-Object { $_ -match ' root ' }
        $lines.Count | Should -Be 4
        $lines[0] | Should -BeLike '0 8,12,16,20 * * 1,2,3,4,5,6 root *-Job Folder*'
        $removed = Unregister-NekkBackupPlan -Path $rplan -Scheduler Cron -UnitDirectory $cron -PassThru -Confirm:$false
        @($removed).Count | Should -BeGreaterThan 0
        Test-Path (Join-Path $cron 'nekkbackup-studio-b') | Should -BeFalse
    }

    It 'the Task Scheduler is Windows-only' {
        if ($IsWindows) { Set-ItResult -Skipped -Because 'checks the Linux refusal'; return }
        { Register-NekkBackupPlan -Path $rplan -Scheduler TaskScheduler -ErrorAction Stop } |
            Should -Throw -ErrorId 'NekkBackup.NotSupportedOnPlatform,NekkBackup.Commands.Plans.RegisterNekkBackupPlanCommand'
    }
}

Describe 'Set-NekkCredential' {
    It 'stores the secret in a root-only file and never in a log' {
        if ($IsWindows) { Set-ItResult -Skipped -Because 'the Linux store is checked here'; return }
        $secret = 'S3cr3t-' + [guid]::NewGuid()
        $cred = [pscredential]::new('backup', (ConvertTo-SecureString $secret -AsPlainText -Force))
        Set-NekkCredential -Target '\\nas\backup' -Credential $cred -WhatIf
        Test-Path (Join-Path $env:NEKKBACKUP_DATA 'credentials') | Should -BeFalse
        $s = Set-NekkCredential -Target '\\NAS\backup\studio-a' -Credential $cred -PassThru -Verbose 4>&1 | Where-Object { $_ -is [psobject] -and $_.PSObject.TypeNames[0] -eq 'NekkBackup.StoredCredential' }
        $s.Target | Should -Be '\\nas\backup'
        $s.Protection | Should -Be 'File0600'
        (& stat -c '%a' $s.Path) | Should -Be '600'
        (& stat -c '%a' (Split-Path $s.Path)) | Should -Be '700'
        $logs = Join-Path $env:NEKKBACKUP_DATA 'logs'
        if (Test-Path $logs) { Get-ChildItem $logs -Recurse -File | Select-String -SimpleMatch $secret | Should -BeNullOrEmpty }
    }
}

BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-NekkTestModule
    # The image and cloud legs exist once the Ghost and cloud engines are part of the build.
    $script:hasImageLeg = [bool](Get-Command New-NekkGhostImage -ErrorAction Ignore)
    $script:hasCloudLeg = [bool](Get-Command Send-NekkCloudBackup -ErrorAction Ignore)
}

if ($hasImageLeg) {
    Describe 'A whole 3-2-1 plan: folder to a NAS, Ghost image of a loop image, cloud to s3rver (when the cloud engine is built)' {
        BeforeAll {
            $script:hasCloud = [bool](Get-Command Send-NekkCloudBackup -ErrorAction Ignore)
            $script:w3 = New-Item -ItemType Directory (Join-Path $work 'three21') -Force
            $script:src3 = New-StudioData (Join-Path $w3 'Sessions') -SizeMB 4 -Seed 21
            # Today's work: the cloud leg sends what changed within 30 days (the generator dates its files years back).
            Get-ChildItem $src3 -Recurse -File | ForEach-Object { $_.LastWriteTime = (Get-Date).AddHours(-2) }
            # A small ext4 volume image stands in for the system volume.
            $script:vol = Join-Path $w3 'system.img'
            & truncate -s 24M $vol
            & mkfs.ext4 -q -F $vol
            # Folder backups on their own filesystem; the image repository elsewhere (another volume).
            $script:fs3 = $null
            if (-not (Get-NekkSkipReason -Root -Tool 'mkfs.ext4')) { $script:fs3 = New-LoopFileSystem ext4 -SizeMB 64 }
            $nasRoot = if ($fs3) { $fs3.MountPoint } else { (New-Item -ItemType Directory (Join-Path $w3 'nas')).FullName }
            $script:nas3 = Join-Path $nasRoot 'studio-c'
            $script:repo3 = Join-Path $w3 'ghost'

            $script:s3 = $null
            if ($hasCloud) {
                $cache = Join-Path $HOME '.cache/nekkbackup-s3rver'
                $s3js = if ($env:NEKKBACKUP_S3RVER) { $env:NEKKBACKUP_S3RVER } else { Join-Path $cache 'node_modules/s3rver/bin/s3rver.js' }
                if (-not (Test-Path $s3js)) { & npm install --no-audit --no-fund --prefix $cache s3rver@3.7.1 | Out-Null }
                $l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0); $l.Start()
                $script:port3 = $l.LocalEndpoint.Port; $l.Stop()
                $script:s3dir3 = $dataDir = New-Item -ItemType Directory (Join-Path $w3 's3data')
                $script:s3 = Start-Process node -ArgumentList @('--openssl-legacy-provider', $s3js, '-d', $dataDir, '-p', $port3, '-a', '127.0.0.1', '-s', '--configure-bucket', 'fleet') -PassThru
                $deadline = (Get-Date).AddSeconds(30)
                while ($true) {
                    try { $c = [System.Net.Sockets.TcpClient]::new('127.0.0.1', $port3); $c.Dispose(); break }
                    catch { if ((Get-Date) -gt $deadline) { throw 's3rver did not start' }; Start-Sleep -Milliseconds 100 }
                }
                # The bucket's keys as the schedule will use them: stored for the backup principal, never in the plan.
                Set-NekkCredential -Target fleet -Credential ([pscredential]::new('S3RVER', (ConvertTo-SecureString 'S3RVER' -AsPlainText -Force)))
            }

            $script:plan3 = Join-Path $w3 'studio-c.psd1'
            $cloudArgs = if ($hasCloud) { @{ Bucket = 'fleet'; Endpoint = "http://127.0.0.1:$port3"; Prefix = 'nekk'; Region = 'us-east-1' } } else { @{} }
            $null = New-NekkBackupPlan -Path $plan3 -Source $src3 -NasDestination $nas3 -ImageSource $vol -ImageRepository $repo3 @cloudArgs
            $script:checks3 = Test-NekkBackupPlan -Path $plan3
            $script:before3 = Test-NekkBackupCompliance -Path $plan3
            $script:run3 = Invoke-NekkBackupPlan -Path $plan3
            $script:exit3 = $global:LASTEXITCODE
            $script:after3 = Test-NekkBackupCompliance -Path $plan3
        }
        AfterAll {
            if ($script:s3) { Stop-Process -Id $script:s3.Id -Force -ErrorAction SilentlyContinue }
            Remove-LoopFileSystem $script:fs3
        }

        It 'checks the NAS, the repository and the bucket with the stored credentials' {
            $expected = @('Folder=Passed', 'Source=Passed', 'Image=Passed') + @(if ($hasCloud) { 'Cloud=Passed' })
            ($checks3 | ForEach-Object { "$($_.Leg)=$($_.Status)" }) | Should -Be $expected
            if ($hasCloud) { ($checks3 | Where-Object Leg -eq Cloud).CredentialSource | Should -Be 'stored credential (S3RVER)' }
        }

        It 'runs folder, image, cloud and the first drill, and exits 0' {
            $exit3 | Should -Be 0 -Because ($run3.Reason)
            $run3.JobsRun | Should -Be (@('Folder', 'Image') + @(if ($hasCloud) { 'Cloud' }) + @('Drill'))
            ($run3.Jobs | ForEach-Object { "$($_.Job)/$($_.Step)=$($_.Status)" }) |
                Should -Be (@('Folder/Backup=Succeeded', 'Folder/Verify=Passed', 'Image/Capture=Succeeded') + @(if ($hasCloud) { 'Cloud/Upload=Succeeded' }) + @('Drill/FullVerify=Passed', 'Drill/ImageDrill=Passed') + @(if ($hasCloud) { 'Drill/CloudDrill=Passed' }))
            # The image is in the repository and its drill record is there for compliance to read.
            (Get-NekkGhostImage -Repository $repo3).ImageId | Should -Be ($run3.Jobs | Where-Object Step -eq Capture).LegRunId
            # The plan's weekly image reads the used blocks only (docs/plan-schema.md): the volume is an unmounted ext4 image.
            (Get-NekkGhostImage -Repository $repo3).Mode | Should -Be 'UsedBlocks'

            @(Get-ChildItem (Join-Path $repo3 'drills') -Filter *.json).Count | Should -Be 1
        }

        It 'is not compliant before and compliant after (every rule; without the cloud engine, every rule but the off-site ones)' {
            ($before3 | Where-Object Status -eq 'Fail').Rule | Should -Contain 'ImageFresh'
            if (-not $fs3) { Set-ItResult -Skipped -Because 'needs root to give the NAS its own filesystem'; return }
            $offsite = if ($hasCloud) { @() } else { @('ThreeCopies', 'OneOffsite', 'CloudFresh') }
            foreach ($f in $after3) {
                $want = if ($f.Rule -in $offsite) { 'Fail' } else { 'Pass' }
                $f.Status | Should -Be $want -Because "$($f.Rule): $($f.Detail)"
            }
            if (-not $hasCloud) { return }
            $line = Test-NekkBackupCompliance -Path $plan3 -AsRmmOutput
            $line | Should -BeLike 'NEKK COMPLIANT host=* pass=9/9'
            $global:LASTEXITCODE | Should -Be 0
        }

        It 'goes non-compliant when a leg goes stale (-AsOf on)' {
            $later = Test-NekkBackupCompliance -Path $plan3 -AsOf (Get-Date).AddDays(15)
            ($later | Where-Object Rule -eq ImageFresh).Status | Should -Be 'Fail'
            ($later | Where-Object Rule -eq ImageRepositorySeparate).Status | Should -Be 'Pass'
            if ($hasCloud) {
                ($later | Where-Object Rule -eq CloudFresh).Status | Should -Be 'Fail'
                ($later | Where-Object Rule -eq OneOffsite).Status | Should -Be 'Pass'
            }
        }

        if ($hasCloudLeg) {
            It 'the drill restored the latest cloud run from s3rver, verified every file, and recorded it beside the manifests' {
                $drill = $run3.Jobs | Where-Object Step -eq CloudDrill
                $drill.LegRunId | Should -Be ($run3.Jobs | Where-Object Step -eq Upload).LegRunId
                # A 4 MB run is smaller than the 1 GiB floor of the default sample: all of it was restored (counted from the source).
                $files = @(Get-ChildItem $src3 -Recurse -File)
                $drill.Files | Should -Be $files.Count
                $drill.Bytes | Should -Be ($files | Measure-Object Length -Sum).Sum
                # The record, read from s3rver's own files (not through the module).
                $rec = @(Get-ChildItem (Join-Path $s3dir3 'fleet/nekk') -Recurse -Filter '*._S3rver_object' | Where-Object { $_.Directory.Name -eq 'drills' })
                $rec.Count | Should -Be 1
                $doc = Get-Content -Raw $rec[0].FullName | ConvertFrom-Json
                $doc.format | Should -Be 'nekkbackup-cloud-drill/1'
                $doc.status | Should -Be 'Passed'
                $doc.runId | Should -Be $drill.LegRunId
                $doc.filesVerified | Should -Be $files.Count
                $doc.plan | Should -Be 'studio-c'
                # Nothing of the restore is left in scratch space.
                @(Get-ChildItem (Join-Path $env:NEKKBACKUP_DATA 'plans/studio-c/nekkbackup-cloud-drill') -Force).Count | Should -Be 0
            }

            It 'a corrupted object in the bucket fails the cloud drill naming the file, and compliance says so' {
                $victim = Get-ChildItem $src3 -Recurse -File | Sort-Object Length -Descending | Select-Object -First 1
                $hash = (Get-FileHash -Algorithm SHA256 $victim.FullName).Hash.ToLowerInvariant()
                $object = Get-ChildItem (Join-Path $s3dir3 'fleet/nekk') -Recurse -Filter "$hash._S3rver_object" | Select-Object -First 1
                $object | Should -Not -BeNullOrEmpty
                $good = [IO.File]::ReadAllBytes($object.FullName)
                $bad = [byte[]]$good.Clone(); $bad[[int]($bad.Length / 2)] = $bad[[int]($bad.Length / 2)] -bxor 0x5A
                try {
                    [IO.File]::WriteAllBytes($object.FullName, $bad)
                    $r = Invoke-NekkBackupPlan -Path $plan3 -Job Drill -ErrorAction SilentlyContinue
                    $global:LASTEXITCODE | Should -Be 1 -Because ($r.Jobs | Format-List Step, Status, Detail | Out-String)
                    ($r.Jobs | ForEach-Object { "$($_.Step)=$($_.Status)" }) | Should -Be @('FullVerify=Passed', 'ImageDrill=Passed', 'CloudDrill=Failed')
                    $rel = 'Sessions/' + [IO.Path]::GetRelativePath($src3, $victim.FullName).Replace('\', '/')
                    ($r.Jobs | Where-Object Step -eq CloudDrill).Detail | Should -BeLike "*'$rel'*does not match*damaged*"
                    $r.Reason | Should -BeLike "*Drill CloudDrill Failed*$rel*"
                    $c = Test-NekkBackupCompliance -Path $plan3
                    ($c | Where-Object Rule -eq IntegrityCheckPassed).Status | Should -Be 'Fail'
                    ($c | Where-Object Rule -eq IntegrityCheckPassed).Detail | Should -BeLike '*latest cloud restore drill*Failed*'
                    @(Get-ChildItem (Join-Path $env:NEKKBACKUP_DATA 'plans/studio-c/nekkbackup-cloud-drill') -Force).Count | Should -Be 0
                }
                finally { [IO.File]::WriteAllBytes($object.FullName, $good) }
            }

            It 'compliance fails the drill rule while the cloud drill is missing or stale, and passes once a drill restores the cloud copy' {
                Get-ChildItem (Join-Path $s3dir3 'fleet/nekk') -Recurse -File | Where-Object { $_.Directory.Name -eq 'drills' } | Remove-Item
                $rule = Test-NekkBackupCompliance -Path $plan3 | Where-Object Rule -eq DrillWithin92Days
                $rule.Status | Should -Be 'Fail'
                $rule.Detail | Should -BeLike '*no passed cloud restore drill*'
                $rule.Detail | Should -BeLike '*Ghost restore drill passed*'
                $null = Test-NekkBackupCompliance -Path $plan3 -AsRmmOutput
                $global:LASTEXITCODE | Should -Be 1

                $again = Invoke-NekkBackupPlan -Path $plan3 -Job Drill
                $global:LASTEXITCODE | Should -Be 0 -Because $again.Reason
                foreach ($f in Test-NekkBackupCompliance -Path $plan3) { $f.Status | Should -Be 'Pass' -Because "$($f.Rule): $($f.Detail)" }
                # 93 days on, every drill is stale — the cloud one named with the others.
                $stale = Test-NekkBackupCompliance -Path $plan3 -AsOf (Get-Date).AddDays(93) | Where-Object Rule -eq DrillWithin92Days
                $stale.Status | Should -Be 'Fail'
                $stale.Detail | Should -BeLike '*last passed cloud restore drill*days old*'
            }

            It 'publishes the host status to the bucket too, and the fleet view reads it' {
                $s = Get-NekkFleetStatus -Bucket fleet -Endpoint "http://127.0.0.1:$port3" -Prefix nekk -Region us-east-1
                @($s).Count | Should -Be 1
                $s.Plan | Should -Be 'studio-c'
                $s.LastCloud | Should -Not -BeNullOrEmpty
                $s.LastImage | Should -Not -BeNullOrEmpty
            }

            It 'aggregates 50 simulated hosts publishing to the bucket' {
                $fb = New-Item -ItemType Directory (Join-Path $w3 'fleet50') -Force
                $one = New-Item -ItemType Directory (Join-Path $fb 'Sessions') -Force
                Set-Content (Join-Path $one 'take.txt') 'take'
                $null = New-Item -ItemType Directory (Join-Path $fb 'nas') -Force
                $hosts = 1..50 | ForEach-Object { 'room-{0:d2}' -f $_ }
                foreach ($h in $hosts) {
                    $p = Join-Path $fb "$h.psd1"
                    Set-Content $p "@{ SchemaVersion = 1; Name = 'room'; Host = '$h'; Sources = '$($one.FullName)'; NasDestination = '$(Join-Path $fb "nas/$h")'; Cloud = @{ Bucket = 'fleet'; Endpoint = 'http://127.0.0.1:$port3'; Prefix = 'fleet50'; Region = 'us-east-1' }; Daw = @{ Processes = @() } }"
                    $null = Invoke-NekkBackupPlan -Path $p -Job Folder
                    $LASTEXITCODE | Should -Be 0
                }
                $all = Get-NekkFleetStatus -Bucket fleet -Endpoint "http://127.0.0.1:$port3" -Prefix fleet50 -Region us-east-1
                @($all).Count | Should -Be 50
                ($all.Host | Sort-Object) | Should -Be $hosts
                @($all | Where-Object { $_.LastFolder }).Count | Should -Be 50
                @($all | Where-Object { $_.Failing -contains 'CloudFresh' }).Count | Should -Be 50
                ($all | Select-Object -First 1).Source | Should -Be 's3://fleet/fleet50/room-01/status.json'
            }
        }
    }
}
