namespace NekkBackup
{
    /// <summary>One problem a Test found: which image, which chunk, what is wrong.</summary>
    public sealed class GhostImageProblem
    {
        public string ImageId { get; init; } = "";
        /// <summary>Position of the chunk in the image (0-based), or -1 when the problem is the image as a whole.</summary>
        public long ChunkIndex { get; init; }
        /// <summary>SHA-256 (hex) naming the chunk, or empty.</summary>
        public string Chunk { get; init; } = "";
        /// <summary>Missing, Corrupt, Unreadable, IndexCorrupt, VolumeDigestMismatch; for UsedBlocks images AllocationUnreadable, AllocationMismatch, FreeSpaceNotZero.</summary>
        public string Problem { get; init; } = "";
        public string Message { get; init; } = "";

        public override string ToString() => $"{ImageId} chunk {ChunkIndex} {Chunk}: {Problem} {Message}".Trim();
    }
}
