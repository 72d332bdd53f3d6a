#Requires -Version 7.4
<#
.SYNOPSIS
    Packs the built module folder into <OutputDirectory>/NekkBackup.<version>.nupkg, the package the PowerShell
    Gallery receives, with PSResourceGet's own packer (Compress-PSResource, the pack step of Publish-PSResource).
.DESCRIPTION
    Runs in a fresh session whose HOME and XDG_* folders point into -WorkDirectory: PSResourceGet writes its
    settings there on first use, never into the user's. Fails if the module or the package holds a .pdb.
#>
param(
    [Parameter(Mandatory)] [string] $ModuleDirectory,
    [Parameter(Mandatory)] [string] $OutputDirectory,
    [Parameter(Mandatory)] [string] $WorkDirectory
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

if (Test-Path $WorkDirectory) { Remove-Item -Recurse -Force $WorkDirectory }
# The folders must exist: .NET answers "" for a missing special folder and PSResourceGet then writes into the current one.
$env:HOME = (New-Item -ItemType Directory -Force -Path (Join-Path $WorkDirectory 'home')).FullName
$env:XDG_DATA_HOME = (New-Item -ItemType Directory -Force -Path (Join-Path $env:HOME '.local/share')).FullName
$env:XDG_CONFIG_HOME = (New-Item -ItemType Directory -Force -Path (Join-Path $env:HOME '.config')).FullName
$env:XDG_CACHE_HOME = (New-Item -ItemType Directory -Force -Path (Join-Path $env:HOME '.cache')).FullName
if (Get-ChildItem $ModuleDirectory -Recurse -Filter '*.pdb') { throw "The module folder holds .pdb files: $ModuleDirectory" }
$staging = New-Item -ItemType Directory -Force -Path (Join-Path $WorkDirectory 'nupkg')
$nupkg = Compress-PSResource -Path $ModuleDirectory -DestinationPath $staging.FullName -PassThru

Add-Type -AssemblyName System.IO.Compression.FileSystem
$zip = [System.IO.Compression.ZipFile]::OpenRead($nupkg.FullName)
try { $pdb = @($zip.Entries | Where-Object FullName -like '*.pdb') } finally { $zip.Dispose() }
if ($pdb) { throw "The package carries .pdb files: $($pdb.FullName -join ', ')" }
Copy-Item $nupkg.FullName $OutputDirectory -Force
