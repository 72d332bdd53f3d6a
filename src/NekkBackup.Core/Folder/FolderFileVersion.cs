using System;

namespace NekkBackup
{
    /// <summary>One version of one file as recorded by a run (Get-NekkFolderBackup -Path).</summary>
    public sealed class FolderFileVersion
    {
        /// <summary>Path relative to the destination ('/' separated, starts with the source folder name).</summary>
        public string Path { get; init; } = "";
        public string RunId { get; init; } = "";
        /// <summary>Local time the run started.</summary>
        public DateTime RunStarted { get; init; }
        public long Size { get; init; }
        public DateTime LastWriteTimeUtc { get; init; }
        /// <summary>SHA-256 (lower-case hex); null for a symlink or a deletion.</summary>
        public string? Hash { get; init; }
        /// <summary>Added, Changed, Unchanged or Deleted (compared with the run before).</summary>
        public string State { get; init; } = "";
        /// <summary>The link target when the item is a symbolic link.</summary>
        public string? LinkTarget { get; init; }

        public override string ToString() => $"{Path} @ {RunId} ({State})";
    }
}
