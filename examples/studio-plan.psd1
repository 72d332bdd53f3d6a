# NekkBackup backup plan for a recording studio workstation (docs/plan-schema.md).
# Push it with Intune or an RMM tool to C:\ProgramData\NekkBackup\studio.psd1, then run
# Register-NekkBackupPlan once (elevated). No secret ever goes in this file: store the NAS and bucket
# credentials as SYSTEM with Set-NekkCredential.
@{
    SchemaVersion   = 1
    Name            = 'studio'

    # Copy 2 (other media): versioned folder backup to the NAS, read from a VSS snapshot.
    Sources         = @('D:\Sessions', 'D:\Samples')
    NasDestination  = '\\nas\backup\studio-a'
    Folder          = @{
        Snapshot          = 'Auto'
        Exclude           = @('*.tmp', '**/Fade Files/**', '**/Rendered Files/**')
        Include           = @()
        MaxChangedPercent = 30
    }
    Retention       = @{ KeepLast = 12; Daily = 14; Weekly = 8; Monthly = 12 }

    # System layer: a Ghost image of C: on a DIFFERENT share than the folder backups.
    Image           = @{ Source = '\\.\C:'; Repository = '\\nas2\ghost\studio-a' }

    # Copy 3 (off-site): Backblaze B2 through its S3-compatible endpoint.
    Cloud           = @{
        Bucket             = 'studio-offsite'
        Endpoint           = 'https://s3.eu-central-003.backblazeb2.com'
        Prefix             = 'nekk'
        Region             = 'eu-central-003'
        ModifiedWithinDays = 30
    }
    # Bucket retention after each upload (Remove-NekkCloudBackup -Retention): nothing younger than 24 h, nothing under
    # Object Lock, nothing inside its storage class's minimum duration is ever deleted.
    CloudRetention  = @{ KeepLast = 14; Weekly = 8; Monthly = 12 }

    # The quarterly drill restores a seeded random sample of the latest cloud run (at least 5 % of its files and
    # 1 GiB) to scratch space and checks every byte; Cloud = 'Full' restores all of it.
    Drill           = @{ Cloud = 'Sample'; SamplePercent = 5; SampleGB = 1; ThawTier = 'Standard' }

    # Local wall-clock times; Grace = how late a run may be before compliance calls it stale.
    Schedules       = @{
        Folder = @{ Frequency = 'Interval'; At = '08:00'; Until = '20:00'; EveryHours = 4; Days = @('Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'); Grace = '1h' }
        Cloud  = @{ Frequency = 'Daily'; At = '21:00'; Grace = '6h' }
        Image  = @{ Frequency = 'Weekly'; At = '02:00'; Days = @('Sun'); Grace = '1d' }
        Drill  = @{ Frequency = 'Quarterly'; At = '03:00'; Grace = '7d' }
    }

    # Never drop a take: while one of these runs, jobs wait for the next slot.
    Daw             = @{
        Processes = @('ProTools', 'Pro Tools', 'Logic Pro*', 'Ableton Live*', 'Cubase*', 'Nuendo*', 'Studio One*', 'reaper', 'FL', 'FL64')
        Policy    = 'Defer'
    }

    # Every host of the studio publishes here; read them all with Get-NekkFleetStatus -Path \\nas\backup\_fleet.
    FleetStatusPath = '\\nas\backup\_fleet'
}
