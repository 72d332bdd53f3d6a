using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace NekkBackup.Core.Plans
{
    /// <summary>One thing that happened to a leg, as read from where the leg keeps its data.</summary>
    public sealed class EvidenceRecord
    {
        public DateTime StartedUtc { get; init; }
        public DateTime FinishedUtc { get; init; }
        /// <summary>Succeeded / CompletedWithErrors / Passed count as good; anything else is not.</summary>
        public string Status { get; init; } = "";
        public string Id { get; init; } = "";
        /// <summary>Where it was read (a manifest path, a bucket key, a history file).</summary>
        public string From { get; init; } = "";
        public string? Detail { get; init; }
        /// <summary>Bytes the run added to the destination (copied, new chunks, uploaded), when the leg records it.</summary>
        public long? Bytes { get; init; }

        public bool IsGood => Status == "Succeeded" || Status == "CompletedWithErrors" || Status == "Passed" || Status == "Warning";
    }

    /// <summary>What one evidence source found for one leg of a plan.</summary>
    public sealed class LegEvidence
    {
        public PlanLeg Leg { get; init; }
        /// <summary>The destination that was read (NAS path, repository, s3://bucket/prefix/host).</summary>
        public string Location { get; init; } = "";
        /// <summary>False when the leg is not in the plan.</summary>
        public bool Configured { get; init; } = true;
        /// <summary>Why the evidence could not be read (unreachable, engine missing); null when it was.</summary>
        public string? Problem { get; init; }
        /// <summary>Runs (backups, captures, uploads), oldest first.</summary>
        public IReadOnlyList<EvidenceRecord> Runs { get; init; } = Array.Empty<EvidenceRecord>();
        /// <summary>Integrity checks and restore drills found for this leg, oldest first.</summary>
        public IReadOnlyList<EvidenceRecord> Checks { get; init; } = Array.Empty<EvidenceRecord>();
        /// <summary>Full verifications / restore drills, oldest first.</summary>
        public IReadOnlyList<EvidenceRecord> Drills { get; init; } = Array.Empty<EvidenceRecord>();

        public static LegEvidence NotConfigured(PlanLeg leg) => new() { Leg = leg, Configured = false };
    }

    /// <summary>
    /// The seam each leg plugs into: reads the leg's evidence from its destination (folder manifests,
    /// Ghost images and drill records, cloud manifests). Register implementations in <see cref="PlanLegRegistry"/>.
    /// </summary>
    public interface ILegEvidenceSource
    {
        PlanLeg Leg { get; }
        Task<LegEvidence> ReadAsync(BackupPlan plan, CancellationToken cancellationToken);
    }

    /// <summary>What a job run needs.</summary>
    public sealed class PlanJobContext
    {
        public BackupPlan Plan { get; init; } = new();
        public string PlanRunId { get; init; } = "";
        /// <summary>A DAW is running and the plan says Throttle: low I/O and bandwidth budget.</summary>
        public bool Throttled { get; init; }
        public Observability.IRunObserver Observer { get; init; } = Observability.NullRunObserver.Instance;
    }

    /// <summary>The seam each leg's engine plugs into: runs one job of a plan and returns its steps.</summary>
    public interface ILegRunner
    {
        PlanLeg Leg { get; }
        Task<IReadOnlyList<PlanHistoryEntry>> RunAsync(PlanJobContext context, CancellationToken cancellationToken);
    }
}
