#Requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests, demonstrates, benchmarks and packages NekkBackup.
.DESCRIPTION
    Run from a fresh clone with the repository's own PowerShell:
        dotnet tool restore && dotnet pwsh ./build.ps1 Demo
        dotnet tool restore && dotnet pwsh ./build.ps1 Test
    Tasks:
      Build    ready-to-import module in out/NekkBackup/<version>/ (core/ for PowerShell 7, desktop/ for 5.1)
      Test     Package, then xunit (tests/NekkBackup.Core.Tests) and Pester (tests/Module) against out/;
               ends with one line "N passed, N failed, N skipped". With CI=true a skip other than
               Windows-only or LVM fails the run.
      Demo     Build, then a guided tour on generated studio data, each command printed (build and tour timed apart).
      Bench    Build, then bench/Invoke-Bench.ps1: every row of PRODUCT.md §5 against its anchor tool (rsync, partclone,
               dd | zstd, dd, rclone) in one run; out/bench/results.md and results.json. -Quick: small sizes.
      Package  Build, then out/NekkBackup.<version>.nupkg (what Install-PSResource installs) and out/NekkBackup-<version>.zip.
      Fuzz     Build, then the fuzzing harness over every format read back (tests/NekkBackup.Core.Tests/Fuzz):
               -Trials N per format (default 10000) with -Seed S (default: a new one, printed); report in
               out/fuzz-report.txt. The Test task runs a bounded slice of it (fixed seed, about two minutes).
    Writes only under out/.
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('Build', 'Test', 'Demo', 'Bench', 'Package', 'Fuzz')]
    [string] $Task = 'Build',

    [ValidateSet('Release', 'Debug')]
    [string] $Configuration = 'Release',

    # Test only: an xunit --filter expression and/or Pester test files to run (default: all).
    [string] $XunitFilter,
    [string[]] $PesterPath,

    # Bench only: one folder-tree size in MiB instead of the goals' 500 and 2048; -Quick: small sizes (every row in a
    # few minutes, verdicts meaningless); -Repeat: repetitions (the table gives the median and the range).
    [int] $BenchSizeMB,
    [switch] $Quick,
    [ValidateRange(1, 50)] [int] $Repeat = 1,

    # Fuzz only: trials per format, the seed (0 = a new one) and a comma-separated list of format prefixes.
    [int] $Trials = 10000,
    [int] $Seed = 0,
    [string] $Formats
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$root = $PSScriptRoot
$props = [xml](Get-Content -Raw (Join-Path $root 'Directory.Build.props'))
$version = @($props.Project.PropertyGroup | ForEach-Object { $_.ModuleVersion } | Where-Object { $_ })[0]
$outRoot = Join-Path $root 'out'
$moduleDir = Join-Path $outRoot "NekkBackup/$version"
$manifestPath = Join-Path $moduleDir 'NekkBackup.psd1'
$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'
$env:DOTNET_NOLOGO = '1'

function Invoke-Dotnet {
    & dotnet @args
    if ($LASTEXITCODE -ne 0) { throw "dotnet $($args -join ' ') failed with exit code $LASTEXITCODE" }
}

function Get-PwshCommand {
    # The PowerShell running this script (the repo's local tool, or any pwsh 7.4+).
    $proc = [System.Diagnostics.Process]::GetCurrentProcess().MainModule.FileName
    if ((Split-Path -Leaf $proc) -like 'dotnet*') {
        $pwshDll = Join-Path $PSHOME 'pwsh.dll'
        return @($proc, $pwshDll)
    }
    return @($proc)
}

function Invoke-ChildPwsh {
    param([string] $File, [string[]] $Arguments)
    $cmd = Get-PwshCommand
    $exe = $cmd[0]
    $pre = @($cmd | Select-Object -Skip 1)
    & $exe @pre -NoProfile -NonInteractive -File $File @Arguments | Out-Host
    return $LASTEXITCODE
}

