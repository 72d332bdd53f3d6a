using System;

namespace NekkBackup
{
    /// <summary>One file as recorded in a cloud manifest (Get-NekkCloudBackup).</summary>
    public sealed class CloudBackupItem
    {
        public string Path { get; init; } = "";
        public long Size { get; init; }
        public DateTime LastWriteTimeUtc { get; init; }
        public string Hash { get; init; } = "";
        public string Key { get; init; } = "";
        public string RunId { get; init; } = "";
        public string StorageClass { get; init; } = "";
    }
}
