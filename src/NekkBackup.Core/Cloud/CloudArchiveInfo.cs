using System;

namespace NekkBackup
{
    /// <summary>One archived project in a bucket (Get-NekkCloudArchive, PRODUCT.md §3.4).</summary>
    public sealed class CloudArchiveInfo
    {
        public string ArchiveId { get; init; } = "";
        /// <summary>The project folder's name (the top folder inside the tar).</summary>
        public string Project { get; init; } = "";
        public string Host { get; init; } = "";
        public DateTime Created { get; init; }
        /// <summary>Bytes of the tar object.</summary>
        public long SizeBytes { get; init; }
        public long Files { get; init; }
        /// <summary>The object's storage class as the bucket reports it now (lifecycle rules may have moved it).</summary>
        public string StorageClass { get; init; } = "";
        /// <summary>Cold (must be thawed), Thawing (a thaw runs) or Available (readable now).</summary>
        public string State { get; init; } = "";
        /// <summary>When the thawed copy of a cold object expires (null unless thawed).</summary>
        public DateTime? ThawedUntil { get; init; }
        public string Bucket { get; init; } = "";
        public string Key { get; init; } = "";
        /// <summary>The folder that was archived, as it was named on the machine that sent it.</summary>
        public string Source { get; init; } = "";

        public override string ToString() => ArchiveId;
    }
}
