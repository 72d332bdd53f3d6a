#Requires -Version 7.4
# The module as a whole: exports, help, layout, dependency isolation.
BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:cmdlets = (Import-PowerShellDataFile (Get-NekkManifestPath)).CmdletsToExport
}
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-NekkTestModule
    $script:manifestPath = Get-NekkManifestPath
    $script:manifest = Import-PowerShellDataFile $manifestPath
    $script:moduleDir = Split-Path $manifestPath
}

Describe 'NekkBackup module' {
    It 'exports exactly the cmdlets its manifest lists, with approved verbs' {
        $exported = (Get-Module NekkBackup).ExportedCmdlets.Keys | Sort-Object
        $exported | Should -Be ($manifest.CmdletsToExport | Sort-Object)
        $approved = (Get-Verb).Verb
        foreach ($c in $exported) { ($c -split '-')[0] | Should -BeIn $approved }
        $manifest.CompatiblePSEditions | Should -Be @('Desktop', 'Core')
        $manifest.FunctionsToExport.Count | Should -Be 0
    }

    It 'has help with at least two examples for <_>' -ForEach $cmdlets {
        $help = Get-Help $_ -Full
        $help.Synopsis | Should -Not -BeNullOrEmpty
        $help.Synopsis | Should -Not -Match "^\s*$_\s"
        @($help.Examples.Example).Count | Should -BeGreaterOrEqual 2
        foreach ($p in (Get-Command $_).Parameters.Keys | Where-Object { $_ -notin [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters }) {
            ($help.Parameters.Parameter | Where-Object Name -eq $p).Description | Should -Not -BeNullOrEmpty -Because "-$p of $_ needs a description"
        }
    }

    It 'has the about_NekkBackup topic' {
        (Get-Help about_NekkBackup | Out-String) | Should -Match 'NekkBackup'
    }

    It 'does not ship System.Management.Automation and keeps dependencies isolated under dependencies/' {
        Get-ChildItem $moduleDir -Recurse -Filter 'System.Management.Automation*.dll' | Should -BeNullOrEmpty
        foreach ($edition in 'core', 'desktop') {
            Test-Path (Join-Path $moduleDir "$edition/NekkBackup.Commands.dll") | Should -BeTrue
            Test-Path (Join-Path $moduleDir "$edition/dependencies/NekkBackup.Core.dll") | Should -BeTrue
            Test-Path (Join-Path $moduleDir "$edition/dependencies/Serilog.dll") | Should -BeTrue
            Get-ChildItem (Join-Path $moduleDir $edition) -Filter 'Serilog*.dll' | Should -BeNullOrEmpty
        }
    }

    It 'loads NekkBackup.Core and Serilog into its own load context, not the default one' {
        $ctx = [System.Runtime.Loader.AssemblyLoadContext]::All | Where-Object Name -eq 'NekkBackup'
        $ctx | Should -Not -BeNullOrEmpty
        $ctx.Assemblies.GetName().Name | Should -Contain 'NekkBackup.Core'
    }

    It 'still works when another Serilog version was loaded into the session first' {
        $serilog2 = Join-Path ([System.Environment]::GetFolderPath('UserProfile')) '.nuget/packages/serilog/2.11.0/lib/netstandard2.0/Serilog.dll'
        if ($env:NUGET_PACKAGES) { $serilog2 = Join-Path $env:NUGET_PACKAGES 'serilog/2.11.0/lib/netstandard2.0/Serilog.dll' }
        Test-Path $serilog2 | Should -BeTrue -Because 'build.ps1 Test restores Serilog 2.11.0 (tests/Module/tools)'
        $dir = New-NekkTestDirectory 'iso'
        New-Item -ItemType Directory "$dir/src/Sessions" -Force | Out-Null
        Set-Content "$dir/src/Sessions/take.txt" 'take 1'
        $script = @"
`$ErrorActionPreference = 'Stop'
Add-Type -Path '$serilog2'
`$before = [Serilog.Log].Assembly.GetName().Version.ToString()
`$env:NEKKBACKUP_DATA = '$dir/data'
Import-Module '$manifestPath'
`$r = Backup-NekkFolder -Path '$dir/src/Sessions' -Destination '$dir/nas' -Snapshot None
`$ours = ([System.Runtime.Loader.AssemblyLoadContext]::All | Where-Object Name -eq 'NekkBackup').Assemblies | Where-Object { `$_.GetName().Name -eq 'Serilog' }
"`$before|`$(`$r.Status)|`$(`$ours.GetName().Version)"
"@
        $out = Invoke-NekkPwsh -Command $script 2>&1
        $line = @($out | Where-Object { "$_" -match '\|' })[-1]
        $line | Should -Match '^2\.0\.0\.0\|Succeeded\|4\.' -Because ($out | Out-String)
        Get-ChildItem "$dir/data/logs" | Should -Not -BeNullOrEmpty
        Remove-Item -Recurse -Force $dir -ErrorAction SilentlyContinue
    }

    It 'writes a run log correlated by RunId' {
        $dir = New-NekkTestDirectory 'log'
        $old = $env:NEKKBACKUP_DATA
        try {
            $env:NEKKBACKUP_DATA = "$dir/data"
            New-Item -ItemType Directory "$dir/src/Proj" -Force | Out-Null
            Set-Content "$dir/src/Proj/a.txt" 'a'
            $r = Backup-NekkFolder -Path "$dir/src/Proj" -Destination "$dir/nas" -Snapshot None
            # One folder per account (logs/<user>/nekkbackup-<date>.log, about_NekkBackup).
            $log = Get-ChildItem "$dir/data/logs/$([Environment]::UserName)" -File | Get-Content -Raw
            $log | Should -Match ([regex]::Escape($r.RunId))
        } finally {
            $env:NEKKBACKUP_DATA = $old
            Remove-Item -Recurse -Force $dir -ErrorAction SilentlyContinue
        }
    }
}
