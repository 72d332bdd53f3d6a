#Requires -Version 7.4
# The repository stands alone (a user's clone has nothing beside it) and the module installs like a Gallery module.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:manifestPath = Get-NekkManifestPath
    $script:version = (Import-PowerShellDataFile $manifestPath).ModuleVersion

    # Tracked files, other than Markdown, that mention the workplace's reference folder or a machine path.
    # The needles are built by concatenation so that this file does not match them itself.
    function Find-ForbiddenMention([string] $Repository) {
        $needles = @(('../' + 'shared'), ('shared/' + 'bench'), ('NEKKBACKUP_' + 'SHARED'), ('/' + 'work/'))
        $grepArgs = @('-C', $Repository, 'grep', '-lIF') + @($needles | ForEach-Object { '-e', $_ }) + @('--', '.', ':!*.md')
        $found = @(& git @grepArgs)
        if ($LASTEXITCODE -gt 1) { throw "git grep failed in $Repository ($LASTEXITCODE)" }   # 1 = no match
        $found
    }
}

Describe 'The repository stands alone' {
    It 'has no tracked non-Markdown file that refers to a folder beside the clone or an absolute machine path' {
        # Control: the check does find a mention in a scratch repository (so an empty answer below means something).
        $control = New-NekkTestDirectory 'grep-control'
        & git init -q $control
        Set-Content (Join-Path $control 'gen.sh') ('bash ../' + 'shared/' + 'bench/gen-dataset.sh')
        Set-Content (Join-Path $control 'notes.md') ('see ../' + 'shared')
        & git -C $control add -A
        Find-ForbiddenMention $control | Should -Be @('gen.sh')
        Remove-Item -Recurse -Force $control

        Test-Path (Join-Path $repoRoot '.git') | Should -BeTrue -Because 'the check reads the tracked files of the checkout'
        Find-ForbiddenMention $repoRoot | Should -BeNullOrEmpty
    }

    It 'ships a LICENSE and release notes from CHANGELOG.md, and claims no URL it does not have' {
        $moduleDir = Split-Path $manifestPath
        Get-Content (Join-Path $moduleDir 'LICENSE') -Raw | Should -Be (Get-Content (Join-Path $repoRoot 'LICENSE') -Raw)
        Get-Content (Join-Path $repoRoot 'LICENSE') -TotalCount 1 | Should -Be 'MIT License'
        $manifest = Test-ModuleManifest $manifestPath
        $manifest.Version | Should -Be ([version]$version)
        $psData = (Import-PowerShellDataFile $manifestPath).PrivateData.PSData
        $psData.Keys | Should -Not -Contain 'ProjectUri'
        $psData.Keys | Should -Not -Contain 'LicenseUri'
        (Import-PowerShellDataFile $manifestPath).Keys | Should -Not -Contain 'HelpInfoUri'
        foreach ($tag in 'Backup', '321', 'VSS', 'S3', 'Intune', 'Studio', 'NAS', 'Snapshot', 'PSEdition_Core', 'PSEdition_Desktop') { $psData.Tags | Should -Contain $tag }
        $psData.Tags | Where-Object { $_ -match '\s' } | Should -BeNullOrEmpty
        # The newest CHANGELOG section with content, independently parsed here: its first bullet is in the notes.
        $changelog = Get-Content (Join-Path $repoRoot 'CHANGELOG.md')
        $headings = @($changelog | Select-String '^## ' | ForEach-Object LineNumber)
        $section = foreach ($i in 0..($headings.Count - 1)) {
            $end = if ($i + 1 -lt $headings.Count) { $headings[$i + 1] - 2 } else { $changelog.Count - 1 }
            $body = @($changelog[$headings[$i]..$end] | Where-Object { $_.Trim() })
            if ($body) { [pscustomobject]@{ Title = $changelog[$headings[$i] - 1].Substring(3).Trim(); FirstLine = $body[0].Trim() }; break }
        }
        $psData.ReleaseNotes | Should -Match ('^' + [regex]::Escape($section.Title))
        $psData.ReleaseNotes | Should -Match ([regex]::Escape($section.FirstLine))
    }
}

