using System;

namespace NekkBackup.Core.Storage
{
    public enum PutMode
    {
        /// <summary>Replace an existing object.</summary>
        Overwrite,

        /// <summary>Fail with AlreadyExists when the key exists (first writer wins).</summary>
        CreateNew,
    }

    /// <summary>How one object is stored. The defaults suit state files: overwrite, durable.</summary>
    public sealed class PutOptions
    {
        public static readonly PutOptions Default = new();
        public static readonly PutOptions CreateNew = new() { Mode = PutMode.CreateNew };

        public PutMode Mode { get; init; } = PutMode.Overwrite;

        /// <summary>
        /// Lower-case SHA-256 hex the content must have. The target hashes while it writes and refuses
        /// (ContentMismatch, nothing published) when it differs.
        /// </summary>
        public string? ExpectedSha256 { get; init; }

        /// <summary>
        /// True (default): the object is on stable storage when the put returns (fsync on a file system).
        /// Content-addressed chunks that are re-verified at commit may turn it off for speed: a local folder then starts
        /// writing the object back at once without waiting, and the caller flushes the file system at its durability point.
        /// </summary>
        public bool Durable { get; init; } = true;

        /// <summary>S3 Object Lock until this time (mode <see cref="RetentionMode"/>); NotSupported without <see cref="TargetCapabilities.ObjectLock"/>.</summary>
        public DateTime? RetainUntilUtc { get; init; }

        /// <summary>GOVERNANCE or COMPLIANCE, with <see cref="RetainUntilUtc"/>.</summary>
        public string? RetentionMode { get; init; }

        /// <summary>Content type for stores that keep one (S3).</summary>
        public string ContentType { get; init; } = "application/octet-stream";
    }
}
