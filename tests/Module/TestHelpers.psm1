# Shared helpers for the Pester tests in tests/Module. They run against the BUILT module (out/).
Set-StrictMode -Version 3.0

function Import-NekkTestModule {
    $manifest = $env:NEKK_MODULE_MANIFEST
    if (-not $manifest) {
        $manifest = Get-ChildItem (Join-Path $PSScriptRoot '../../out/NekkBackup/*/NekkBackup.psd1') | Select-Object -First 1 -ExpandProperty FullName
    }
    if (-not $manifest -or -not (Test-Path $manifest)) { throw 'Build first: dotnet pwsh ./build.ps1 Build' }
    Import-Module $manifest -Force -Global
}

function Get-NekkManifestPath {
    if ($env:NEKK_MODULE_MANIFEST) { return $env:NEKK_MODULE_MANIFEST }
    return (Get-ChildItem (Join-Path $PSScriptRoot '../../out/NekkBackup/*/NekkBackup.psd1') | Select-Object -First 1 -ExpandProperty FullName)
}

function Test-NekkIsRoot {
    if ($IsWindows) { return $false }
    return ((& id -u) -eq '0')
}

<#
 Returns why a test cannot run here, or $null. Under CI=true it returns $null for root/tool needs, so
 the test runs and fails loudly when an install step is missing; only -WindowsOnly and -Lvm reasons
 (which this machine can never satisfy) are returned in CI.
#>
function Get-NekkSkipReason {
    param([switch] $Root, [string[]] $Tool = @(), [switch] $WindowsOnly, [switch] $Lvm)
    if ($WindowsOnly -and -not $IsWindows) { return 'Windows-only: needs a Windows host' }
    if ($Lvm) {
        $dm = Get-Command dmsetup -ErrorAction Ignore
        $targets = if ($dm) { (& dmsetup targets 2>$null) -join "`n" } else { '' }
        if (-not (Test-NekkIsRoot) -or $targets -notmatch 'snapshot') { return 'LVM: this kernel has no device-mapper snapshot target' }
    }
    if ($env:CI -eq 'true') { return $null }
    if ($Root -and -not (Test-NekkIsRoot)) { return 'needs root (loop devices, mount)' }
    $missing = @($Tool | Where-Object { -not (Get-Command $_ -ErrorAction Ignore) -and -not (Test-Path "/usr/sbin/$_") -and -not (Test-Path "/sbin/$_") })
    if ($missing) { return "needs $($missing -join ', ') (see .ci/run for the packages)" }
    return $null
}

# The project's sample-data generator (tests/NekkBackup.StudioGen), built with the solution into out/studiogen/.
function Get-StudioGenPath {
    $dll = Join-Path $PSScriptRoot '../../out/studiogen/studiogen.dll'
    if (-not (Test-Path $dll)) { throw 'out/studiogen/studiogen.dll is missing: build first (dotnet pwsh ./build.ps1 Build)' }
    (Resolve-Path $dll).Path
}

# Runs studiogen with the given arguments; returns its JSON summary as an object.
function Invoke-StudioGen {
    $out = & dotnet (Get-StudioGenPath) @args 2>&1
    if ($LASTEXITCODE) { throw "studiogen $($args -join ' ') failed: $out" }
    $out | ConvertFrom-Json
}

function New-NekkTestDirectory([string] $Name = 'nekk') {
    $base = if ($env:NEKK_TEST_TMP) { $env:NEKK_TEST_TMP } else { [System.IO.Path]::GetTempPath() }
    $p = Join-Path $base ("$Name-" + [guid]::NewGuid().ToString('N').Substring(0, 10))
    New-Item -ItemType Directory -Path $p -Force | Select-Object -ExpandProperty FullName
}

# A deterministic studio tree of about SizeMB MiB (same size and seed: the same bytes and times).
function New-StudioData([string] $Path, [int] $SizeMB = 10, [int] $Seed = 1) {
    $Path = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Path)
    $null = Invoke-StudioGen gen $Path $SizeMB --seed $Seed
    $Path
}

# Changes about Percent % of the files: punch-ins, appends, rewrites, deletes, new files (a new seed each time).
function Update-StudioData([string] $Path, [int] $Percent = 5, [int] $Seed = 2) {
    $null = Invoke-StudioGen mutate $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($Path) $Percent --seed $Seed
}

