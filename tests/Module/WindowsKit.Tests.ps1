#Requires -Version 7.4
# The Windows verification kit's logic that does not need Windows (tests/Windows/NekkWindowsCheck.psm1): command lines,
# the one-shot SYSTEM task XML, the report, and the parsing of what its checks read back. The checks themselves run
# only on Windows (tests/Windows/README.md).
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Join-Path $PSScriptRoot '../Windows/NekkWindowsCheck.psm1') -Force
}

Describe 'Windows kit: command lines' {
    It 'quotes arguments the way CommandLineToArgvW splits them (checked with .NET''s own Windows-rules splitter)' {
        $cases = @('plain', 'with space', 'C:\Program Files\NekkBackup\', 'say "hi"', 'a\\"b', '', 'trailing\\', "tab`there", '\\?\UNC\nas\backup')
        $line = ConvertTo-NekkCommandLine $cases
        # On Unix, ProcessStartInfo.Arguments is split by the same rules Windows uses (MSVCRT/CommandLineToArgvW).
        $psi = [System.Diagnostics.ProcessStartInfo]::new('/bin/sh', "-c ""for a in \""`$@\""; do printf '[%s]\n' \""`$a\""; done"" sh $line")
        $psi.RedirectStandardOutput = $true
        $p = [System.Diagnostics.Process]::Start($psi)
        $out = $p.StandardOutput.ReadToEnd(); $p.WaitForExit()
        $back = @([regex]::Matches($out, '\[([^\]]*)\]') | ForEach-Object { $_.Groups[1].Value })
        $back | Should -Be $cases
        ConvertTo-NekkCommandLine @('a b', 'c') | Should -Be '"a b" c'
        ConvertTo-NekkCommandLine @('C:\x y\') | Should -Be '"C:\x y\\"'
    }

    It 'builds -File arguments with named parameters and switches' {
        $a = New-NekkScriptArguments -ScriptPath 'C:\kit\probe one.ps1' -Parameters ([ordered]@{ PlanPath = 'C:\p.psd1'; WhatIf = $true; Quiet = $false })
        $a | Should -Be @('-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File', 'C:\kit\probe one.ps1', '-PlanPath', 'C:\p.psd1', '-WhatIf')
    }

    It 'picks the 64-bit Windows PowerShell through Sysnative from a 32-bit process, and the 32-bit one from SysWOW64' {
        Get-NekkHostPath -Kind Desktop64 -WindowsDirectory 'C:\Windows' -Is64BitProcess $false | Should -BeExactly 'C:\Windows\Sysnative\WindowsPowerShell\v1.0\powershell.exe'
        Get-NekkHostPath -Kind Desktop64 -WindowsDirectory 'C:\Windows\' | Should -BeExactly 'C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe'
        Get-NekkHostPath -Kind Desktop32 -WindowsDirectory 'C:\Windows' | Should -BeExactly 'C:\Windows\SysWOW64\WindowsPowerShell\v1.0\powershell.exe'
    }
}

Describe 'Windows kit: the one-shot SYSTEM task' {
    It 'is schema 1.2 task XML for S-1-5-18, on demand only, with the command line quoted for Windows' {
        $xml = [xml](New-NekkOneShotTaskXml -Command 'C:\Windows\SysWOW64\WindowsPowerShell\v1.0\powershell.exe' -Arguments @('-File', 'C:\Program Files\kit\probe.ps1') -WorkingDirectory 'C:\ProgramData\NekkBackupCheck')
        $ns = @{ t = 'http://schemas.microsoft.com/windows/2004/02/mit/task' }
        $xml.Task.version | Should -Be '1.2'
        (Select-Xml -Xml $xml -XPath '/t:Task/t:Principals/t:Principal/t:UserId' -Namespace $ns).Node.InnerText | Should -Be 'S-1-5-18'
        (Select-Xml -Xml $xml -XPath '//t:Triggers' -Namespace $ns) | Should -BeNullOrEmpty
        (Select-Xml -Xml $xml -XPath '//t:AllowStartOnDemand' -Namespace $ns).Node.InnerText | Should -Be 'true'
        (Select-Xml -Xml $xml -XPath '//t:MultipleInstancesPolicy' -Namespace $ns).Node.InnerText | Should -Be 'IgnoreNew'
        (Select-Xml -Xml $xml -XPath '//t:Exec/t:Command' -Namespace $ns).Node.InnerText | Should -Be 'C:\Windows\SysWOW64\WindowsPowerShell\v1.0\powershell.exe'
        (Select-Xml -Xml $xml -XPath '//t:Exec/t:Arguments' -Namespace $ns).Node.InnerText | Should -Be '-File "C:\Program Files\kit\probe.ps1"'
    }

    It 'runs a probe script that parses, with quotes in paths' {
        $text = Get-NekkSystemProbeScript -ModuleManifest "C:\o'brien\NekkBackup.psd1" -PlanPath 'C:\p.psd1' -ResultPath 'C:\r.json' -FleetPath '\\nas\backup\fleet'
        $errors = $null
        [void][System.Management.Automation.Language.Parser]::ParseInput($text, [ref]$null, [ref]$errors)
        $errors | Should -BeNullOrEmpty
        $text | Should -Match "Import-Module 'C:\\o''brien\\NekkBackup.psd1'"
    }
}

Describe 'Windows kit: judging what the checks read back' {
    It 'accepts a SYSTEM probe that reached the NAS with the stored credential, and says why otherwise' {
        $good = @{ Identity = 'S-1-5-18'; Error = ''; Rmm = 'NEKK NONCOMPLIANT host=pc plan=p pass=3/9'; Checks = @(
                @{ Leg = 'Folder'; Target = '\\nas\backup\x'; Status = 'Passed'; CredentialSource = 'stored credential (nas\backup)'; Detail = 'ok' },
                @{ Leg = 'Source'; Target = 'C:\s'; Status = 'Passed'; CredentialSource = "the account's own identity"; Detail = '' }) }
        Test-NekkSystemProbe -Json ($good | ConvertTo-Json -Depth 4) | Should -BeNullOrEmpty
        $admin = $good.Clone(); $admin.Identity = 'S-1-5-21-1-2-3-500'
        Test-NekkSystemProbe -Json ($admin | ConvertTo-Json -Depth 4) | Should -Match 'not LocalSystem'
        $machine = $good.Clone(); $machine.Checks = @(@{ Leg = 'Folder'; Target = '\\nas\backup\x'; Status = 'Passed'; CredentialSource = "the account's own identity (no stored credential for \\nas\backup)"; Detail = '' })
        Test-NekkSystemProbe -Json ($machine | ConvertTo-Json -Depth 4) | Should -Match 'not with the stored credential'
        $down = $good.Clone(); $down.Checks = @(@{ Leg = 'Folder'; Target = '\\nas\backup\x'; Status = 'Failed'; CredentialSource = 'stored credential (nas\backup)'; Detail = 'Cannot connect: ERROR_LOGON_FAILURE' })
        Test-NekkSystemProbe -Json ($down | ConvertTo-Json -Depth 4) | Should -Match 'LOGON_FAILURE'
    }

    It 'reads the module''s real -AsRmmOutput line and checks Intune''s rules on it' {
        Import-NekkTestModule
        $dir = New-NekkTestDirectory 'kit-rmm'
        New-Item -ItemType Directory "$dir/Sessions", "$dir/nas" | Out-Null
        Set-Content "$dir/plan.psd1" "@{ SchemaVersion = 1; Name = 'kit'; Sources = @('$dir/Sessions'); NasDestination = '$dir/nas/kit' }"
        $line = Test-NekkBackupCompliance -Path "$dir/plan.psd1" -AsRmmOutput
        $code = $global:LASTEXITCODE
        $parsed = ConvertFrom-NekkRmmLine $line
        $parsed.Compliant | Should -BeFalse
        $parsed.Plan | Should -Be 'kit'
        $parsed.Total | Should -BeGreaterThan $parsed.Passed
        $parsed.NotPassing.Rule | Should -Contain 'ThreeCopies'
        Test-NekkIntuneOutput -StdOut @($line) -StdErr '' -ExitCode $code | Should -BeNullOrEmpty
        Test-NekkIntuneOutput -StdOut @($line) -StdErr '' -ExitCode 0 | Should -Match 'does not match'
        Test-NekkIntuneOutput -StdOut @($line, 'extra') -StdErr '' -ExitCode $code | Should -Match 'one output line'
        Test-NekkIntuneOutput -StdOut @('NEKK NONCOMPLIANT detection-error (module not found)') -StdErr '' -ExitCode 1 | Should -Match 'failed'
        Test-NekkIntuneOutput -StdOut @($line) -StdErr 'boom' -ExitCode $code | Should -Match 'stderr'
        Remove-Item -Recurse -Force $dir
    }
}

Describe 'Windows kit: checks and the report' {
    It 'records PASS, FAIL and SKIP and writes the summary file and its JSON' {
        $r = @(
            Invoke-NekkCheck -Name 'holds' -Proves 'that it holds' -Script { 'all good' } 6>$null
            Invoke-NekkCheck -Name 'breaks' -Proves 'that it breaks' -Script { throw 'it broke' } 6>$null
            Invoke-NekkCheck -Name 'needs-x' -Proves 'x' -Script { Skip-NekkCheck 'no x here' } 6>$null
            Invoke-NekkCheck -Name 'asked-off' -Proves 'y' -Script { 'never runs' } -Skip 'asked-off' 6>$null
        )
        $r.Status | Should -Be @('PASS', 'FAIL', 'SKIP', 'SKIP')
        $r[1].Detail | Should -Be 'it broke'
        $r[2].Detail | Should -Be 'no x here'
        $path = Join-Path $TestDrive 'reports/summary.txt'
        $s = Write-NekkCheckReport -Results $r -Path $path -Environment @{ Host = 'vm1'; Edition = 'Desktop 5.1' }
        ($s.Passed, $s.Failed, $s.Skipped) | Should -Be @(1, 1, 2)
        $text = Get-Content $path
        $text[-1] | Should -Be '1 passed, 1 failed, 2 skipped'
        $text | Should -Contain 'Host: vm1'
        @($text | Where-Object { $_ -match '^(PASS|FAIL|SKIP)\s' }).Count | Should -Be 4
        ($text | Where-Object { $_ -like 'FAIL*' }) | Should -Match 'breaks .*it broke'
        $json = Get-Content -Raw "$path.json" | ConvertFrom-Json
        $json.Failed | Should -Be 1
        $json.Results.Name | Should -Be @('holds', 'breaks', 'needs-x', 'asked-off')
    }

    It 'writes the diskpart scripts for the test volume' {
        $make = New-NekkDiskpartScript -VhdPath 'C:\k\check.vhdx' -SizeMB 256 -Letter 'T:' -MountFolder 'C:\k\Media'
        $make -split "`r`n" | Should -Be @('create vdisk file="C:\k\check.vhdx" maximum=256 type=expandable', 'select vdisk file="C:\k\check.vhdx"', 'attach vdisk',
            'create partition primary', 'format fs=ntfs quick label=NEKKCHECK', 'assign letter=T', 'assign mount="C:\k\Media"')
        New-NekkDiskpartScript -VhdPath 'C:\k\check.vhdx' -Detach | Should -Be "select vdisk file=""C:\k\check.vhdx""`r`ndetach vdisk"
    }
}
