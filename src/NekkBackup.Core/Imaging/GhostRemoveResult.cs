using System;

namespace NekkBackup
{
    /// <summary>What Remove-NekkGhostImage deleted (written with -PassThru).</summary>
    public sealed class GhostRemoveResult
    {
        public string Repository { get; init; } = "";
        public string[] RemovedImageIds { get; init; } = Array.Empty<string>();
        /// <summary>With -Retention: the images the policy kept.</summary>
        public string[] KeptImageIds { get; init; } = Array.Empty<string>();
        public long FreedBytes { get; init; }
        public long ChunksDeleted { get; init; }
        /// <summary>True when a capture was running, so unreferenced chunks were left for the next Remove.</summary>
        public bool GarbageCollectionDeferred { get; init; }
    }
}
