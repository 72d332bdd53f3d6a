#Requires -Modules NekkBackup
<#
.SYNOPSIS
    Daily off-site copy of the work changed in the last 30 days to S3 or an S3-compatible store (copy 3 of 3-2-1).
.DESCRIPTION
    Schedule it daily (or let Invoke-NekkBackupPlan run the cloud leg). Credentials come from an AWS profile,
    the environment (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) or the default chain; nothing secret is in the
    script. Uploads are incremental by content hash and resume after an interruption; -MaxMBps keeps the
    upload from starving a session. Ends with 0 ok, 1 failed, 2 completed with errors.
.EXAMPLE
    pwsh -NoProfile -File 04-offsite-s3.ps1 -Source D:\Sessions -Bucket studio-a-offsite -Endpoint https://s3.eu-central-003.backblazeb2.com -ProfileName b2
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [string[]] $Source = @('D:\Sessions'),
    [string] $Bucket = 'studio-offsite',
    [string] $Endpoint,
    [string] $ProfileName,
    [string] $ModifiedWithin = '30d',
    [double] $MaxMBps = 20
)
$ErrorActionPreference = 'Stop'
Import-Module NekkBackup

$cloud = @{ Bucket = $Bucket; ModifiedWithin = $ModifiedWithin; MaxMBps = $MaxMBps; StorageClass = 'STANDARD' }
if ($Endpoint) { $cloud.Endpoint = $Endpoint }
if ($ProfileName) { $cloud.ProfileName = $ProfileName }
if ($WhatIfPreference) {
    # -WhatIf reads the bucket (never writes to it) and returns a preview: what would go up against what is there.
    try {
        $p = Send-NekkCloudBackup -Path $Source @cloud -WhatIf
        Write-Output ("NEKK WHATIF upload={0} bytes={1} inBucket={2} notRead={3}" -f $p.FilesToUpload, $p.BytesToUpload, ($p.FilesUnchanged + $p.FilesAlreadyStored), $p.FilesOutsideWindow)
    }
    catch { Write-Output "NEKK WHATIF no preview: $($_.Exception.Message)" }
    exit 0
}
$run = Send-NekkCloudBackup -Path $Source @cloud -ErrorAction Continue
Write-Output ("NEKK {0} run={1} uploaded={2} skipped={3} bytes={4} resumedParts={5} errors={6}" -f $run.Status, $run.RunId, $run.FilesUploaded, $run.FilesSkipped, $run.BytesUploaded, $run.PartsResumed, $run.Errors)
$LASTEXITCODE = switch ($run.Status) { 'Succeeded' { 0 } 'CompletedWithErrors' { 2 } default { 1 } }
exit $LASTEXITCODE