# ReleaseNotes for the manifest: the newest section of CHANGELOG.md that has content (an empty "Unreleased" is skipped).
function Get-ReleaseNotes {
    $sections = [regex]::Split((Get-Content -Raw (Join-Path $root 'CHANGELOG.md')), '(?m)^## ') | Select-Object -Skip 1
    foreach ($section in $sections) {
        $heading, $body = $section -split '\r?\n', 2
        if ($body -and $body.Trim()) { return "$($heading.Trim())`n`n$($body.Trim())" }
    }
    throw 'CHANGELOG.md has no section with content for the manifest ReleaseNotes.'
}

function Invoke-Build {
    Write-Host "== Build $version ($Configuration)"
    Invoke-Dotnet build (Join-Path $root 'NekkBackup.sln') -c $Configuration --nologo -v q '-clp:ErrorsOnly'
    if (Test-Path $moduleDir) { Remove-Item $moduleDir -Recurse -Force }
    New-Item -ItemType Directory -Force -Path $moduleDir | Out-Null

    foreach ($edition in @(@{ Tfm = 'net8.0'; Dir = 'core' }, @{ Tfm = 'net472'; Dir = 'desktop' })) {
        $publish = Join-Path $outRoot "publish/$($edition.Tfm)"
        if (Test-Path $publish) { Remove-Item $publish -Recurse -Force }
        Invoke-Dotnet publish (Join-Path $root 'src/NekkBackup.Commands/NekkBackup.Commands.csproj') -c $Configuration -f $edition.Tfm -o $publish --no-build --nologo -v q
        $target = Join-Path $moduleDir $edition.Dir
        $deps = Join-Path $target 'dependencies'
        New-Item -ItemType Directory -Force -Path $deps | Out-Null
        foreach ($f in Get-ChildItem $publish -File) {
            if ($f.Name -like 'System.Management.Automation*') { throw "System.Management.Automation must not ship in the module ($($f.FullName))." }
            if ($f.Extension -ne '.dll') { continue }   # no .pdb: the module folder is what the package ships
            $dest = if ($f.BaseName -eq 'NekkBackup.Commands') { $target } else { $deps }
            Copy-Item $f.FullName $dest
        }
    }

    $manifest = (Get-Content -Raw (Join-Path $root 'module/NekkBackup.psd1')) -replace '\{\{ModuleVersion\}\}', $version
    $manifest = $manifest.Replace("'{{ReleaseNotes}}'", "'" + (Get-ReleaseNotes).Replace("'", "''") + "'")
    Set-Content -Path $manifestPath -Value $manifest -Encoding utf8
    Copy-Item (Join-Path $root 'module/NekkBackup.psm1'), (Join-Path $root 'module/NekkBackup.Types.ps1xml'), (Join-Path $root 'LICENSE') $moduleDir
    Copy-Item (Join-Path $root 'module/formats') $moduleDir -Recurse
    New-Item -ItemType Directory -Force -Path (Join-Path $moduleDir 'en-US') | Out-Null
    Copy-Item (Join-Path $root 'module/en-US/*') (Join-Path $moduleDir 'en-US')

    # Help (MAML from module/help/*.md) and the export check run in a fresh session that imports the build.
    $code = Invoke-ChildPwsh (Join-Path $root 'module/build/Build-Help.ps1') @('-ModuleManifest', $manifestPath, '-HelpSource', (Join-Path $root 'module/help'))
    if ($code -ne 0) { throw "Help generation / export check failed ($code)." }
    Write-Host "== Module ready: $moduleDir"
}

function Get-NuGetPackagesRoot {
    if ($env:NUGET_PACKAGES) { return $env:NUGET_PACKAGES }
    $line = (& dotnet nuget locals global-packages --list) -join "`n"
    if ($line -match 'global-packages:\s*(.+)') { return $Matches[1].Trim() }
    return (Join-Path $HOME '.nuget/packages')
}

