using System;
using System.Collections.Generic;

namespace NekkBackup
{
    /// <summary>Result of Restore-NekkCloudArchive.</summary>
    public sealed class CloudArchiveRestoreResult
    {
        public string ArchiveId { get; init; } = "";
        public string Bucket { get; init; } = "";
        public string Target { get; init; } = "";
        /// <summary>The archive's state when the call started: Cold, Thawing or Available.</summary>
        public string State { get; init; } = "";
        public long FilesSelected { get; init; }
        public long FilesRestored { get; init; }
        public long BytesRestored { get; init; }
        /// <summary>Bytes read from the bucket by this call.</summary>
        public long BytesDownloaded { get; init; }
        /// <summary>Bytes of files a killed or stopped earlier call had already written and verified (resume).</summary>
        public long BytesResumed { get; init; }
        /// <summary>Tier of the thaw requested (or running) for a cold archive.</summary>
        public string ThawTier { get; init; } = "";
        /// <summary>Expected wait before a cold archive can be read.</summary>
        public TimeSpan? ExpectedWait { get; init; }
        public long Errors { get; init; }
        public TimeSpan Duration { get; init; }
        /// <summary>Succeeded, CompletedWithErrors, ThawRequested (call again after the wait) or Thawing.</summary>
        public string Status { get; init; } = "";
        public IReadOnlyList<string> Warnings { get; init; } = Array.Empty<string>();
    }
}
