using System;

namespace NekkBackup
{
    /// <summary>Result of Test-NekkGhostImage: a chunk check, or with Full a restore drill.</summary>
    public sealed class GhostImageTestResult
    {
        public string Repository { get; init; } = "";
        /// <summary>The images tested (binds to -ImageId down the pipeline).</summary>
        public string[] ImageId { get; init; } = Array.Empty<string>();
        /// <summary>True for a restore drill: every byte of every image reconstructed and verified.</summary>
        public bool Full { get; init; }
        public long ChunksChecked { get; init; }
        public long BytesVerified { get; init; }
        public GhostImageProblem[] Problems { get; init; } = Array.Empty<GhostImageProblem>();
        /// <summary>Passed or Failed.</summary>
        public string Status { get; init; } = "";
        public bool Succeeded => Problems.Length == 0;
        public DateTime Started { get; init; }
        public TimeSpan Duration { get; init; }
        /// <summary>Paths of the drill records written under drills/ (Full only), one per image.</summary>
        public string[] DrillRecords { get; init; } = Array.Empty<string>();
    }
}
