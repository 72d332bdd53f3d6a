using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace NekkBackup.Core.Plans
{
    /// <summary>
    /// Which engines this build has, per leg. The folder leg is built in; the Ghost image and cloud legs register
    /// their runner and evidence source here when their engines are part of the build (see docs/plan-schema.md,
    /// "Wiring a leg"). A leg without a runner reports a clear NotAvailable failure instead of pretending.
    /// </summary>
    public static class PlanLegRegistry
    {
        private static readonly object Gate = new();
        private static readonly Dictionary<PlanLeg, ILegRunner> Runners = new();
        private static readonly Dictionary<PlanLeg, ILegEvidenceSource> Sources = new();

        static PlanLegRegistry()
        {
            Register(new FolderLegRunner());
            Register(new DrillLegRunner());
            Register(new FolderEvidenceSource());
            Register(new ImageEvidenceSource());
            LegWiring.RegisterOptionalLegs();
        }

        public static void Register(ILegRunner runner)
        {
            lock (Gate) Runners[runner.Leg] = runner;
        }

        public static void Register(ILegEvidenceSource source)
        {
            lock (Gate) Sources[source.Leg] = source;
        }

        public static ILegRunner? Runner(PlanLeg leg)
        {
            lock (Gate) return Runners.TryGetValue(leg, out var r) ? r : null;
        }

        public static ILegEvidenceSource? Evidence(PlanLeg leg)
        {
            lock (Gate) return Sources.TryGetValue(leg, out var s) ? s : null;
        }

        /// <summary>Evidence for every leg (not-configured legs and missing engines come back with Problem set).</summary>
        public static async Task<EvidenceSet> GatherAsync(BackupPlan plan, CancellationToken ct)
        {
            var set = new Dictionary<PlanLeg, LegEvidence>();
            foreach (var leg in new[] { PlanLeg.Folder, PlanLeg.Image, PlanLeg.Cloud })
            {
                bool configured = leg switch { PlanLeg.Image => plan.HasImage, PlanLeg.Cloud => plan.HasCloud, _ => true };
                if (!configured) { set[leg] = LegEvidence.NotConfigured(leg); continue; }
                var src = Evidence(leg);
                if (src == null)
                {
                    set[leg] = new LegEvidence
                    {
                        Leg = leg,
                        Location = leg == PlanLeg.Cloud ? $"s3://{plan.Bucket}/{plan.Prefix}" : "",
                        Problem = $"this build of NekkBackup has no {leg} engine to read the evidence with",
                    };
                    continue;
                }
                try { set[leg] = await src.ReadAsync(plan, ct).ConfigureAwait(false); }
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
