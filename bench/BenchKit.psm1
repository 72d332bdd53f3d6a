# The one helper every benchmark section uses (bench/README.md): page-cache dropping, timing a cmdlet inside this
# warm session or an anchor tool as a process, alternating order over repetitions, median and range, the rows of the
# results table and the Markdown/JSON writer.
Set-StrictMode -Version 3.0

$script:CanDrop = $null
$script:Measurements = [System.Collections.Generic.List[object]]::new()

function Test-BenchRoot { (-not $IsWindows) -and ((& id -u) -eq '0') }

# The PowerShell running this script, as a command line (the repository's local tool is `dotnet …/pwsh.dll`).
function Get-BenchPwsh {
    $exe = [System.Diagnostics.Process]::GetCurrentProcess().MainModule.FileName
    if ((Split-Path -Leaf $exe) -like 'dotnet*') { return @($exe, (Join-Path $PSHOME 'pwsh.dll')) }
    @($exe)
}

function Get-BenchLoad {
    if (Test-Path /proc/loadavg) { return (((Get-Content /proc/loadavg) -split ' ')[0..2] -join ' ') }
    'n/a'
}

# Flushes dirty pages (so one step's write-back is not charged to the next) and, as root, drops the page cache so
# every step reads cold. Returns whether the cache was dropped.
function Clear-BenchCache {
    if ($IsWindows) { return $false }
    & sync
    if ($null -eq $script:CanDrop) { $script:CanDrop = (Test-BenchRoot) -and (Test-Path /proc/sys/vm/drop_caches) }
    if ($script:CanDrop) {
        try { [System.IO.File]::WriteAllText('/proc/sys/vm/drop_caches', '3') }
        catch { $script:CanDrop = $false; Write-Warning "The page cache cannot be dropped here ($($_.Exception.Message)): every step reads warm." }
    }
    [bool]$script:CanDrop
}

function Get-BenchCacheDropped { [bool]$script:CanDrop }

function Get-ProcStatusKB([string] $Field) {
    if (-not (Test-Path /proc/self/status)) { return 0 }
    foreach ($line in [System.IO.File]::ReadAllLines('/proc/self/status')) {
        if ($line.StartsWith("${Field}:")) { return [long]($line.Substring($Field.Length + 1).Trim() -replace '\D', '') }
    }
    0
}

function Add-BenchMeasurement([string] $Label, [string] $Tool, [double] $Wall, [double] $Cpu, [double] $PeakMB, [hashtable] $Extra) {
    $m = [ordered]@{ Label = $Label; Tool = $Tool; WallSeconds = [math]::Round($Wall, 4); CpuSeconds = [math]::Round($Cpu, 3); PeakMB = [math]::Round($PeakMB, 1); Load = (Get-BenchLoad) }
    if ($Extra) { foreach ($k in $Extra.Keys) { $m[$k] = $Extra[$k] } }
    $script:Measurements.Add([pscustomobject]$m)
}

function Get-BenchMeasurement { $script:Measurements.ToArray() }

<#
 Times a cmdlet call inside this (already warm) session: wall clock, this process's CPU time, and its peak resident
 set during the call (Linux: VmHWM reset through /proc/self/clear_refs just before; BaseMB is the resident set then).
 Returns Wall, Cpu, PeakMB, BaseMB and the call's Output.
#>
function Measure-BenchCmdlet {
    param([Parameter(Mandatory)] [string] $Label, [Parameter(Mandatory)] [scriptblock] $ScriptBlock, [string] $Tool = 'NekkBackup', [switch] $KeepCache, [hashtable] $Extra)
    if (-not $KeepCache) { $null = Clear-BenchCache }
    [GC]::Collect(); [GC]::WaitForPendingFinalizers()
    if (Test-Path /proc/self/clear_refs) { try { [System.IO.File]::WriteAllText('/proc/self/clear_refs', '5') } catch { Write-Verbose "clear_refs: $_" } }
    $base = (Get-ProcStatusKB VmRSS) / 1KB
    $self = [System.Diagnostics.Process]::GetCurrentProcess()
    $cpu0 = $self.TotalProcessorTime.TotalSeconds
    $sw = [System.Diagnostics.Stopwatch]::StartNew()
    $out = & $ScriptBlock
    $sw.Stop()
    $self.Refresh()
    $peak = (Get-ProcStatusKB VmHWM) / 1KB
    if ($peak -eq 0) { $peak = $self.PeakWorkingSet64 / 1MB }
    $r = [pscustomobject]@{ Wall = $sw.Elapsed.TotalSeconds; Cpu = $self.TotalProcessorTime.TotalSeconds - $cpu0; PeakMB = $peak; BaseMB = $base; Output = $out }
    $x = @{ BaseMB = [math]::Round($base, 1) }; if ($Extra) { $x += $Extra }
    Add-BenchMeasurement $Label $Tool $r.Wall $r.Cpu $r.PeakMB $x
    $r
}

