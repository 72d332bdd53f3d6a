# Helpers of the Windows verification kit (Invoke-NekkWindowsCheck.ps1). Everything here is plain logic —
# check bookkeeping, report writing, command lines, task XML, parsing of what the checks read back — so it runs
# (and is tested, tests/Module/WindowsKit.Tests.ps1) on any OS. Written for Windows PowerShell 5.1 and PowerShell 7:
# no ternaries, no null-coalescing, no classes.
Set-StrictMode -Version 2.0

$script:SkipId = 'NekkCheckSkipped'

function New-NekkCheckResult {
    param(
        [Parameter(Mandatory)] [string] $Name,
        [Parameter(Mandatory)] [ValidateSet('PASS', 'FAIL', 'SKIP')] [string] $Status,
        [string] $Proves = '',
        [string] $Detail = '',
        [double] $Seconds = 0
    )
    [pscustomobject]@{ Name = $Name; Status = $Status; Proves = $Proves; Detail = (($Detail -replace '\s+', ' ').Trim()); Seconds = [math]::Round($Seconds, 1) }
}

function Skip-NekkCheck([string] $Reason) {
    # Thrown inside a check: the check is reported SKIP with the reason (a missing prerequisite, not a failure).
    $ex = [System.InvalidOperationException]::new($Reason)
    throw [System.Management.Automation.ErrorRecord]::new($ex, $script:SkipId, 'NotEnabled', $null)
}

function Invoke-NekkCheck {
    <# Runs one check. The script block returns a detail string when the check holds and throws when it does not. #>
    param(
        [Parameter(Mandatory)] [string] $Name,
        [Parameter(Mandatory)] [string] $Proves,
        [Parameter(Mandatory)] [scriptblock] $Script,
        [string[]] $Skip = @()
    )
    if ($Skip -contains $Name) { $r = New-NekkCheckResult -Name $Name -Status SKIP -Proves $Proves -Detail 'skipped on request (-Skip)' }
    else {
        $sw = [System.Diagnostics.Stopwatch]::StartNew()
        try {
            $detail = (& $Script | Out-String).Trim()
            $r = New-NekkCheckResult -Name $Name -Status PASS -Proves $Proves -Detail $detail -Seconds $sw.Elapsed.TotalSeconds
        }
        catch {
            $status = 'FAIL'
            if ($_.FullyQualifiedErrorId -like "$script:SkipId*") { $status = 'SKIP' }
            $r = New-NekkCheckResult -Name $Name -Status $status -Proves $Proves -Detail $_.Exception.Message -Seconds $sw.Elapsed.TotalSeconds
        }
    }
    Write-Host (Format-NekkCheckLine $r)
    $r
}

function Format-NekkCheckLine($Result) {
    $detail = $Result.Detail
    if ($detail.Length -gt 300) { $detail = $detail.Substring(0, 297) + '...' }
    '{0,-4}  {1,-28} {2,6:0.0}s  {3}' -f $Result.Status, $Result.Name, $Result.Seconds, $detail
}

function Get-NekkCheckSummary($Results) {
    $all = @($Results)
    [pscustomobject]@{
        Passed  = @($all | Where-Object { $_.Status -eq 'PASS' }).Count
        Failed  = @($all | Where-Object { $_.Status -eq 'FAIL' }).Count
        Skipped = @($all | Where-Object { $_.Status -eq 'SKIP' }).Count
    }
}

function Write-NekkCheckReport {
    <# Writes <Path> (text: one PASS/FAIL/SKIP line per check, then the totals) and <Path>.json; returns the totals. #>
    param(
        [Parameter(Mandatory)] $Results,
        [Parameter(Mandatory)] [string] $Path,
        [hashtable] $Environment = @{}
    )
    $summary = Get-NekkCheckSummary $Results
    $lines = New-Object System.Collections.Generic.List[string]
    $lines.Add('NekkBackup Windows verification kit')
    foreach ($k in ($Environment.Keys | Sort-Object)) { $lines.Add(('{0}: {1}' -f $k, $Environment[$k])) }
    $lines.Add('')
    foreach ($r in @($Results)) {
        $lines.Add((Format-NekkCheckLine $r))
        if ($r.Proves) { $lines.Add('      proves: ' + $r.Proves) }
    }
    $lines.Add('')
    $lines.Add(('{0} passed, {1} failed, {2} skipped' -f $summary.Passed, $summary.Failed, $summary.Skipped))
    $dir = Split-Path -Parent $Path
    if ($dir -and -not (Test-Path -LiteralPath $dir)) { New-Item -ItemType Directory -Force -Path $dir | Out-Null }
    [System.IO.File]::WriteAllLines($Path, $lines.ToArray(), (New-Object System.Text.UTF8Encoding $false))
    $doc = [pscustomobject]@{ Environment = $Environment; Results = @($Results); Passed = $summary.Passed; Failed = $summary.Failed; Skipped = $summary.Skipped }
    [System.IO.File]::WriteAllText($Path + '.json', ($doc | ConvertTo-Json -Depth 5), (New-Object System.Text.UTF8Encoding $false))
    $summary
}

