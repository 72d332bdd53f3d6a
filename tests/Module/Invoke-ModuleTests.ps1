#Requires -Version 7.4
<#
.SYNOPSIS
    Runs the Pester 5.7.1 tests in tests/Module against the built module and writes a JSON summary
    (Passed, Failed, Skipped, SkipReasons, FailedNames) for build.ps1.
#>
param(
    [Parameter(Mandatory)] [string] $ModuleManifest,
    [Parameter(Mandatory)] [string] $ResultFile,
    [Parameter(Mandatory)] [string] $PesterModule,
    [string] $Path
)
$ErrorActionPreference = 'Stop'
Import-Module $PesterModule -Force
$env:NEKK_MODULE_MANIFEST = (Resolve-Path $ModuleManifest).Path

$config = New-PesterConfiguration
$config.Run.Path = if ($Path) { @($Path -split ',') } else { @($PSScriptRoot) }
$config.Run.PassThru = $true
$config.Output.Verbosity = 'Detailed'
$config.Should.ErrorAction = 'Stop'
$result = Invoke-Pester -Configuration $config

$skipReasons = foreach ($t in $result.Skipped) {
    $reason = ''
    if ($t.ErrorRecord) { $reason = ($t.ErrorRecord | Select-Object -First 1).Exception.Message }
    # Set-ItResult -Skipped -Because "x" is reported as "is skipped, because x".
    $reason = $reason -replace '^.*?because\s+', ''
    [pscustomobject]@{ Test = $t.ExpandedPath; Reason = $reason }
}
$failedNames = @($result.Failed | ForEach-Object { $_.ExpandedPath })
# A container or block that failed outside an It (syntax error, BeforeAll failure) counts as a failure too.
$failedNames += @($result.FailedContainers | ForEach-Object { "container: $($_.Item)" })
$failedNames += @($result.FailedBlocks | ForEach-Object { "block: $($_.ExpandedPath)" })
$summary = [pscustomobject]@{
    Passed      = $result.PassedCount
    Failed      = $failedNames.Count
    Skipped     = $result.SkippedCount
    SkipReasons = @($skipReasons)
    FailedNames = $failedNames
}
$summary | ConvertTo-Json -Depth 4 | Set-Content -Path $ResultFile -Encoding utf8
exit 0
