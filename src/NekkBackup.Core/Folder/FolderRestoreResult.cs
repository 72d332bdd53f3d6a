using System;
using System.Collections.Generic;

namespace NekkBackup
{
    /// <summary>Result of Restore-NekkFolder.</summary>
    public sealed class FolderRestoreResult
    {
        public string RunId { get; init; } = "";
        public string Target { get; init; } = "";
        public long FilesRestored { get; init; }
        public long BytesRestored { get; init; }
        public int Errors { get; init; }
        public TimeSpan Duration { get; init; }
        /// <summary>Succeeded, CompletedWithErrors, Failed or Cancelled.</summary>
        public string Status { get; init; } = "";
        public IReadOnlyList<string> ErrorDetails { get; init; } = Array.Empty<string>();

        public override string ToString() => $"{RunId} -> {Target} {Status}";
    }
}