function ConvertTo-NekkCommandLine([string[]] $Arguments) {
    <# One Windows command line (CommandLineToArgvW rules) from an argument list: what a task action's Arguments needs. #>
    $out = foreach ($a in $Arguments) {
        if ($a -ne '' -and $a -notmatch '[\s"]') { $a; continue }
        $sb = New-Object System.Text.StringBuilder
        [void]$sb.Append('"')
        $slashes = 0
        foreach ($c in $a.ToCharArray()) {
            if ($c -eq '\') { $slashes++; continue }
            if ($c -eq '"') { [void]$sb.Append('\', 2 * $slashes + 1); [void]$sb.Append('"') }
            else { if ($slashes) { [void]$sb.Append('\', $slashes) }; [void]$sb.Append($c) }
            $slashes = 0
        }
        if ($slashes) { [void]$sb.Append('\', 2 * $slashes) }
        [void]$sb.Append('"')
        $sb.ToString()
    }
    @($out) -join ' '
}

function Get-NekkHostPath {
    <#
    The PowerShell executable for an edition and bitness. From a 32-bit process System32 is redirected to SysWOW64,
    so the 64-bit Windows PowerShell is reached through Sysnative there.
    #>
    param(
        [Parameter(Mandatory)] [ValidateSet('Desktop64', 'Desktop32', 'Core')] [string] $Kind,
        [Parameter(Mandatory)] [string] $WindowsDirectory,
        [bool] $Is64BitProcess = $true,
        [string] $PwshPath
    )
    $win = $WindowsDirectory.TrimEnd('\') + '\'
    switch ($Kind) {
        'Desktop64' {
            $dir = 'System32'
            if (-not $Is64BitProcess) { $dir = 'Sysnative' }
            return ($win + $dir + '\WindowsPowerShell\v1.0\powershell.exe')
        }
        'Desktop32' { return ($win + 'SysWOW64\WindowsPowerShell\v1.0\powershell.exe') }
        'Core' { return $PwshPath }
    }
}

function New-NekkScriptArguments {
    <# Arguments that run a script file non-interactively: -NoProfile -NonInteractive -ExecutionPolicy Bypass -File <script> -Name value… #>
    param([Parameter(Mandatory)] [string] $ScriptPath, [System.Collections.IDictionary] $Parameters = @{})
    $list = New-Object System.Collections.Generic.List[string]
    foreach ($a in @('-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File', $ScriptPath)) { $list.Add($a) }
    foreach ($k in ($Parameters.Keys | Sort-Object)) {
        $v = $Parameters[$k]
        if ($v -is [bool] -or $v -is [System.Management.Automation.SwitchParameter]) { if ($v) { $list.Add("-$k") } }
        else { $list.Add("-$k"); $list.Add([string]$v) }
    }
    , $list.ToArray()
}

function New-NekkOneShotTaskXml {
    <#
    Task XML (schema 1.2) for a task that runs once, on demand (Start-ScheduledTask), as LocalSystem given by its SID —
    how the kit runs checks "as SYSTEM". No trigger; 30-minute limit; a second start while running is ignored.
    #>
    param(
        [Parameter(Mandatory)] [string] $Command,
        [string[]] $Arguments = @(),
        [string] $WorkingDirectory,
        [string] $Description = 'NekkBackup Windows verification kit (one-shot, safe to delete)',
        [string] $UserId = 'S-1-5-18'
    )
    $ns = 'http://schemas.microsoft.com/windows/2004/02/mit/task'
    $doc = New-Object System.Xml.XmlDocument
    [void]$doc.AppendChild($doc.CreateXmlDeclaration('1.0', 'UTF-16', $null))
    $task = $doc.CreateElement('Task', $ns); $task.SetAttribute('version', '1.2'); [void]$doc.AppendChild($task)
    function Add($parent, [string] $name, [string] $text) {
        $e = $doc.CreateElement($name, $ns)
        if ($PSBoundParameters.ContainsKey('text')) { $e.InnerText = $text }
        [void]$parent.AppendChild($e); $e
    }
    $info = Add $task 'RegistrationInfo'; [void](Add $info 'Description' $Description)
    $principals = Add $task 'Principals'
    $p = Add $principals 'Principal'; $p.SetAttribute('id', 'Author')
    [void](Add $p 'UserId' $UserId); [void](Add $p 'RunLevel' 'HighestAvailable')
    $settings = Add $task 'Settings'
    [void](Add $settings 'MultipleInstancesPolicy' 'IgnoreNew')
    [void](Add $settings 'DisallowStartIfOnBatteries' 'false')
    [void](Add $settings 'StopIfGoingOnBatteries' 'false')
    [void](Add $settings 'AllowStartOnDemand' 'true')
    [void](Add $settings 'ExecutionTimeLimit' 'PT30M')
    $actions = Add $task 'Actions'; $actions.SetAttribute('Context', 'Author')
    $exec = Add $actions 'Exec'
    [void](Add $exec 'Command' $Command)
    if ($Arguments.Count -gt 0) { [void](Add $exec 'Arguments' (ConvertTo-NekkCommandLine $Arguments)) }
    if ($WorkingDirectory) { [void](Add $exec 'WorkingDirectory' $WorkingDirectory) }
    $sw = New-Object System.IO.StringWriter
    $doc.Save($sw)
    $sw.ToString()
}

function ConvertFrom-NekkRmmLine([string] $Line) {
    <# Parses Test-NekkBackupCompliance -AsRmmOutput: "NEKK COMPLIANT|NONCOMPLIANT host=… plan=… pass=n/m Rule:Status(detail)…". #>
    $m = [regex]::Match($Line, '^NEKK (?<verdict>COMPLIANT|NONCOMPLIANT) host=(?<host>\S+) plan=(?<plan>\S+) pass=(?<pass>\d+)/(?<total>\d+)(?<rest>.*)$')
    if (-not $m.Success) { return $null }
    $rules = @([regex]::Matches($m.Groups['rest'].Value, ' (?<rule>\w+):(?<status>Fail|Warn)\(') | ForEach-Object { [pscustomobject]@{ Rule = $_.Groups['rule'].Value; Status = $_.Groups['status'].Value } })
    [pscustomobject]@{
        Compliant = ($m.Groups['verdict'].Value -eq 'COMPLIANT'); Host = $m.Groups['host'].Value; Plan = $m.Groups['plan'].Value
        Passed = [int]$m.Groups['pass'].Value; Total = [int]$m.Groups['total'].Value; NotPassing = $rules
    }
}

function Test-NekkIntuneOutput {
    <#
    What Intune needs from a detection script: exactly one line, at most 2048 characters, nothing on stderr, and an exit
    code that matches the verdict (0 compliant, 1 not). Returns $null when it holds, else why not.
    #>
    param([string[]] $StdOut, [string] $StdErr, [int] $ExitCode)
    $lines = @($StdOut | Where-Object { $_ -ne $null -and $_.Trim() -ne '' })
    if ($lines.Count -ne 1) { return "expected one output line, got $($lines.Count): $($lines -join ' | ')" }
    if ($StdErr -and $StdErr.Trim()) { return "wrote to stderr (Intune marks that a script error): $StdErr" }
    $line = $lines[0]
    if ($line.Length -gt 2048) { return "the line is $($line.Length) characters (Intune keeps 2048)" }
    if ($line -match 'detection-error|REMEDIATION-ERROR') { return "the script failed: $line" }
    $parsed = ConvertFrom-NekkRmmLine $line
    if (-not $parsed) { return "not a NEKK compliance line: $line" }
    $want = 1
    if ($parsed.Compliant) { $want = 0 }
    if ($ExitCode -ne $want) { return "exit code $ExitCode does not match '$line' (expected $want)" }
    $null
}

function Get-NekkSystemProbeScript {
    <#
    The script the kit runs as SYSTEM (one-shot task): imports the module, checks the plan's destinations with the
    credentials the schedule uses, reads compliance and the fleet folder, and writes what it saw to a JSON file.
    #>
    param([Parameter(Mandatory)] [string] $ModuleManifest, [Parameter(Mandatory)] [string] $PlanPath, [Parameter(Mandatory)] [string] $ResultPath,
        [string] $FleetPath)
    $q = { param($s) "'" + ($s -replace "'", "''") + "'" }
    @"
`$ErrorActionPreference = 'Stop'
`$result = [ordered]@{ Identity = ''; Is64Bit = [Environment]::Is64BitProcess; Edition = `$PSVersionTable.PSEdition; Checks = @(); Rmm = ''; RmmExit = -1; Fleet = ''; Error = '' }
try {
    `$result.Identity = [System.Security.Principal.WindowsIdentity]::GetCurrent().User.Value
    Import-Module $(& $q $ModuleManifest)
    `$result.Checks = @(Test-NekkBackupPlan -Path $(& $q $PlanPath) | Select-Object Leg, Target, Reachable, Writable, CredentialSource, Status, Detail)
    `$result.Rmm = (Test-NekkBackupCompliance -Path $(& $q $PlanPath) -AsRmmOutput) -join ' '
    `$result.RmmExit = `$LASTEXITCODE
    if ($(& $q $FleetPath)) { `$result.Fleet = (@(Get-NekkFleetStatus -Path $(& $q $FleetPath)) | Measure-Object).Count }
}
catch { `$result.Error = `$_.Exception.Message }
[System.IO.File]::WriteAllText($(& $q $ResultPath), ([pscustomobject]`$result | ConvertTo-Json -Depth 4))
"@
}

function Test-NekkSystemProbe {
    <# Judges the probe's JSON: ran as S-1-5-18, every NAS row reachable and writable with the stored credential. $null = holds. #>
    param([Parameter(Mandatory)] [string] $Json, [string] $NasShare)
    $r = $Json | ConvertFrom-Json
    if ($r.Error) { return "the probe failed as SYSTEM: $($r.Error)" }
    if ($r.Identity -ne 'S-1-5-18') { return "the probe ran as $($r.Identity), not LocalSystem (S-1-5-18)" }
    $nas = @($r.Checks | Where-Object { $_.Leg -eq 'Folder' -or $_.Leg -eq 'Image' })
    if ($nas.Count -eq 0) { return 'no NAS destination was checked' }
    foreach ($c in $nas) {
        if ($c.Status -ne 'Passed') { return "$($c.Leg) $($c.Target): $($c.Status) ($($c.Detail))" }
        if ($c.CredentialSource -notlike 'stored credential*') { return "$($c.Leg) $($c.Target) was reached as '$($c.CredentialSource)', not with the stored credential" }
    }
    if ($r.Rmm -match 'not reachable') { return "compliance could not read the NAS as SYSTEM: $($r.Rmm)" }
    $null
}

function New-NekkDiskpartScript {
    <# diskpart commands for a small NTFS test volume in a new VHDX, mounted at a letter and/or a folder; and the detach script. #>
    param([Parameter(Mandatory)] [string] $VhdPath, [int] $SizeMB = 256, [string] $Letter, [string] $MountFolder, [string] $Label = 'NEKKCHECK', [switch] $Detach)
    if ($Detach) { return @("select vdisk file=""$VhdPath""", 'detach vdisk') -join "`r`n" }
    $lines = @("create vdisk file=""$VhdPath"" maximum=$SizeMB type=expandable", "select vdisk file=""$VhdPath""", 'attach vdisk',
        'create partition primary', "format fs=ntfs quick label=$Label")
    if ($Letter) { $lines += "assign letter=$($Letter.TrimEnd(':'))" }
    if ($MountFolder) { $lines += "assign mount=""$MountFolder""" }
    $lines -join "`r`n"
}

Export-ModuleMember -Function New-NekkCheckResult, Skip-NekkCheck, Invoke-NekkCheck, Format-NekkCheckLine, Get-NekkCheckSummary, Write-NekkCheckReport,
    ConvertTo-NekkCommandLine, Get-NekkHostPath, New-NekkScriptArguments, New-NekkOneShotTaskXml, ConvertFrom-NekkRmmLine, Test-NekkIntuneOutput,
    Get-NekkSystemProbeScript, Test-NekkSystemProbe, New-NekkDiskpartScript
