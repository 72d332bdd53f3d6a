using System;

namespace NekkBackup
{
    /// <summary>Result of Send-NekkCloudBackup (PRODUCT.md §3.4).</summary>
    public sealed class CloudRun
    {
        public string RunId { get; init; } = "";
        public string Bucket { get; init; } = "";
        public string Prefix { get; init; } = "";
        public long FilesScanned { get; init; }
        public long FilesUploaded { get; init; }
        public long FilesSkipped { get; init; }
        public long BytesUploaded { get; init; }
        public long PartsResumed { get; init; }
        public TimeSpan Duration { get; init; }
        public long Errors { get; init; }
        /// <summary>Succeeded, CompletedWithErrors, Failed or Cancelled.</summary>
        public string Status { get; init; } = "";
        /// <summary>The manifest key written last (the source of truth for this run).</summary>
        public string ManifestKey { get; init; } = "";
    }
}