function Read-XunitResults([string] $trx) {
    $r = [pscustomobject]@{ Passed = 0; Failed = 0; Skipped = 0; SkipReasons = @(); FailedNames = @() }
    if (-not (Test-Path $trx)) { return $r }
    $xml = [xml](Get-Content -Raw $trx)
    $ns = @{ t = 'http://microsoft.com/schemas/VisualStudio/TeamTest/2010' }
    foreach ($n in (Select-Xml -Xml $xml -XPath '//t:UnitTestResult' -Namespace $ns)) {
        $res = $n.Node
        switch ($res.outcome) {
            'Passed' { $r.Passed++ }
            'NotExecuted' {
                $r.Skipped++
                $msg = ''
                $m = $res.SelectSingleNode('.//*[local-name()="Message"]')
                if ($m) { $msg = $m.InnerText } else {
                    $o = $res.SelectSingleNode('.//*[local-name()="StdOut"]')
                    if ($o) { $msg = $o.InnerText }
                }
                $r.SkipReasons += [pscustomobject]@{ Test = $res.testName; Reason = $msg.Trim() }
            }
            default { $r.Failed++; $r.FailedNames += $res.testName }
        }
    }
    return $r
}

function Invoke-Test {
    Invoke-Package   # the Pester package test installs out/NekkBackup.<version>.nupkg
    $results = Join-Path $outRoot 'test-results'
    if (Test-Path $results) { Remove-Item $results -Recurse -Force }
    New-Item -ItemType Directory -Force -Path $results | Out-Null
    Invoke-Dotnet restore (Join-Path $root 'tests/Module/tools/TestTools.csproj') --nologo -v q
    # The tests' own data folder (logs, snapshot/mount state, credentials, plan locks): never the machine's, and
    # never shared with another test run on the same machine.
    $env:NEKKBACKUP_DATA = Join-Path $outRoot 'test-data'
    if (Test-Path $env:NEKKBACKUP_DATA) { Remove-Item $env:NEKKBACKUP_DATA -Recurse -Force }
    New-Item -ItemType Directory -Force -Path $env:NEKKBACKUP_DATA | Out-Null

    Write-Host '== xunit: tests/NekkBackup.Core.Tests'
    $xargs = @('test', (Join-Path $root 'tests/NekkBackup.Core.Tests/NekkBackup.Core.Tests.csproj'), '-c', $Configuration, '--no-build', '--nologo',
        '--logger', 'trx;LogFileName=core.trx', '--logger', 'console;verbosity=normal', '--results-directory', $results,
        '--blame-hang', '--blame-hang-timeout', '15m')
    if ($XunitFilter) { $xargs += @('--filter', $XunitFilter) }
    & dotnet @xargs
    $xunit = Read-XunitResults (Join-Path $results 'core.trx')

    Write-Host '== Pester: tests/Module'
    $pesterJson = Join-Path $results 'pester.json'
    $pargs = @('-ModuleManifest', $manifestPath, '-ResultFile', $pesterJson, '-PesterModule', (Join-Path (Get-NuGetPackagesRoot) 'pester/5.7.1/tools/Pester.psd1'))
    if ($PesterPath) { $pargs += @('-Path', ($PesterPath -join ',')) }
    $null = Invoke-ChildPwsh (Join-Path $root 'tests/Module/Invoke-ModuleTests.ps1') $pargs
    $pester = [pscustomobject]@{ Passed = 0; Failed = 1; Skipped = 0; SkipReasons = @(); FailedNames = @('Pester run produced no result file') }
    if (Test-Path $pesterJson) { $pester = Get-Content -Raw $pesterJson | ConvertFrom-Json }

    $passed = $xunit.Passed + $pester.Passed
    $failed = $xunit.Failed + $pester.Failed
    $skipped = $xunit.Skipped + $pester.Skipped
    $skips = @($xunit.SkipReasons) + @($pester.SkipReasons) | Where-Object { $_ }
    foreach ($s in $skips) { Write-Host "skipped: $($s.Test) — $($s.Reason)" }
    foreach ($f in @($xunit.FailedNames) + @($pester.FailedNames) | Where-Object { $_ }) { Write-Host "FAILED: $f" }
    if ($env:CI -eq 'true') {
        # Only what this machine cannot run may skip in CI: a missing install step must show up red.
        $bad = @($skips | Where-Object { $_.Reason -notmatch '^(Windows-only|LVM)\b' })
        foreach ($b in $bad) { Write-Host "FAILED (skipped in CI): $($b.Test) — $($b.Reason)" }
        $failed += $bad.Count
        $skipped -= $bad.Count
    }
    Write-Host ("xunit: {0} passed, {1} failed, {2} skipped; Pester: {3} passed, {4} failed, {5} skipped" -f
        $xunit.Passed, $xunit.Failed, $xunit.Skipped, $pester.Passed, $pester.Failed, $pester.Skipped)
    Write-Host "$passed passed, $failed failed, $skipped skipped"
    if ($failed -gt 0 -or $passed -eq 0) { exit 1 }
}

