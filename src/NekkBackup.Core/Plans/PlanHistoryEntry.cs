using System;

namespace NekkBackup
{
    /// <summary>
    /// One step of a plan run (Get-NekkBackupHistory, PlanRunResult.Jobs), kept as JSON lines next to the data
    /// (&lt;NasDestination&gt;/.nekkbackup/plan-history/&lt;host&gt;.jsonl) and locally under the data folder.
    /// </summary>
    public sealed class PlanHistoryEntry
    {
        public string Plan { get; init; } = "";
        public string Host { get; init; } = "";
        /// <summary>The Invoke-NekkBackupPlan run this step belongs to.</summary>
        public string PlanRunId { get; init; } = "";
        /// <summary>Folder, Image, Cloud or Drill.</summary>
        public string Job { get; init; } = "";
        /// <summary>Backup, Verify, FullVerify, Capture, ImageDrill, CloudDrill, Upload, Defer.</summary>
        public string Step { get; init; } = "";
        public DateTime StartedUtc { get; init; }
        public DateTime FinishedUtc { get; init; }
        /// <summary>Succeeded, CompletedWithErrors, Failed, Refused, Cancelled, Unreachable, Deferred, Passed, Warning, ThawRequested (a cloud drill waiting for cold objects).</summary>
        public string Status { get; init; } = "";
        /// <summary>The leg's own run id (folder RunId, image ImageId, cloud RunId) when there is one.</summary>
        public string? LegRunId { get; init; }
        public long Files { get; init; }
        public long Bytes { get; init; }
        public long Errors { get; init; }
        public bool Throttled { get; init; }
        public string? Detail { get; init; }

        /// <summary>Local start time (for tables).</summary>
        public DateTime Started => StartedUtc.ToLocalTime();
        public TimeSpan Duration => FinishedUtc - StartedUtc;

        public bool IsGood => Status == "Succeeded" || Status == "CompletedWithErrors" || Status == "Passed" || Status == "Warning";

        public override string ToString() => $"{Job}/{Step} {Status}";
    }
}
