using System;
using System.Collections.Generic;

namespace NekkBackup
{
    /// <summary>Result of Restore-NekkCloudBackup.</summary>
    public sealed class CloudRestoreResult
    {
        public string RunId { get; init; } = "";
        public string Bucket { get; init; } = "";
        public string Target { get; init; } = "";
        public long FilesSelected { get; init; }
        public long FilesRestored { get; init; }
        public long BytesRestored { get; init; }
        /// <summary>Files that sit in a cold class (GLACIER/DEEP_ARCHIVE) and were asked to thaw instead of restored.</summary>
        public long ThawRequested { get; init; }
        /// <summary>Thaw tier asked for (Standard/Bulk/Expedited) when any thaw was requested.</summary>
        public string ThawTier { get; init; } = "";
        /// <summary>Expected wait before thawed objects can be read, when a thaw was requested.</summary>
        public TimeSpan? ExpectedWait { get; init; }
        public long Errors { get; init; }
        public TimeSpan Duration { get; init; }
        /// <summary>Succeeded, CompletedWithErrors, ThawRequested, Failed or Cancelled.</summary>
        public string Status { get; init; } = "";
        public IReadOnlyList<string> Warnings { get; init; } = Array.Empty<string>();
    }
}
