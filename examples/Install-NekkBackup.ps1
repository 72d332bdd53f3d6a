<#
.SYNOPSIS
    Installs NekkBackup for all users under Program Files, registers the Event Log source, and optionally
    stores the NAS credential as SYSTEM and registers a plan's schedules. For an Intune Win32 app or an RMM job.
.DESCRIPTION
    Intune's management extension is 32-bit, so `powershell.exe` starts 32-bit PowerShell, where $env:ProgramFiles is
    "Program Files (x86)". This script relaunches itself in 64-bit PowerShell (sysnative) when it finds itself in a
    32-bit process on 64-bit Windows, and always installs to $env:ProgramW6432\WindowsPowerShell\Modules\NekkBackup\<version>,
    which Windows PowerShell 5.1 and PowerShell 7 both load. Install command for the Win32 app:
    %windir%\sysnative\WindowsPowerShell\v1.0\powershell.exe -NoProfile -ExecutionPolicy Bypass -File Install-NekkBackup.ps1
    Detection rule: file exists ...\Modules\NekkBackup\<version>\NekkBackup.psd1. Supports -WhatIf.
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    # The built module folder (out/NekkBackup/<version>), beside this script by default.
    [string] $ModuleSource = (Join-Path $PSScriptRoot 'NekkBackup'),
    [string] $PlanPath,
    [string] $NasShare,
    [string] $NasUser,
    # Name of an environment variable holding the NAS password (never a literal on the command line).
    [string] $NasPasswordVariable = 'NEKK_NAS_PASSWORD'
)
$ErrorActionPreference = 'Stop'

# Intune (and most RMM agents) start scripts in 32-bit PowerShell by default, where the module, installed under the
# 64-bit Program Files, is not found: relaunch in 64-bit Windows PowerShell (sysnative) with the same arguments and
# hand back its exit code. PROCESSOR_ARCHITEW6432 is set only in a 32-bit process on 64-bit Windows.
if ($env:PROCESSOR_ARCHITEW6432 -and -not $env:NEKK_RELAUNCHED -and $env:windir) {
    $native = Join-Path $env:windir 'sysnative\WindowsPowerShell\v1.0\powershell.exe'
    if (Test-Path -LiteralPath $native) {
        $env:NEKK_RELAUNCHED = '1'
        $relaunch = @('-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File', $PSCommandPath)
        foreach ($p in $PSBoundParameters.GetEnumerator()) {
            if ($p.Value -is [switch]) { if ($p.Value) { $relaunch += "-$($p.Key)" } } else { $relaunch += "-$($p.Key)"; $relaunch += "$($p.Value)" }
        }
        & $native @relaunch
        exit $LASTEXITCODE
    }
}

$manifest = Get-ChildItem -Path $ModuleSource -Filter NekkBackup.psd1 -Recurse | Select-Object -First 1
if (-not $manifest) { Write-Output "NEKK INSTALL-FAILED no NekkBackup.psd1 under $ModuleSource"; exit 1 }
$version = (Import-PowerShellDataFile $manifest.FullName).ModuleVersion
$programFiles = if ($IsLinux -or $IsMacOS) { '/usr/local/share/powershell' } elseif ($env:ProgramW6432) { $env:ProgramW6432 } else { $env:ProgramFiles }
$target = if ($IsLinux -or $IsMacOS) { Join-Path $programFiles "Modules/NekkBackup/$version" } else { Join-Path $programFiles "WindowsPowerShell\Modules\NekkBackup\$version" }

if ($PSCmdlet.ShouldProcess($target, "Install NekkBackup $version")) {
    New-Item -ItemType Directory -Force -Path $target | Out-Null
    Copy-Item -Path (Join-Path $manifest.DirectoryName '*') -Destination $target -Recurse -Force
}

if (-not ($IsLinux -or $IsMacOS) -and $PSCmdlet.ShouldProcess('Application log', 'Register the NekkBackup event source')) {
    if (-not [System.Diagnostics.EventLog]::SourceExists('NekkBackup')) {
        $data = [System.Diagnostics.EventSourceCreationData]::new('NekkBackup', 'Application')
        $data.MessageResourceFile = "$env:SystemRoot\Microsoft.NET\Framework64\v4.0.30319\EventLogMessages.dll"
        [System.Diagnostics.EventLog]::CreateEventSource($data)
    }
}

if ($NasShare -and $NasUser -and (Test-Path "env:$NasPasswordVariable")) {
    Import-Module (Join-Path $target 'NekkBackup.psd1')
    $secure = ConvertTo-SecureString (Get-Item "env:$NasPasswordVariable").Value -AsPlainText -Force
    Set-NekkCredential -Target $NasShare -Credential ([pscredential]::new($NasUser, $secure)) -WhatIf:$WhatIfPreference
}
if ($PlanPath -and (Test-Path $PlanPath)) {
    Import-Module (Join-Path $target 'NekkBackup.psd1')
    Register-NekkBackupPlan -Path $PlanPath -WhatIf:$WhatIfPreference
}
Write-Output "NEKK INSTALLED version=$version path=$target"
exit 0
