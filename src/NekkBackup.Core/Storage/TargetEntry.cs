using System;

namespace NekkBackup.Core.Storage
{
    /// <summary>One object in a target: its key, size and last-modified time (the store's clock).</summary>
    public sealed class TargetEntry
    {
        public TargetEntry(string key, long size, DateTime lastModifiedUtc, string? sha256 = null)
        {
            Key = key;
            Size = size;
            LastModifiedUtc = lastModifiedUtc;
            Sha256 = sha256;
        }

        public string Key { get; }
        public long Size { get; }
        public DateTime LastModifiedUtc { get; }

        /// <summary>Lower-case SHA-256 hex when the target computed it during a put; else null.</summary>
        public string? Sha256 { get; }

        public override string ToString() => $"{Key} ({Size} bytes)";
    }
}