# relative path -> SHA-256 of every regular file (Get-FileHash: an independent reference).
function Get-TreeDigest([string] $Path) {
    $root = (Resolve-Path -LiteralPath $Path).Path.TrimEnd('/', '\')
    $map = [ordered]@{}
    Get-ChildItem -LiteralPath $root -Recurse -File -Force | Where-Object { -not $_.LinkType } | Sort-Object FullName | ForEach-Object {
        $rel = $_.FullName.Substring($root.Length + 1).Replace('\', '/')
        $map[$rel] = (Get-FileHash -LiteralPath $_.FullName -Algorithm SHA256).Hash
    }
    $map
}

function Compare-TreeDigest($Expected, $Actual) {
    $diff = [System.Collections.Generic.List[string]]::new()
    foreach ($k in $Expected.Keys) {
        if (-not $Actual.Contains($k)) { $diff.Add("missing: $k") }
        elseif ($Actual[$k] -ne $Expected[$k]) { $diff.Add("differs: $k") }
    }
    foreach ($k in $Actual.Keys) { if (-not $Expected.Contains($k)) { $diff.Add("extra: $k") } }
    , $diff.ToArray()
}

function New-LoopFileSystem([ValidateSet('ext4', 'btrfs', 'ntfs')] [string] $Kind, [int] $SizeMB = 64, [string] $MountOptions) {
    $dir = New-NekkTestDirectory "loop-$Kind"
    $img = Join-Path $dir "$Kind.img"
    $mnt = Join-Path $dir 'mnt'
    New-Item -ItemType Directory $mnt | Out-Null
    & truncate -s "${SizeMB}M" $img
    switch ($Kind) {
        'ext4' { & mkfs.ext4 -q -F $img; $o = if ($MountOptions) { "loop,$MountOptions" } else { 'loop' }; & mount -o $o $img $mnt }
        'btrfs' { & mkfs.btrfs -q -f $img | Out-Null; $o = if ($MountOptions) { "loop,$MountOptions" } else { 'loop' }; & mount -o $o $img $mnt }
        'ntfs' { & mkntfs -q -F -f $img | Out-Null; if ($MountOptions) { & ntfs-3g -o $MountOptions $img $mnt } else { & ntfs-3g $img $mnt } }
    }
    if ($LASTEXITCODE) { throw "mounting $Kind failed" }
    [pscustomobject]@{ Kind = $Kind; Image = $img; MountPoint = $mnt; Directory = $dir }
}

function Remove-LoopFileSystem($Fs) {
    if (-not $Fs) { return }
    for ($i = 0; $i -lt 20; $i++) {
        & umount $Fs.MountPoint 2>$null
        if ($LASTEXITCODE -eq 0) { break }
        if (-not ((Get-Content /proc/mounts) -match [regex]::Escape($Fs.MountPoint))) { break }
        Start-Sleep -Milliseconds 250
    }
    Remove-Item -Recurse -Force $Fs.Directory -ErrorAction SilentlyContinue
}

# The PowerShell running these tests as a command line: its executable, plus pwsh.dll under `dotnet pwsh`.
function Get-NekkPwshCommand {
    $exe = [System.Diagnostics.Process]::GetCurrentProcess().MainModule.FileName
    if ((Split-Path -Leaf $exe) -like 'dotnet*') { return @($exe, (Join-Path $PSHOME 'pwsh.dll')) }
    return @($exe)
}

# Runs a fresh child pwsh (-NoProfile -NonInteractive) with the given arguments; sets $LASTEXITCODE.
function Invoke-NekkPwsh {
    $cmd = @(Get-NekkPwshCommand)
    [string[]] $pre = @($cmd | Select-Object -Skip 1)
    & $cmd[0] @pre -NoProfile -NonInteractive @args
}

# Starts a child pwsh that imports the module and runs $Script; returns the engine's Process (kill it, not dotnet's shim).
function Start-NekkChildPwsh([string] $Script, [string] $PidFile) {
    $cmd = @(Get-NekkPwshCommand)
    $manifest = Get-NekkManifestPath
    $full = "`$PID | Set-Content -LiteralPath '$PidFile'; Import-Module '$manifest'; $Script"
    $argList = @($cmd | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-Command', $full)
    Start-Process -FilePath $cmd[0] -ArgumentList $argList -PassThru -RedirectStandardOutput "$PidFile.out" -RedirectStandardError "$PidFile.err"
}

Export-ModuleMember -Function *
