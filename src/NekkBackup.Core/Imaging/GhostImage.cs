using System;

namespace NekkBackup
{
    /// <summary>One block-level image in a Ghost repository (New-/Get-NekkGhostImage output).</summary>
    public sealed class GhostImage
    {
        public string ImageId { get; init; } = "";
        /// <summary>The volume, device or image file that was captured (as the user named it).</summary>
        public string Source { get; init; } = "";
        public string Host { get; init; } = "";
        public DateTime Created { get; init; }
        /// <summary>Size of the captured volume in bytes.</summary>
        public long SizeBytes { get; init; }
        /// <summary>Bytes the repository holds for this image's distinct chunks (compressed), shared or not.</summary>
        public long StoredBytes { get; init; }
        /// <summary>Bytes this capture added to the repository (chunks no earlier image had).</summary>
        public long NewBytes { get; init; }
        /// <summary>Number of fixed-size chunks (including all-zero ones, which take no space).</summary>
        public long Chunks { get; init; }
        public TimeSpan Duration { get; init; }
        public string[] Tags { get; init; } = Array.Empty<string>();
        /// <summary>SHA-256 of the whole volume as captured (compare with `sha256sum /dev/…`); empty unless the capture asked for it (VolumeDigest).</summary>
        public string VolumeSha256 { get; init; } = "";
        /// <summary>Plugins recorded in the image's inventory (PRODUCT.md §3.7).</summary>
        public int PluginCount { get; init; }
        /// <summary>AllBlocks (every byte, bit for bit) or UsedBlocks (allocated blocks only, free space as zeros): what the capture did.</summary>
        public NekkBackup.Core.Imaging.GhostCaptureMode Mode { get; init; }
        /// <summary>Bytes the capture read as data: the allocated bytes of a UsedBlocks image, the whole volume otherwise.</summary>
        public long UsedBytes { get; init; }
        /// <summary>The repository the image lives in.</summary>
        public string Repository { get; init; } = "";

        public override string ToString() => ImageId;
    }
}
