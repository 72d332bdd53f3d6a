using System;

namespace NekkBackup
{
    /// <summary>What Restore-NekkGhostImage wrote.</summary>
    public sealed class GhostRestoreResult
    {
        public string ImageId { get; init; } = "";
        public string Target { get; init; } = "";
        /// <summary>Raw or Vhd.</summary>
        public string Format { get; init; } = "";
        /// <summary>Size of what was written: the volume (Raw) or the whole VHD file.</summary>
        public long SizeBytes { get; init; }
        /// <summary>Where the volume starts inside the target (1 MiB for Vhd, 0 for Raw).</summary>
        public long VolumeOffset { get; init; }
        public string VolumeSha256 { get; init; } = "";
        public TimeSpan Duration { get; init; }
    }
}