function Invoke-Demo {
    $build = Measure-Command { Invoke-Build | Out-Host }
    $demo = Measure-Command { $script:code = Invoke-ChildPwsh (Join-Path $root 'examples/Demo.ps1') @('-ModuleManifest', $manifestPath, '-WorkDirectory', (Join-Path $outRoot 'demo')) }
    Write-Host ('== Build {0:N0} s, demo {1:N0} s' -f $build.TotalSeconds, $demo.TotalSeconds)
    if ($script:code -ne 0) { throw "Demo failed ($($script:code))." }
}

function Invoke-Bench {
    Invoke-Build
    $benchArgs = @('-ModuleManifest', $manifestPath, '-OutDirectory', (Join-Path $outRoot 'bench'), '-Repeat', $Repeat)
    if ($BenchSizeMB) { $benchArgs += @('-FolderSizesMB', $BenchSizeMB) }
    if ($Quick) { $benchArgs += '-Quick' }
    $code = Invoke-ChildPwsh (Join-Path $root 'bench/Invoke-Bench.ps1') $benchArgs
    if ($code -ne 0) { throw "Bench failed ($code)." }
}

function Invoke-Package {
    Invoke-Build
    $zip = Join-Path $outRoot "NekkBackup-$version.zip"
    if (Test-Path $zip) { Remove-Item $zip }
    Compress-Archive -Path (Join-Path $outRoot 'NekkBackup') -DestinationPath $zip
    Get-ChildItem $outRoot -Filter 'NekkBackup.*.nupkg' | Remove-Item
    $code = Invoke-ChildPwsh (Join-Path $root 'module/build/New-ModulePackage.ps1') @('-ModuleDirectory', $moduleDir, '-OutputDirectory', $outRoot, '-WorkDirectory', (Join-Path $outRoot 'package'))
    $nupkg = Join-Path $outRoot "NekkBackup.$version.nupkg"
    if ($code -ne 0 -or -not (Test-Path $nupkg)) { throw "Packaging failed ($code)." }
    Write-Host ('== Package: {0} ({1:N1} MB), {2}' -f $nupkg, ((Get-Item $nupkg).Length / 1MB), $zip)
}

function Invoke-Fuzz {
    Invoke-Dotnet build (Join-Path $root 'tests/NekkBackup.Core.Tests/NekkBackup.Core.Tests.csproj') -c $Configuration --nologo -v q '-clp:ErrorsOnly'
    if ($Seed -eq 0) { $Seed = Get-Random -Minimum 1 -Maximum ([int]::MaxValue) }
    $report = Join-Path $outRoot 'fuzz-report.txt'
    New-Item -ItemType Directory -Force -Path $outRoot | Out-Null
    $env:NEKK_FUZZ_TRIALS = "$Trials"; $env:NEKK_FUZZ_SEED = "$Seed"; $env:NEKK_FUZZ_REPORT = $report; $env:NEKK_FUZZ_FORMATS = $Formats
    Write-Host "== Fuzz: $Trials trials per format, seed $Seed"
    & dotnet test (Join-Path $root 'tests/NekkBackup.Core.Tests/NekkBackup.Core.Tests.csproj') -c $Configuration --no-build --nologo `
        --filter 'FullyQualifiedName~NekkBackup.Core.Tests.Fuzz.FuzzTests' --logger 'console;verbosity=minimal'
    $code = $LASTEXITCODE
    if (Test-Path $report) { Get-Content $report | Write-Host }
    if ($code -ne 0) { throw "Fuzz found failures (seed $Seed); see $report." }
}

switch ($Task) {
    'Build' { Invoke-Build }
    'Test' { Invoke-Test }
    'Demo' { Invoke-Demo }
    'Bench' { Invoke-Bench }
    'Package' { Invoke-Package }
    'Fuzz' { Invoke-Fuzz }
}
