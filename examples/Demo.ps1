#Requires -Version 7.4
<#
.SYNOPSIS
    A short tour of NekkBackup on generated sample data: what `build.ps1 Demo` runs.
.DESCRIPTION
    Generates a small recording-studio tree, describes the machine in a plan, backs the tree up to a NAS folder,
    changes part of it, backs it up again, restores one file as it was at the first run (checked against a digest
    taken before the change), images a small volume file, runs the restore drill and asks for the 3-2-1 verdict.
    Every command is printed before it runs. Everything happens under -WorkDirectory; nothing needs root.
#>
param(
    [string] $ModuleManifest = (Get-ChildItem "$PSScriptRoot/../out/NekkBackup/*/NekkBackup.psd1" | Select-Object -First 1).FullName,
    [string] $WorkDirectory = "$PSScriptRoot/../out/demo",
    # The sample-data generator (tests/NekkBackup.StudioGen), built with the solution.
    [string] $StudioGen = "$PSScriptRoot/../out/studiogen/studiogen.dll"
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$ProgressPreference = 'SilentlyContinue'
Import-Module $ModuleManifest -Force
if (-not (Test-Path $StudioGen)) { throw "The sample-data generator is missing ($StudioGen): run 'dotnet pwsh ./build.ps1 Demo'." }
if (Test-Path $WorkDirectory) { Remove-Item -Recurse -Force $WorkDirectory }
$work = (New-Item -ItemType Directory $WorkDirectory).FullName
$studiogen = (Resolve-Path $StudioGen).Path
$env:NEKKBACKUP_DATA = Join-Path $work 'data'          # logs and snapshot records stay in the demo folder

$sessions = Join-Path $work 'Sessions'                 # the studio's working disk
$nas = Join-Path $work 'NAS/studio-a'                  # the NAS share's folder for this machine
$images = Join-Path $work 'NAS-images/studio-a'        # the Ghost image repository (another share in real life)
$volume = Join-Path $work 'workstation-volume.img'     # stands in for the system volume
$plan = Join-Path $work 'studio-a.psd1'
$restore = Join-Path $work 'Restore'
New-Item -ItemType Directory (Split-Path $nas), (Split-Path $images) | Out-Null   # the shares themselves must exist

function Show([object[]] $InputObject) { $InputObject | Format-Table -AutoSize | Out-String -Width 120 | Out-Host }

# Prints a step's title and its command, runs it and returns what it returned.
function Step([string] $Title, [scriptblock] $Command) {
    Write-Host "`n== $Title"
    Write-Host "PS> $($Command.ToString().Trim())"
    & $Command
}

Write-Host @"
NekkBackup demo in $work
  `$sessions  = $sessions
  `$nas       = $nas
  `$images    = $images
  `$volume    = $volume
  `$plan      = $plan
  `$studiogen = $studiogen
"@

$gen = Step 'Sample data: a 20 MB recording-studio tree (takes, sessions, presets, odd names)' {
    dotnet $studiogen gen $sessions 20 --seed 1 | ConvertFrom-Json
}
Write-Host ('{0} files, {1:N1} MB, longest relative path {2} characters' -f $gen.files, ($gen.bytes / 1MB), $gen.maxPathChars)
# An independent reference for the restore check later: every file's SHA-256 before anything changes.
$before = @{}
Get-ChildItem -LiteralPath $sessions -Recurse -File | ForEach-Object { $before[$_.FullName] = (Get-FileHash -LiteralPath $_.FullName -Algorithm SHA256).Hash }

$null = Step 'Describe the machine in a plan (sources, NAS, image; no bucket in this demo)' {
    New-NekkBackupPlan -Path $plan -Source $sessions -NasDestination $nas -ImageSource $volume -ImageRepository $images
}

$first = Step 'First backup: a full, browsable copy on the NAS' {
    Backup-NekkFolder -Path $sessions -Destination $nas -WarningAction SilentlyContinue
}
Show $first
if ($first.SnapshotUsed) { Write-Host "(Read from a snapshot: $($first.SnapshotUsed).)" }
else { Write-Host '(Read from the live folder: no snapshot provider for this disk. VSS on Windows, btrfs or LVM on Linux give one.)' }

$change = Step 'A day of work: 10 % of the files change (punch-ins, appends, rewrites, deletes, new takes)' {
    dotnet $studiogen mutate $sessions 10 --seed 8 | ConvertFrom-Json
}
Write-Host ('{0} punch-ins, {1} appends, {2} rewrites, {3} deleted, {4} new files' -f $change.overwrite, $change.append, $change.rewrite, $change.delete, $change.add)

$second = Step 'Second backup: only what changed is copied; replaced versions go to the history' {
    Backup-NekkFolder -Path $sessions -Destination $nas -WarningAction SilentlyContinue
}
Show $second

Show (Step 'The runs, read from the NAS alone' { Get-NekkFolderBackup -Destination $nas })

# A file that the day of work changed, to bring back as it was at the first run.
$changed = Get-ChildItem -LiteralPath $sessions -Recurse -File | Where-Object { $before.ContainsKey($_.FullName) -and
    $before[$_.FullName] -ne (Get-FileHash -LiteralPath $_.FullName -Algorithm SHA256).Hash -and $_.Name -notmatch '[\[\]*?]' } |
    Sort-Object @{ Expression = { $_.Extension -eq '.wav' }; Descending = $true }, Length -Descending | Select-Object -First 1
$file = [System.IO.Path]::GetRelativePath($sessions, $changed.FullName).Replace('\', '/')
Show (Step "Restore one changed file as it was at the first run: $file" {
    Restore-NekkFolder -Destination $nas -Target $restore -RunId $first.RunId -Path $file
})
$restored = Get-FileHash -LiteralPath (Join-Path $restore "Sessions/$file") -Algorithm SHA256
if ($restored.Hash -ne $before[$changed.FullName]) { throw "The restored file differs from the first run's version of $file." }
Write-Host "Checked: the restored file's SHA-256 equals the one taken before the change ($($restored.Hash.Substring(0, 16))…),"
Write-Host "and differs from today's version ($((Get-FileHash -LiteralPath $changed.FullName -Algorithm SHA256).Hash.Substring(0, 16))…)."

if (Get-Command mkfs.ext4 -ErrorAction Ignore) {
    Write-Host "`n(The volume to image: a 64 MB ext4 file system holding the sessions, made without root by mkfs.ext4 -d.)"
    & truncate -s 64M $volume
    & mkfs.ext4 -q -F -d $sessions $volume 2>&1 | Out-Null
    if ($LASTEXITCODE) { throw 'mkfs.ext4 failed' }
} else {
    Write-Host "`n(The volume to image: a raw 64 MB file holding the biggest take, as mkfs.ext4 is not here.)"
    $fs = [System.IO.File]::Create($volume)
    try {
        $fs.SetLength(64MB); $fs.Position = 1MB
        $take = Get-ChildItem -LiteralPath $sessions -Recurse -File | Sort-Object Length -Descending | Select-Object -First 1
        $in = [System.IO.File]::OpenRead($take.FullName); try { $in.CopyTo($fs) } finally { $in.Dispose() }
    } finally { $fs.Dispose() }
}
Show (Step 'Ghost image of the volume: block level, deduplicated, zero blocks stored as nothing' {
    New-NekkGhostImage -Source $volume -Repository $images -Snapshot None -Tag demo
})

Show (Step 'The restore drill, as the plan schedules it each quarter: every stored byte re-read and checked' {
    Invoke-NekkBackupPlan -Path $plan -Job Drill
})
if ($LASTEXITCODE -ne 0) { throw "The restore drill failed (exit $LASTEXITCODE)." }

Show (Step 'The 3-2-1 verdict, judged from what is on the destinations' { Test-NekkBackupCompliance -Path $plan })
$verdict = Step 'The same verdict as one line for Intune/RMM (exit code 0 = compliant)' { Test-NekkBackupCompliance -Path $plan -AsRmmOutput }
Write-Host ($verdict.Substring(0, [Math]::Min(200, $verdict.Length)) + $(if ($verdict.Length -gt 200) { ' …' }))
Write-Host @"

Not compliant, as expected here: everything sits on one disk and the plan has no off-site bucket. A real plan puts
the NAS and the image repository on other machines and adds -Bucket for the off-site copy (Send-NekkCloudBackup).
Browse the NAS mirror at $nas; help: Get-Help about_NekkBackup, Get-Help Backup-NekkFolder -Examples.
"@
exit 0
