using System;

namespace NekkBackup
{
    /// <summary>An image's file system opened read-only for browsing (Mount-NekkGhostImage).</summary>
    public sealed class GhostMount
    {
        /// <summary>The folder the image's file system is mounted on.</summary>
        public string MountPoint { get; init; } = "";
        public string ImageId { get; init; } = "";
        public string Repository { get; init; } = "";
        /// <summary>The captured volume's name (as New-NekkGhostImage recorded it) and host.</summary>
        public string Source { get; init; } = "";
        public string Host { get; init; } = "";
        /// <summary>ext4, xfs, btrfs, ntfs, … as found in the image.</summary>
        public string FileSystem { get; init; } = "";
        /// <summary>The loop device (Linux) or the attached disk (Windows) the mount reads.</summary>
        public string Device { get; init; } = "";
        /// <summary>The temporary image file (sparse raw file, or fixed VHD on Windows) Dismount-NekkGhostImage deletes.</summary>
        public string ImageFile { get; init; } = "";
        public long SizeBytes { get; init; }
        public DateTime Mounted { get; init; }
        public bool ReadOnly { get; init; } = true;

        public override string ToString() => MountPoint;
    }
}