<#
 Times an anchor tool as a process (`bash -o pipefail -c`): wall clock, CPU (user+sys of the process tree) and its
 largest resident set, through /usr/bin/time. -Durable names where the anchor writes, for a comparison with a cmdlet
 that returns only after its writes are on stable storage (Ghost captures and restores): every file and folder there
 that the run changed (ctime after a stamp taken just before) is fsynced (`sync FILE…`) inside the timing, so both
 pay for durability. Only those: a global `sync` would also flush other people's dirty pages on a shared machine, and
 fsyncing unchanged files costs a device flush each.
#>
function Measure-BenchAnchor {
    param([Parameter(Mandatory)] [string] $Label, [Parameter(Mandatory)] [string] $Command, [string] $Tool = ($Command -split ' ')[0],
        [string[]] $Durable = @(), [switch] $KeepCache, [hashtable] $Environment, [hashtable] $Extra)
    if (-not $KeepCache) { $null = Clear-BenchCache }
    $timeFile = [System.IO.Path]::GetTempFileName()
    $script = "set -o pipefail; $Command"
    if ($Durable) {
        $stamp = [System.IO.Path]::GetTempFileName()
        Start-Sleep -Milliseconds 30   # file times are tick-grained: what the anchor writes must be strictly newer
        $script += '; find ' + (($Durable | ForEach-Object { "'$_'" }) -join ' ') + " -cnewer '$stamp' -print0 | xargs -0 -r sync"
    }
    $saved = @{}
    try {
        if ($Environment) { foreach ($k in $Environment.Keys) { $saved[$k] = [Environment]::GetEnvironmentVariable($k); [Environment]::SetEnvironmentVariable($k, $Environment[$k]) } }
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        $output = & /usr/bin/time -f '%U %S %M' -o $timeFile bash -c $script 2>&1
        $code = $LASTEXITCODE
        $sw.Stop()
        if ($code -ne 0) { throw "$Label failed (exit $code): $($output -join "`n")" }
        $u, $s, $m = (Get-Content $timeFile | Select-Object -Last 1) -split ' '
    }
    finally {
        foreach ($k in $saved.Keys) { [Environment]::SetEnvironmentVariable($k, $saved[$k]) }
        Remove-Item $timeFile -ErrorAction Ignore
        if ($Durable) { Remove-Item $stamp -ErrorAction Ignore }
    }
    $r = [pscustomobject]@{ Wall = $sw.Elapsed.TotalSeconds; Cpu = [double]$u + [double]$s; PeakMB = [double]$m / 1KB }
    Add-BenchMeasurement $Label $Tool $r.Wall $r.Cpu $r.PeakMB $Extra
    $r
}

# Runs two measurements in an order that alternates with the repetition (odd: ours first), so neither side is always
# the one that follows the other's write-back. Returns Ours and Anchor.
function Invoke-BenchPair([int] $Repetition, [scriptblock] $Ours, [scriptblock] $Anchor) {
    if ($Repetition % 2 -eq 1) { $o = & $Ours; $a = & $Anchor } else { $a = & $Anchor; $o = & $Ours }
    [pscustomobject]@{ Ours = $o; Anchor = $a }
}

function Get-BenchStats([double[]] $Values) {
    $v = @($Values | Sort-Object)
    if ($v.Count -eq 0) { return [pscustomobject]@{ Median = $null; Min = $null; Max = $null; Count = 0 } }
    $mid = [int][math]::Floor($v.Count / 2)
    $median = if ($v.Count % 2) { $v[$mid] } else { ($v[$mid - 1] + $v[$mid]) / 2 }
    [pscustomobject]@{ Median = $median; Min = $v[0]; Max = $v[-1]; Count = $v.Count }
}

# "12.31 s" for one value, "12.31 s (11.90–12.80)" for several: the median and the range.
function Format-BenchValue([double[]] $Values, [string] $Unit = ' s', [string] $Format = 'N2') {
    $s = Get-BenchStats $Values
    if ($s.Count -eq 0) { return '—' }
    $text = $s.Median.ToString($Format) + $Unit
    if ($s.Count -gt 1) { $text += ' (' + $s.Min.ToString($Format) + '–' + $s.Max.ToString($Format) + ')' }
    $text
}

<#
 One row of the results table. Values are the per-repetition metric (a ratio anchor ÷ ours, a speed-up, a fraction or
 megabytes); Goal is '>= 1.5', '< 0.10' or empty (reported only). Verdict: PASS/FAIL on the median ("noisy" when the
 range straddles the goal), "info" without a goal, "NOT RUN" without values, FAIL when -Problem says a check failed.
#>
function New-BenchRow {
    param([Parameter(Mandatory)] [string] $Id, [Parameter(Mandatory)] [string] $Group, [Parameter(Mandatory)] [string] $Row,
        [string] $Ours = '—', [string] $Anchor = '—', [double[]] $Values = @(), [string] $Goal = '', [string] $Unit = '×',
        [string] $Format = 'N2', [string] $Note = '', [string] $Problem = '')
    $s = Get-BenchStats $Values
    $verdict = 'info'
    if ($Goal) {
        if ($Goal -notmatch '^\s*(>=|<=|<|>)\s*([0-9.]+)\s*$') { throw "goal '$Goal': write e.g. '>= 1.0' or '< 0.10'" }
        $op = $Matches[1]; $limit = [double]$Matches[2]
        $meets = { param($x) switch ($op) { '>=' { $x -ge $limit } '>' { $x -gt $limit } '<=' { $x -le $limit } '<' { $x -lt $limit } } }
        if ($s.Count -eq 0) { $verdict = 'NOT RUN' }
        else {
            $verdict = if (& $meets $s.Median) { 'PASS' } else { 'FAIL' }
            if ((& $meets $s.Min) -ne (& $meets $s.Max)) { $verdict += ' (noisy)' }
        }
    }
    elseif ($s.Count -eq 0) { $verdict = 'NOT RUN' }
    if ($Problem) { $verdict = 'FAIL'; $Note = (($Note, $Problem) | Where-Object { $_ }) -join '; ' }
    [pscustomobject]@{
        Id = $Id; Group = $Group; Row = $Row; Ours = $Ours; Anchor = $Anchor
        Values = @($Values | ForEach-Object { [math]::Round($_, 4) }); Median = $s.Median; Min = $s.Min; Max = $s.Max
        Value = (Format-BenchValue $Values $Unit $Format); Goal = $Goal; Verdict = $verdict; Note = $Note
    }
}

# A section's result file: its rows, every measurement behind them, and the context of each group.
function Save-BenchSection {
    param([Parameter(Mandatory)] [string] $Path, [Parameter(Mandatory)] [string] $Section, [object[]] $Rows = @(), [hashtable] $Context = @{})
    [ordered]@{
        Section = $Section; Finished = [DateTime]::UtcNow.ToString('o'); Load = (Get-BenchLoad); PageCacheDropped = (Get-BenchCacheDropped)
        Context = $Context; Rows = @($Rows); Measurements = @(Get-BenchMeasurement)
    } | ConvertTo-Json -Depth 8 | Set-Content -Path $Path -Encoding utf8
}

function ConvertTo-MarkdownCell([object] $Text) { "$Text".Replace('|', '\|').Replace("`n", ' ') }

function ConvertTo-BenchGroupTable([object[]] $Rows) {
    $goalText = @{ '>=' = '≥'; '<=' = '≤'; '<' = '<'; '>' = '>' }
    $out = @('| row | ours | anchor | ratio / value | goal | result |', '|---|---|---|---|---|---|')
    foreach ($r in $Rows) {
        $goal = if ($r.Goal -and $r.Goal -match '^\s*(>=|<=|<|>)\s*(.+)$') { $goalText[$Matches[1]] + ' ' + $Matches[2].Trim() } else { '—' }
        $verdict = if ($r.Note) { "$($r.Verdict) — $($r.Note)" } else { $r.Verdict }
        $out += '| ' + (($r.Row, $r.Ours, $r.Anchor, $r.Value, $goal, $verdict | ForEach-Object { ConvertTo-MarkdownCell $_ }) -join ' | ') + ' |'
    }
    $out -join "`n"
}

# The results table (Markdown), one table per group, with the run's context above it.
function ConvertTo-BenchMarkdown {
    param([Parameter(Mandatory)] $Result)
    $lines = [System.Collections.Generic.List[string]]::new()
    $lines.Add("# NekkBackup benchmark ($($Result.Mode))")
    $lines.Add('')
    $lines.Add("- Run $($Result.Started) – $($Result.Finished) (UTC) on $($Result.Machine).")
    $lines.Add("- Load average (1/5/15 min): $($Result.LoadStart) at the start, $($Result.LoadEnd) at the end (each group below gives it at its end).")
    $lines.Add("- Page cache dropped before every timed step: $(if ($Result.PageCacheDropped) { 'yes' } else { 'no (not root): every step read warm' }). Repetitions: $($Result.Repeat); a value is the median, (min–max) the range over the repetitions.")
    $lines.Add('- Ratio = anchor time ÷ ours (≥ 1: at least as fast). Cmdlets are timed inside one warm PowerShell session per section (module imported); anchors run as processes; an anchor pays for the durability its cmdlet gives: the Ghost anchors fsync what they wrote inside their timing (captures and restores are on stable storage when the cmdlets return), rsync does not (Backup-NekkFolder does not fsync its copies either).')
    $lines.Add('- PASS/FAIL compares the median with the goal of PRODUCT.md §5 / issue 16; "noisy": the range straddles the goal; FAIL also when a check of the run failed (the reason follows).')
    if ($Result.Mode -ne 'Full') { $lines.Add(''); $lines.Add("**$($Result.Mode) run: sizes far below the goals' sizes, so fixed costs dominate and the verdicts say nothing about the goals.**") }
    foreach ($group in @($Result.Rows | ForEach-Object Group | Select-Object -Unique)) {
        $lines.Add('')
        $lines.Add("## $group")
        $ctx = $Result.Context[$group] # a failed section has no context
        if ($ctx) { $lines.Add(''); $lines.Add($ctx) }
        $lines.Add('')
        $lines.Add((ConvertTo-BenchGroupTable @($Result.Rows | Where-Object Group -EQ $group)))
    }
    $lines.Add('')
    $lines.Add('Every measurement behind these rows (wall and CPU seconds, peak resident set, load average at the time) is in `results.json`.')
    $lines -join "`n"
}

# The rows of a standalone section run, printed to the console as the same Markdown tables.
function Write-BenchRowTable([object[]] $Rows) {
    ($Rows | ForEach-Object Group | Select-Object -Unique | ForEach-Object { "## $_"; ''; ConvertTo-BenchGroupTable @($Rows | Where-Object Group -EQ $_); '' }) -join "`n" | Out-Host
}

# Mounts an ext4 or NTFS image file (read-write unless -ReadOnly) and returns the command that undoes it.
function Mount-BenchVolume([string] $Image, [string] $FileSystem, [string] $MountPoint, [switch] $ReadOnly) {
    New-Item -ItemType Directory -Force $MountPoint | Out-Null
    if ($FileSystem -eq 'ntfs') {
        $o = if ($ReadOnly) { @('-o', 'ro') } else { @() }
        & ntfs-3g @o $Image $MountPoint
    }
    else { & mount -o ($(if ($ReadOnly) { 'loop,ro' } else { 'loop' })) $Image $MountPoint }
    if ($LASTEXITCODE) { throw "mounting $Image ($FileSystem) on $MountPoint failed" }
}

function Dismount-BenchVolume([string] $MountPoint) {
    & umount $MountPoint
    if ($LASTEXITCODE) { throw "umount $MountPoint failed" }
}

# Runs the project's sample-data generator (tests/NekkBackup.StudioGen, built into out/studiogen/); returns its JSON
# summary (gen, mutate) or, with -Text, its output line (digest: "<sha256>  <n> files").
function Invoke-BenchStudioGen([string] $StudioGen, [string[]] $Arguments, [switch] $Text) {
    $out = & dotnet $StudioGen @Arguments 2>&1
    if ($LASTEXITCODE) { throw "studiogen $($Arguments -join ' ') failed: $out" }
    if ($Text) { return ($out -join "`n").Trim() }
    $out | ConvertFrom-Json
}

# Bytes under a folder, the way du counts them (apparent sizes), for stored-size comparisons independent of the product.
function Get-BenchTreeBytes([string] $Path) {
    if (-not (Test-Path $Path)) { return [long]0 }
    [long]((& du -sb $Path) -split "`t")[0]
}

Export-ModuleMember -Function Test-BenchRoot, Get-BenchPwsh, Get-BenchLoad, Clear-BenchCache, Get-BenchCacheDropped, Measure-BenchCmdlet,
    Measure-BenchAnchor, Invoke-BenchPair, Get-BenchStats, Format-BenchValue, New-BenchRow, Save-BenchSection, Get-BenchMeasurement,
    ConvertTo-BenchMarkdown, Write-BenchRowTable, Mount-BenchVolume, Dismount-BenchVolume, Invoke-BenchStudioGen, Get-BenchTreeBytes
