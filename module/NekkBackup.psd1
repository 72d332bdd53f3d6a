@{
    # Built into out/NekkBackup/<version>/ by build.ps1, which stamps ModuleVersion from Directory.Build.props.
    RootModule             = 'NekkBackup.psm1'
    ModuleVersion          = '{{ModuleVersion}}'
    GUID                   = '5b0f0b7e-4a1c-4c52-9a55-6e2f1c3d7a10'
    Author                 = 'NekkBackup contributors'
    CompanyName            = 'NekkBackup contributors'
    Copyright              = '(c) 2026 NekkBackup contributors. MIT License (LICENSE in the module folder).'
    Description            = '3-2-1 backup for studios: versioned NAS folder backup from snapshots, Ghost block images, S3 off-site copies and a compliance check.'
    PowerShellVersion      = '5.1'
    DotNetFrameworkVersion = '4.7.2'
    CompatiblePSEditions   = @('Desktop', 'Core')
    FormatsToProcess       = @(
        'formats/Folder.Format.ps1xml'
        'formats/Cloud.Format.ps1xml'
        'formats/Ghost.Format.ps1xml'
        'formats/Snapshot.Format.ps1xml'
        'formats/Plans.Format.ps1xml'
        'formats/Reports.Format.ps1xml'
    )
    TypesToProcess         = @('NekkBackup.Types.ps1xml')
    # For best performance, do not use wildcards: every export is listed (build.ps1 checks the list against the assembly).
    CmdletsToExport        = @(
        'Backup-NekkFolder'
        'Get-NekkFolderBackup'
        'Restore-NekkFolder'
        'Test-NekkFolderBackup'
        'Send-NekkCloudBackup'
        'Send-NekkCloudArchive'
        'Get-NekkCloudBackup'
        'Restore-NekkCloudBackup'
        'Remove-NekkCloudBackup'
        'Get-NekkCloudArchive'
        'Restore-NekkCloudArchive'
        'New-NekkGhostImage'
        'Get-NekkGhostImage'
        'Restore-NekkGhostImage'
        'Test-NekkGhostImage'
        'Remove-NekkGhostImage'
        'Mount-NekkGhostImage'
        'Dismount-NekkGhostImage'
        'Compare-NekkPluginInventory'
        'New-NekkSnapshot'
        'Get-NekkSnapshot'
        'Remove-NekkSnapshot'
        'New-NekkBackupPlan'
        'Invoke-NekkBackupPlan'
        'Register-NekkBackupPlan'
        'Unregister-NekkBackupPlan'
        'Test-NekkBackupPlan'
        'Test-NekkBackupCompliance'
        'Get-NekkBackupHistory'
        'Get-NekkFleetStatus'
        'Set-NekkCredential'
        'Get-NekkCredential'
        'Remove-NekkCredential'
        'Export-NekkBackupReport'
        'Send-NekkBackupNotification'
    )
    FunctionsToExport      = @()
    AliasesToExport        = @()
    VariablesToExport      = @()
    PrivateData            = @{
        PSData = @{
            # Gallery search tags (no spaces). There is no project web site yet, so no ProjectUri, LicenseUri or HelpInfoUri:
            # the licence ships as LICENSE in the module folder.
            Tags         = @('Backup', 'Restore', '321', '3-2-1', 'NAS', 'S3', 'VSS', 'Snapshot', 'btrfs', 'LVM', 'DiskImage', 'Ghost',
                'Intune', 'RMM', 'Compliance', 'Studio', 'Audio', 'Windows', 'Linux', 'PSEdition_Desktop', 'PSEdition_Core')
            # Stamped by build.ps1 from the newest section of CHANGELOG.md that has content.
            ReleaseNotes = '{{ReleaseNotes}}'
        }
    }
}
