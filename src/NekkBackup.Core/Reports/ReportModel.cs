using System;
using System.Collections.Generic;
using NekkBackup.Core.Plans;

namespace NekkBackup.Core.Reports
{
    /// <summary>Everything one HTML report shows, built from the evidence compliance reads (never a second source).</summary>
    public sealed class ReportDocument
    {
        public string Title { get; init; } = "";
        /// <summary>What the report was built from (a plan file, a fleet folder, a bucket).</summary>
        public string Source { get; init; } = "";
        public DateTime GeneratedLocal { get; init; }
        public int Days { get; init; }
        public IReadOnlyList<HostReport> Hosts { get; init; } = Array.Empty<HostReport>();
        /// <summary>The fleet table (one row per host status read); null for a single plan.</summary>
        public IReadOnlyList<FleetHostStatus>? Fleet { get; init; }
        /// <summary>Things the reader should know about how the report was made (e.g. a status file that could not be read).</summary>
        public IReadOnlyList<string> Notes { get; init; } = Array.Empty<string>();
    }

    /// <summary>One host (one plan): its verdict, findings, legs and drills.</summary>
    public sealed class HostReport
    {
        public string Host { get; init; } = "";
        public string Plan { get; init; } = "";
        public ReportVerdict Verdict { get; init; } = new();
        public IReadOnlyList<ComplianceFinding> Findings { get; init; } = Array.Empty<ComplianceFinding>();
        public IReadOnlyList<ReportLeg> Legs { get; init; } = Array.Empty<ReportLeg>();
        public IReadOnlyList<ReportDrill> Drills { get; init; } = Array.Empty<ReportDrill>();
        /// <summary>When the verdict was reported (a fleet host's status time); null when judged now.</summary>
        public DateTime? ReportedLocal { get; init; }
    }

    /// <summary>The verdict in plain words.</summary>
    public sealed class ReportVerdict
    {
        /// <summary>Safe, Attention (safe with warnings), AtRisk (a rule fails) or NotProtected (no backup ever ran).</summary>
        public string Level { get; init; } = "NotProtected";
        public string Headline { get; init; } = "";
        /// <summary>What is wrong, one sentence each.</summary>
        public IReadOnlyList<string> Problems { get; init; } = Array.Empty<string>();
        /// <summary>What to do next, in order.</summary>
        public IReadOnlyList<string> NextSteps { get; init; } = Array.Empty<string>();
    }

    /// <summary>One leg's runs over the report window.</summary>
    public sealed class ReportLeg
    {
        public PlanLeg Leg { get; init; }
        public string Title { get; init; } = "";
        public string Location { get; init; } = "";
        public string? Problem { get; init; }
        public string Schedule { get; init; } = "";
        public DateTime? NextRunLocal { get; init; }
        public IReadOnlyList<ReportRun> Runs { get; init; } = Array.Empty<ReportRun>();
        /// <summary>Cumulative bytes the leg's runs added to storage over the window, one point per run that recorded bytes.</summary>
        public IReadOnlyList<GrowthPoint> Growth { get; init; } = Array.Empty<GrowthPoint>();
    }

    /// <summary>One run as the charts and tables show it.</summary>
    public sealed class ReportRun
    {
        public DateTime StartedUtc { get; init; }
        public TimeSpan Duration { get; init; }
        /// <summary>Succeeded (incl. with errors), Failed, Refused or Other (cancelled, deferred, unreachable counted as Failed).</summary>
        public string Outcome { get; init; } = "";
        /// <summary>The status as recorded.</summary>
        public string Status { get; init; } = "";
        public long? Bytes { get; init; }
        public string? Detail { get; init; }
    }

    public sealed class GrowthPoint
    {
        public DateTime Utc { get; init; }
        public long Bytes { get; init; }
    }

    /// <summary>The latest restore drill of one kind.</summary>
    public sealed class ReportDrill
    {
        public string What { get; init; } = "";
        public DateTime? FinishedUtc { get; init; }
        public string Status { get; init; } = "";
        public string? Detail { get; init; }
    }
}
