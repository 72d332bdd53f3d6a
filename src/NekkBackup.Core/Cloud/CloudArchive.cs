using System;
using System.Collections.Generic;

namespace NekkBackup
{
    /// <summary>Result of Send-NekkCloudArchive: one tar object plus its manifest.</summary>
    public sealed class CloudArchive
    {
        public string ArchiveId { get; init; } = "";
        public string Bucket { get; init; } = "";
        public string Key { get; init; } = "";
        public string ManifestKey { get; init; } = "";
        public long Files { get; init; }
        public long Bytes { get; init; }
        /// <summary>Bytes sent by this call (less than Bytes when an interrupted upload was resumed).</summary>
        public long BytesUploaded { get; init; }
        /// <summary>Parts an earlier, interrupted call had already stored.</summary>
        public long PartsResumed { get; init; }
        public string StorageClass { get; init; } = "";
        public TimeSpan Duration { get; init; }
        public string Status { get; init; } = "";
        public IReadOnlyList<string> Warnings { get; init; } = Array.Empty<string>();
    }
}
