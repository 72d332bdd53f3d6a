using System;

namespace NekkBackup
{
    /// <summary>One file (or link) as recorded in a cloud manifest (Get-NekkCloudBackup).</summary>
    public sealed class CloudBackupItem
    {
        public string Path { get; init; } = "";
        public long Size { get; init; }
        public DateTime LastWriteTimeUtc { get; init; }
        public string Hash { get; init; } = "";
        public string Key { get; init; } = "";
        public string RunId { get; init; } = "";
        public string StorageClass { get; init; } = "";
        /// <summary>For a symbolic link or junction: its recorded target (no content is stored); null for a file.</summary>
        public string? LinkTarget { get; init; }
    }
}
