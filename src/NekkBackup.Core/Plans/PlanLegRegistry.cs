using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace NekkBackup.Core.Plans
{
    /// <summary>
    /// The legs of a plan, wired in one place (the static constructor below) and fixed from then on: each leg's
    /// runner and evidence source, and the bucket side of the cloud leg (<see cref="Bucket"/>: Test-NekkBackupPlan's
    /// probe and the fleet status objects). Runners get what they need by constructor (the drill gets the Ghost
    /// and cloud drills); nothing registers itself, and nothing can be swapped at run time. See docs/plan-schema.md, "Wiring a leg".
    /// </summary>
    public static class PlanLegRegistry
    {
        private static readonly IReadOnlyDictionary<PlanLeg, ILegRunner> Runners;
        private static readonly IReadOnlyDictionary<PlanLeg, ILegEvidenceSource> Sources;

        static PlanLegRegistry()
        {
            Runners = new Dictionary<PlanLeg, ILegRunner>
            {
                [PlanLeg.Folder] = new FolderLegRunner(),
                [PlanLeg.Image] = new GhostLegRunner(),
                [PlanLeg.Cloud] = new CloudLegRunner(),
                [PlanLeg.Drill] = new DrillLegRunner(GhostLegRunner.DrillAsync, CloudDrillLeg.DrillAsync),
            };
            Sources = new Dictionary<PlanLeg, ILegEvidenceSource>
            {
                [PlanLeg.Folder] = new FolderEvidenceSource(),
                [PlanLeg.Image] = new ImageEvidenceSource(),
                [PlanLeg.Cloud] = new CloudEvidenceSource(),
            };
            Bucket = new CloudPlanBucket();
        }

        /// <summary>The bucket side of plans: the probe, publishing and reading host status documents.</summary>
        public static IPlanBucket Bucket { get; }

        public static ILegRunner Runner(PlanLeg leg) => Runners[leg];

        public static ILegEvidenceSource Evidence(PlanLeg leg) => Sources[leg];

        /// <summary>Evidence for every leg (not-configured legs come back NotConfigured; a failed read sets Problem).</summary>
        public static async Task<EvidenceSet> GatherAsync(BackupPlan plan, CancellationToken ct)
        {
            var set = new Dictionary<PlanLeg, LegEvidence>();
            foreach (var leg in new[] { PlanLeg.Folder, PlanLeg.Image, PlanLeg.Cloud })
            {
                bool configured = leg switch { PlanLeg.Image => plan.HasImage, PlanLeg.Cloud => plan.HasCloud, _ => true };
                if (!configured) { set[leg] = LegEvidence.NotConfigured(leg); continue; }
                try { set[leg] = await Evidence(leg).ReadAsync(plan, ct).ConfigureAwait(false); }
                catch (OperationCanceledException) { throw; }
                catch (Exception ex)
                {
                    set[leg] = new LegEvidence { Leg = leg, Problem = ex.Message };
                }
            }
            return new EvidenceSet(set);
        }
    }

    /// <summary>The evidence for every leg of a plan.</summary>
    public sealed class EvidenceSet
    {
        private readonly IReadOnlyDictionary<PlanLeg, LegEvidence> _legs;

        public EvidenceSet(IReadOnlyDictionary<PlanLeg, LegEvidence> legs) => _legs = legs;

        public LegEvidence this[PlanLeg leg] => _legs.TryGetValue(leg, out var e) ? e : LegEvidence.NotConfigured(leg);
    }
}
