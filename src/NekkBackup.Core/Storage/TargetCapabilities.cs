namespace NekkBackup.Core.Storage
{
    /// <summary>Which names a store refuses beyond <see cref="StorageKeys"/>' own grammar.</summary>
    public enum KeyNameRules
    {
        /// <summary>Any segment without '/' and NUL (ext4, btrfs, xfs).</summary>
        Posix,

        /// <summary>
        /// Windows/NTFS/SMB rules: no &lt; &gt; : " | ? * or control characters, no trailing dot or space,
        /// no reserved device names (CON, PRN, AUX, NUL, COM1-9, LPT1-9, with or without an extension).
        /// </summary>
        Windows,

        /// <summary>S3 object keys: any UTF-8 up to 1,024 bytes in total.</summary>
        ObjectStore,
    }

    /// <summary>
    /// What a target can do (restic's backend properties). Legs read it instead of testing for a kind:
    /// a Ghost capture on a store without <see cref="AtomicRename"/> still commits with one put, the cloud
    /// leg asks for <see cref="ObjectLock"/> only where it exists, and the conformance suite checks that
    /// each target's record tells the truth.
    /// </summary>
    public sealed record TargetCapabilities
    {
        /// <summary>"local" or "s3" (for messages; logic goes by the flags below).</summary>
        public string Kind { get; init; } = "";

        /// <summary>A put is never visible partially (temp + rename on a file system; a single S3 request). Always true for a conforming target.</summary>
        public bool AtomicPut { get; init; } = true;

        /// <summary><see cref="IBackupTarget.MoveAsync"/> is one atomic rename (file systems), not copy + delete (S3).</summary>
        public bool AtomicRename { get; init; }

        /// <summary><see cref="PutMode.CreateNew"/> is decided by the store itself, so two racing creators never both win.</summary>
        public bool ConditionalCreate { get; init; }

        /// <summary>The store checks a digest of each request's body (S3 Content-MD5), so transit corruption is refused, not stored.</summary>
        public bool ServerSideHash { get; init; }

        /// <summary>Write-once retention (S3 Object Lock) can be requested per object.</summary>
        public bool ObjectLock { get; init; }

        /// <summary>Largest object one put can store, in bytes.</summary>
        public long MaxObjectSize { get; init; } = long.MaxValue;

        /// <summary>Longest key (UTF-8 bytes for object stores, UTF-16 units per segment for file systems).</summary>
        public int MaxKeyLength { get; init; } = 1024;

        /// <summary>Longest single segment between '/' (255 on file systems).</summary>
        public int MaxSegmentLength { get; init; } = 1024;

        /// <summary>"a" and "A" are two objects. False on Windows shares and on case-folding mounts.</summary>
        public bool CaseSensitive { get; init; } = true;

        public KeyNameRules NameRules { get; init; } = KeyNameRules.Posix;

        /// <summary>Ranged reads cost no more than the bytes read.</summary>
        public bool RangedReads { get; init; } = true;

        /// <summary>
        /// The absolute folder behind a local target (null otherwise): a leg that must lay out plain browsable
        /// files (the folder mirror) or set file times uses it, everything else goes through the interface.
        /// </summary>
        public string? LocalRoot { get; init; }
    }
}
