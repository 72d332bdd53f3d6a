using System;

namespace NekkBackup
{
    /// <summary>One cloud run as its manifest records it (Get-NekkCloudBackup without -RunId, PRODUCT.md §3.4).</summary>
    public sealed class CloudRunInfo
    {
        public string RunId { get; init; } = "";
        public string Host { get; init; } = "";
        /// <summary>Local time the manifest was written (the run's commit point).</summary>
        public DateTime Created { get; init; }
        /// <summary>The folders the run uploaded, as named on the machine that sent them.</summary>
        public string[] Sources { get; init; } = Array.Empty<string>();
        /// <summary>Files the manifest maps to objects.</summary>
        public long Files { get; init; }
        /// <summary>Sum of the files' sizes (what a full restore of the run writes).</summary>
        public long SizeBytes { get; init; }
        /// <summary>True when the objects are encrypted client-side (restores need -EncryptionKey).</summary>
        public bool Encrypted { get; init; }
        /// <summary>Complete, or Damaged when the manifest cannot be read (Reason says why).</summary>
        public string Status { get; init; } = "";
        public string? Reason { get; init; }
        public string Bucket { get; init; } = "";
        public string ManifestKey { get; init; } = "";

        public override string ToString() => RunId;
    }
}
