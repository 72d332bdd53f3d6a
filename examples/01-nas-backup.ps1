#Requires -Modules NekkBackup
<#
.SYNOPSIS
    Scheduled NAS backup of a studio's session folders (copy 2 of 3-2-1).
.DESCRIPTION
    Put it in a scheduled task (every 4 hours, 08:00-20:00, Mon-Sat) or an RMM job. It backs up the
    session folders from a snapshot, keeps a GFS history, checks the backup, and ends with an exit
    code an RMM tool can alert on: 0 ok, 1 refused/failed, 2 completed with errors.
.EXAMPLE
    powershell.exe -NoProfile -ExecutionPolicy Bypass -File 01-nas-backup.ps1 -Source D:\Sessions -Destination \\nas\backup\studio-a
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [string[]] $Source = @('D:\Sessions'),
    [string] $Destination = '\\nas\backup\studio-a',
    [ValidateSet('Auto', 'Required', 'None')] [string] $Snapshot = 'Auto'
)
$ErrorActionPreference = 'Stop'
Import-Module NekkBackup

$run = Backup-NekkFolder -Path $Source -Destination $Destination -Snapshot $Snapshot `
    -Retention @{ KeepLast = 12; Daily = 14; Weekly = 8; Monthly = 12 } -ErrorAction Continue -WhatIf:$WhatIfPreference
if ($WhatIfPreference) {
    # -WhatIf returns a preview (NekkBackup.FolderBackupPreview); nothing was written.
    Write-Output ("NEKK WHATIF copy={0} bytes={1} version={2} delete={3} guard={4} prune={5}" -f $run.FilesToCopy, $run.BytesToCopy, $run.FilesToVersion, $run.FilesToDelete, $run.Guard, @($run.RetentionPrunes).Count)
    exit 0
}
$check = Test-NekkFolderBackup -Destination $Destination
Write-Output ("NEKK {0} run={1} copied={2} bytes={3} errors={4} check={5}" -f $run.Status, $run.RunId, $run.FilesCopied, $run.BytesCopied, $run.Errors, $check.Status)
$LASTEXITCODE = switch ($run.Status) { 'Succeeded' { if ($check.Status -eq 'Failed') { 1 } else { 0 } } 'CompletedWithErrors' { 2 } default { 1 } }
exit $LASTEXITCODE
