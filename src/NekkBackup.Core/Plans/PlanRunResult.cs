using System;
using System.Collections.Generic;

namespace NekkBackup
{
    /// <summary>Result of Invoke-NekkBackupPlan (docs/exit-codes.md).</summary>
    public sealed class PlanRunResult
    {
        public string Plan { get; init; } = "";
        public string Host { get; init; } = "";
        public string RunId { get; init; } = "";
        /// <summary>Local time.</summary>
        public DateTime Started { get; init; }
        public TimeSpan Duration { get; init; }
        /// <summary>What was asked: Due, Folder, Image, Cloud or Drill.</summary>
        public string Requested { get; init; } = "";
        /// <summary>The legs that ran (or were deferred).</summary>
        public string[] JobsRun { get; init; } = Array.Empty<string>();
        /// <summary>Each step's record (also written to the history).</summary>
        public IReadOnlyList<PlanHistoryEntry> Jobs { get; init; } = Array.Empty<PlanHistoryEntry>();
        /// <summary>Succeeded, CompletedWithErrors, Failed, Refused, Cancelled, Unreachable, Deferred or NothingDue.</summary>
        public string Status { get; init; } = "";
        /// <summary>The process exit code this result maps to (0, 1, 2, 4; 3 is a bad plan, which has no result).</summary>
        public int ExitCode { get; init; }
        /// <summary>One line: why it did not simply succeed; null when it did.</summary>
        public string? Reason { get; init; }
        public bool Deferred { get; init; }
        public bool Throttled { get; init; }
        /// <summary>The DAW processes that deferred or throttled the run.</summary>
        public string[] DawProcesses { get; init; } = Array.Empty<string>();
        /// <summary>Where the host's status JSON was published (null when it could not be).</summary>
        public string? StatusPublishedTo { get; init; }

        public override string ToString() => $"{Plan} {Status}";
    }
}
