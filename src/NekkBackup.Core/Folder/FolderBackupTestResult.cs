using System;

namespace NekkBackup
{
    /// <summary>Result of Test-NekkFolderBackup.</summary>
    public sealed class FolderBackupTestResult
    {
        public string Destination { get; init; } = "";
        public bool Full { get; init; }
        public int RunsChecked { get; init; }
        public long FilesChecked { get; init; }
        public long BytesVerified { get; init; }
        /// <summary>Damage: each names the file (and the stored object) and what is wrong.</summary>
        public string[] Problems { get; init; } = Array.Empty<string>();
        /// <summary>Passed, Failed (problems) or Warning (only warnings).</summary>
        public string Status { get; init; } = "";
        /// <summary>Not damage: an interrupted run, a stale lock, leftovers.</summary>
        public string[] Warnings { get; init; } = Array.Empty<string>();

        public override string ToString() => $"{Destination} {Status}";
    }
}
