#Requires -Version 7.4
<#
.SYNOPSIS
    Measures Export-NekkBackupReport on realistic evidence: N hosts x D days of plan history and status files in the
    product's own formats (folder leg 4-hourly 08-20 Mon-Sat with its verify step, daily cloud upload, weekly image,
    quarterly drill; a few failures, ransomware-guard refusals and DAW deferrals), laid out as a NAS share holding one
    destination per host. Prints report size and generation time (fleet report, and one host's plan report).
.EXAMPLE
    dotnet pwsh bench/report-bench.ps1 -ModuleManifest out/NekkBackup/0.1.0/NekkBackup.psd1 -Hosts 10 -Days 90
#>
param(
    [Parameter(Mandatory)] [string] $ModuleManifest,
    [int] $Hosts = 10,
    [int] $Days = 90,
    [int] $Repeat = 5,
    [string] $WorkDirectory = (Join-Path ([System.IO.Path]::GetTempPath()) "nekk-report-bench-$PID")
)
$ErrorActionPreference = 'Stop'
Import-Module (Resolve-Path $ModuleManifest).Path
$env:NEKKBACKUP_DATA = Join-Path $WorkDirectory 'data'
$share = Join-Path $WorkDirectory 'nas'
$rng = [System.Random]::new(42)
$now = [DateTime]::UtcNow
$json = [System.Text.Json.JsonSerializerOptions]::new()

function Step($h, $plan, $job, $step, $start, $minutes, $status, $bytes, $files, $detail, $legRunId) {
    [ordered]@{
        Plan = $plan; Host = $h; PlanRunId = 'run-' + $start.ToString('yyyyMMddTHHmmss'); Job = $job; Step = $step
        StartedUtc = $start.ToString('o'); FinishedUtc = $start.AddMinutes($minutes).ToString('o'); Status = $status
        LegRunId = $legRunId; Files = $files; Bytes = $bytes; Errors = 0; Throttled = $false; Detail = $detail
    } | ConvertTo-Json -Compress
}

$gen = [Diagnostics.Stopwatch]::StartNew()
for ($i = 1; $i -le $Hosts; $i++) {
    $h = 'studio-{0:d2}' -f $i
    $plan = 'studio'
    $dest = Join-Path $share $h
    $meta = Join-Path $dest '.nekkbackup'
    New-Item -ItemType Directory -Force (Join-Path $meta 'plan-history'), (Join-Path $meta 'status') | Out-Null
    $lines = [System.Collections.Generic.List[string]]::new()
    for ($d = $Days; $d -ge 0; $d--) {
        $day = $now.Date.AddDays(-$d)
        if ($day.DayOfWeek -ne 'Sunday') {
            foreach ($hour in 8, 12, 16, 20) {
                $t = $day.AddHours($hour).AddMinutes($rng.Next(0, 3))
                if ($t -gt $now) { continue }
                $roll = $rng.NextDouble()
                $id = $t.ToString('yyyyMMddTHHmmssZ') + '-' + $h
                if ($roll -lt 0.03) { $lines.Add((Step $h $plan 'Folder' 'Defer' $t 0 'Deferred' 0 0 'deferred: Pro Tools is running (plan Daw.Policy = Defer)' $null)); continue }
                if ($roll -lt 0.045) { $lines.Add((Step $h $plan 'Folder' 'Backup' $t 1 'Failed' 0 0 "the NAS destination '\\nas\backup\$h' is not reachable" $null)); continue }
                if ($roll -lt 0.05) { $lines.Add((Step $h $plan 'Folder' 'Backup' $t 2 'Refused' 0 0 'ransomware guard: 41% of the files would be replaced or deleted (limit 30%)' $null)); continue }
                $mb = [long]($rng.Next(20, 1800)) * 1MB
                $min = 2 + $mb / 1GB * 9 + $rng.NextDouble() * 3
                $lines.Add((Step $h $plan 'Folder' 'Backup' $t $min 'Succeeded' $mb ($rng.Next(5, 400)) "$($rng.Next(30000, 42000)) scanned" $id))
                $lines.Add((Step $h $plan 'Folder' 'Verify' $t.AddMinutes($min) 1 'Passed' 0 0 'runs checked' $id))
            }
        }
        $ct = $day.AddHours(23)
        if ($ct -le $now) {
            $st = if ($rng.NextDouble() -lt 0.03) { 'Failed' } else { 'Succeeded' }
            $ub = if ($st -eq 'Succeeded') { [long]($rng.Next(100, 4000)) * 1MB } else { 0 }
            $lines.Add((Step $h $plan 'Cloud' 'Upload' $ct (5 + $ub / 1GB * 6) $st $ub 0 ($(if ($st -eq 'Failed') { 'RequestTimeout: the bucket did not answer' } else { 'uploaded' })) ($ct.ToString('yyyyMMddTHHmmssZ') + '-c')))
        }
        if ($day.DayOfWeek -eq 'Sunday') {
            $it = $day.AddHours(2)
            $nb = [long]($rng.Next(800, 6000)) * 1MB
            $lines.Add((Step $h $plan 'Image' 'Capture' $it (18 + $rng.Next(0, 20)) 'Succeeded' $nb 0 'image captured' ('img-' + $it.ToString('yyyyMMdd'))))
        }
        if ($d -eq 40) {
            $dt = $day.AddHours(3)
            $lines.Add((Step $h $plan 'Drill' 'FullVerify' $dt 95 'Passed' 0 0 'every stored byte re-hashed' $null))
            $lines.Add((Step $h $plan 'Drill' 'ImageDrill' $dt.AddMinutes(95) 40 'Passed' 0 0 'image restored and verified' $null))
        }
    }
    [System.IO.File]::WriteAllLines((Join-Path $meta "plan-history/$h.jsonl"), $lines)
    $bad = $i % 4 -eq 0
    $findings = foreach ($r in 'ThreeCopies', 'TwoMedia', 'OneOffsite', 'FolderFresh', 'CloudFresh', 'ImageFresh', 'DrillWithin92Days', 'ImageRepositorySeparate', 'IntegrityCheckPassed') {
        [ordered]@{ rule = $r; status = $(if ($bad -and $r -eq 'CloudFresh') { 'Fail' } else { 'Pass' }); detail = "$r detail for $h" }
    }
    $last = $now.AddHours(-2).ToString('o')
    [ordered]@{
        format = 'nekkbackup-status/1'; host = $h; plan = $plan; generatedUtc = $now.AddMinutes(-30).ToString('o'); compliant = -not $bad
        findings = @($findings); lastGood = [ordered]@{ Folder = $last; Cloud = $now.AddDays(-1).ToString('o'); Image = $now.AddDays(-3).ToString('o'); Drill = $now.AddDays(-40).ToString('o') }
        lastRunStatus = 'Succeeded'
    } | ConvertTo-Json -Depth 5 | Set-Content (Join-Path $meta "status/$h.json")
}
$gen.Stop()
$historyLines = (Get-ChildItem $share -Recurse -Force -Filter *.jsonl | ForEach-Object { (Get-Content $_.FullName).Count } | Measure-Object -Sum).Sum

$planFile = Join-Path $WorkDirectory 'studio-01.psd1'
Set-Content $planFile "@{ SchemaVersion = 1; Name = 'studio'; Host = 'studio-01'; Sources = '$WorkDirectory'; NasDestination = '$(Join-Path $share 'studio-01')'; Image = @{ Source = '/dev/sda2'; Repository = '$(Join-Path $share 'ghost')' }; Daw = @{ Processes = @() } }"

function Measure-Report([scriptblock] $Export) {
    $null = & $Export   # warm-up (JIT)
    $times = foreach ($k in 1..$Repeat) { $sw = [Diagnostics.Stopwatch]::StartNew(); $r = & $Export; $sw.Stop(); $sw.Elapsed.TotalMilliseconds }
    $sorted = @($times | Sort-Object)
    [pscustomobject]@{ MedianMs = [math]::Round($sorted[[int]($sorted.Count / 2)], 0); MinMs = [math]::Round($sorted[0], 0); SizeKB = [math]::Round($r.SizeBytes / 1KB, 0); Hosts = $r.Hosts; Verdict = $r.Verdict }
}
$fleetOut = Join-Path $WorkDirectory 'fleet.html'
$planOut = Join-Path $WorkDirectory 'studio-01.html'
$fleet = Measure-Report { Export-NekkBackupReport -FleetPath $share -OutFile $fleetOut -Days $Days }
$one = Measure-Report { Export-NekkBackupReport -Path $planFile -OutFile $planOut -Days $Days }
"Evidence: $Hosts hosts x $Days days, $historyLines history lines, generated in $([math]::Round($gen.Elapsed.TotalSeconds, 1)) s"
"Fleet report (-FleetPath, $($fleet.Hosts) hosts): $($fleet.SizeKB) KB, median $($fleet.MedianMs) ms (min $($fleet.MinMs) ms) over $Repeat runs"
"One host's plan report (-Path):   $($one.SizeKB) KB, median $($one.MedianMs) ms (min $($one.MinMs) ms) over $Repeat runs"
"Files: $fleetOut, $planOut"
