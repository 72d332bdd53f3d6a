using System;
using System.Collections.Generic;

namespace NekkBackup
{
    /// <summary>One Backup-NekkFolder run (PRODUCT.md §3.1).</summary>
    public sealed class FolderBackupRun
    {
        public string RunId { get; init; } = "";
        public string[] Source { get; init; } = Array.Empty<string>();
        public string Destination { get; init; } = "";
        /// <summary>Local time the run started.</summary>
        public DateTime Started { get; init; }
        public TimeSpan Duration { get; init; }
        public long FilesScanned { get; init; }
        public long FilesCopied { get; init; }
        public long FilesVersioned { get; init; }
        public long FilesDeleted { get; init; }
        public long BytesCopied { get; init; }
        public int Errors { get; init; }
        public string? SnapshotUsed { get; init; }
        /// <summary>Succeeded, CompletedWithErrors, Refused, Failed or Cancelled.</summary>
        public string Status { get; init; } = "";
        /// <summary>Why the run was refused or failed; null otherwise.</summary>
        public string? Reason { get; init; }
        public IReadOnlyList<string> ErrorDetails { get; init; } = Array.Empty<string>();

        public override string ToString() => $"{RunId} {Status}";
    }
}
