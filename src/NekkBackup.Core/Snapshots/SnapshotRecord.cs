using System;
using System.Collections.Generic;

namespace NekkBackup.Core.Snapshots
{
    /// <summary>Lifecycle of a recorded snapshot.</summary>
    public static class SnapshotStates
    {
        /// <summary>Intent written; the provider may or may not have created it yet.</summary>
        public const string Creating = "Creating";
        /// <summary>Created and identified.</summary>
        public const string Ready = "Ready";
        /// <summary>Its owner tried to remove it and failed: the next orphan cleanup retries.</summary>
        public const string ReleaseFailed = "ReleaseFailed";
    }

    /// <summary>One entry of snapshots.json: a snapshot this module made (or is making).</summary>
    public sealed class SnapshotRecord
    {
        public string SnapshotId { get; set; } = "";
        public string Provider { get; set; } = "";
        public string Volume { get; set; } = "";
        public string SourcePath { get; set; } = "";
        public string SnapshotPath { get; set; } = "";
        public DateTime CreatedUtc { get; set; }
        public string State { get; set; } = SnapshotStates.Creating;

        /// <summary>
        /// True for snapshots a person asked for (New-NekkSnapshot): they live until Remove-NekkSnapshot.
        /// False for the ones a run made for itself: they die with their owner process.
        /// </summary>
        public bool Persistent { get; set; }

        public int OwnerPid { get; set; }
        public long OwnerStartTicksUtc { get; set; }
        public string OwnerHost { get; set; } = "";

        /// <summary>Provider-specific facts needed to remove it (paths, vg/lv, shadow id).</summary>
        public Dictionary<string, string> Data { get; set; } = new(StringComparer.Ordinal);

        public string? Get(string key) => Data.TryGetValue(key, out var v) ? v : null;

        /// <summary>Data key of the snapshot's mode; "Block" for a device snapshot that is never mounted.</summary>
        public const string ModeKey = "Mode";
        public const string BlockMode = "Block";

        /// <summary>
        /// A block-level snapshot (Ghost images): made of a device or volume, not mounted, and
        /// <see cref="SnapshotPath"/> is the snapshot's device (/dev/vg/nekk_…, \\?\GLOBALROOT\Device\HarddiskVolumeShadowCopyN).
        /// </summary>
        public bool IsBlock => Get(ModeKey) == BlockMode;

        public SnapshotRecord Clone()
        {
            var c = (SnapshotRecord)MemberwiseClone();
            c.Data = new Dictionary<string, string>(Data, StringComparer.Ordinal);
            return c;
        }

        public Snapshot ToSnapshot() =>
            new(SnapshotId, Provider, Volume, SourcePath, SnapshotPath, DateTime.SpecifyKind(CreatedUtc, DateTimeKind.Utc).ToLocalTime());
    }
}
