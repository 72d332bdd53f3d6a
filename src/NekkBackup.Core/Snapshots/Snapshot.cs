using System;

namespace NekkBackup
{
    /// <summary>
    /// A read-only point-in-time snapshot NekkBackup made (New-NekkSnapshot, Get-NekkSnapshot, and the
    /// snapshots a backup run reads from). <see cref="SnapshotPath"/> holds the same tree as
    /// <see cref="SourcePath"/> had when <see cref="Created"/>.
    /// </summary>
    public sealed class Snapshot
    {
        public Snapshot(string snapshotId, string provider, string volume, string sourcePath, string snapshotPath, DateTime created)
        {
            SnapshotId = snapshotId;
            Provider = provider;
            Volume = volume;
            SourcePath = sourcePath;
            SnapshotPath = snapshotPath;
            Created = created;
        }

        /// <summary>"Btrfs:nekk_…", "Lvm:vg/nekk_…" or "Vss:{GUID}".</summary>
        public string SnapshotId { get; }

        /// <summary>Vss, Btrfs or Lvm.</summary>
        public string Provider { get; }

        /// <summary>What was snapshotted: the VSS volume (\\?\Volume{…}\ or D:\), the btrfs subvolume, or vg/lv.</summary>
        public string Volume { get; }

        /// <summary>The live path the snapshot was asked for.</summary>
        public string SourcePath { get; }

        /// <summary>
        /// The same path inside the snapshot (read-only). For the block snapshot a Ghost capture reads, the
        /// snapshot's device (/dev/vg/nekk_…, or the shadow's \\?\GLOBALROOT\Device\HarddiskVolumeShadowCopyN).
        /// </summary>
        public string SnapshotPath { get; }

        /// <summary>When the snapshot was taken (local time).</summary>
        public DateTime Created { get; }

        public override string ToString() => SnapshotId;
    }
}