Describe 'The package' {
    BeforeAll {
        $script:nupkg = Join-Path (Split-Path (Split-Path (Split-Path $manifestPath))) "NekkBackup.$version.nupkg"
    }

    It 'is a nupkg without .pdb files that Install-PSResource installs from a local repository, and the installed module backs up' {
        Test-Path $nupkg | Should -BeTrue -Because 'build.ps1 Test runs Package first (out/NekkBackup.<version>.nupkg)'
        Add-Type -AssemblyName System.IO.Compression.FileSystem
        $zip = [System.IO.Compression.ZipFile]::OpenRead($nupkg)
        try { $entries = @($zip.Entries.FullName) } finally { $zip.Dispose() }
        $entries | Where-Object { $_ -like '*.pdb' } | Should -BeNullOrEmpty
        $entries | Should -Contain 'NekkBackup.psd1'
        $entries | Should -Contain 'LICENSE'
        $entries | Should -Contain 'core/NekkBackup.Commands.dll'
        $entries | Should -Contain 'desktop/NekkBackup.Commands.dll'

        $dir = New-NekkTestDirectory 'psresource'
        $repo = New-Item -ItemType Directory (Join-Path $dir 'repository')
        Copy-Item $nupkg $repo
        $src = New-StudioData (Join-Path $dir 'work/Sessions') -SizeMB 3 -Seed 17
        $expected = Get-TreeDigest $src
        $realRepositories = Join-Path ([Environment]::GetFolderPath('LocalApplicationData')) 'PSResourceGet/PSResourceRepository.xml'
        $realBefore = if (Test-Path $realRepositories) { (Get-FileHash $realRepositories).Hash } else { 'absent' }

        $child = @"
`$ErrorActionPreference = 'Stop'
Register-PSResourceRepository -Name local -Uri '$($repo.FullName)' -Trusted
Install-PSResource NekkBackup -Repository local -Scope CurrentUser -Quiet
Import-Module NekkBackup
`$m = Get-Module NekkBackup
`$env:NEKKBACKUP_DATA = '$dir/data'
`$run = Backup-NekkFolder -Path '$src' -Destination '$dir/nas' -Snapshot None
`$tm = Test-ModuleManifest (Join-Path `$m.ModuleBase 'NekkBackup.psd1')
[pscustomobject]@{ ModuleBase = `$m.ModuleBase; Version = "`$(`$m.Version)"; Manifest = "`$(`$tm.Name) `$(`$tm.Version)"
    Status = "`$(`$run.Status)"; Copied = `$run.FilesCopied; Pdb = @(Get-ChildItem `$m.ModuleBase -Recurse -Filter *.pdb).Count } | ConvertTo-Json -Compress
"@
        # A fresh user: HOME and XDG_* in the scratch folder, PSModulePath left for PowerShell to compute from them.
        $saved = @{}
        foreach ($name in 'HOME', 'XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'XDG_CACHE_HOME', 'PSModulePath') { $saved[$name] = [Environment]::GetEnvironmentVariable($name) }
        try {
            # The XDG defaults under the new HOME: PSResourceGet 1.2 installs CurrentUser modules under $HOME/.local/share
            # whatever XDG_DATA_HOME says, while PowerShell looks under XDG_DATA_HOME, so the two must agree.
            $home2 = Join-Path $dir 'home'
            foreach ($pair in @(('HOME', ''), ('XDG_DATA_HOME', '.local/share'), ('XDG_CONFIG_HOME', '.config'), ('XDG_CACHE_HOME', '.cache'))) {
                # They must exist: .NET answers "" for a missing special folder, and PSResourceGet then writes its
                # settings into the current directory.
                $path = (New-Item -ItemType Directory -Force (Join-Path $home2 $pair[1])).FullName
                [Environment]::SetEnvironmentVariable($pair[0], $path)
            }
            [Environment]::SetEnvironmentVariable('PSModulePath', $null)
            $out = Invoke-NekkPwsh -Command $child 2>&1
            $code = $LASTEXITCODE
        } finally {
            foreach ($name in $saved.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name]) }
        }
        $code | Should -Be 0 -Because ($out | Out-String)
        $r = @($out | Where-Object { "$_".StartsWith('{') })[-1] | ConvertFrom-Json
        $r.ModuleBase | Should -BeLike "$dir/home/*" -Because 'Import-Module NekkBackup must load the installed copy'
        $r.Version | Should -Be $version
        $r.Manifest | Should -Be "NekkBackup $version"
        $r.Pdb | Should -Be 0
        $r.Status | Should -Be 'Succeeded'
        $r.Copied | Should -Be $expected.Count
        $got = Get-TreeDigest (Join-Path $dir 'nas/Sessions')
        Compare-TreeDigest $expected $got | Should -BeNullOrEmpty
        Test-Path (Join-Path $dir 'home/.local/share/PSResourceGet/PSResourceRepository.xml') | Should -BeTrue
        $realAfter = if (Test-Path $realRepositories) { (Get-FileHash $realRepositories).Hash } else { 'absent' }
        $realAfter | Should -Be $realBefore -Because "the user's own PSResourceGet settings must not change"
        Remove-Item -Recurse -Force $dir -ErrorAction SilentlyContinue
    }
}
