using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Cloud;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Primitives;

namespace NekkBackup.Core.Plans
{
    /// <summary>
    /// The cloud part of the plan's drill (<see cref="DrillLegRunner"/> gets <see cref="DrillAsync"/> by constructor): the
    /// plan's Drill settings on <see cref="CloudDrillEngine"/>, as the Drill/CloudDrill history step. A drill waiting for a
    /// thaw is finished by the next drill or by the daily cloud run (<see cref="FinishPendingAsync"/>).
    /// </summary>
    public static class CloudDrillLeg
    {
        public const string Step = "CloudDrill";

        public static CloudDrillOptions Options(BackupPlan plan, PlanJobContext ctx) => new()
        {
            Full = plan.Drill.Full,
            SamplePercent = plan.Drill.SamplePercent,
            SampleMinBytes = plan.Drill.SampleMinBytes,
            Seed = plan.Drill.Seed,
            // Per plan under a shared Drill.Scratch too: a drill removes what earlier drills of its own plan left, never another's.
            ScratchRoot = plan.Drill.Scratch != null ? System.IO.Path.Combine(plan.Drill.Scratch, SystemdUnits.Sanitize(plan.Name)) : PlanPaths.PlanDataDirectory(plan),
            ThawTier = plan.Drill.ThawTier,
            ThrottleLimit = ctx.Throttled ? 1 : 4,
            Plan = plan.Name,
        };

        public static async Task<PlanHistoryEntry> DrillAsync(PlanJobContext ctx, CancellationToken ct)
        {
            var start = DateTime.UtcNow;
            try
            {
                var engine = new CloudDrillEngine(CloudLegRunner.Target(ctx.Plan), ctx.Observer);
                return Entry(ctx, start, await engine.RunAsync(Options(ctx.Plan, ctx), ct).ConfigureAwait(false));
            }
            catch (NekkBackupException ex)
            {
                return PlanRunner.Entry(ctx, PlanLeg.Drill, Step, start, PlanRunner.StatusOf(ex), ex.Message);
            }
        }

        /// <summary>After the daily upload: finishes a cloud drill whose thaw has completed; null when none waits or it still thaws.</summary>
        public static async Task<PlanHistoryEntry?> FinishPendingAsync(PlanJobContext ctx, CancellationToken ct)
        {
            var start = DateTime.UtcNow;
            try
            {
                var engine = new CloudDrillEngine(CloudLegRunner.Target(ctx.Plan), ctx.Observer);
                var r = await engine.FinishPendingAsync(Options(ctx.Plan, ctx), ct).ConfigureAwait(false);
                return r == null || r.Status == CloudDrillRecord.ThawRequested ? null : Entry(ctx, start, r);
            }
            catch (NekkBackupException ex) when (ex.Kind != FailureKind.OperationStopped)
            {
                return PlanRunner.Entry(ctx, PlanLeg.Drill, Step, start, PlanRunner.StatusOf(ex), ex.Message);
            }
        }

        private static PlanHistoryEntry Entry(PlanJobContext ctx, DateTime start, CloudDrillRecord r) => new()
        {
            Plan = ctx.Plan.Name, Host = ctx.Plan.Host, PlanRunId = ctx.PlanRunId, Job = PlanLeg.Drill.ToString(), Step = Step,
            StartedUtc = start, FinishedUtc = DateTime.UtcNow, Status = r.Status, LegRunId = r.RunId,
            Files = r.FilesVerified, Bytes = r.BytesVerified, Errors = r.Errors, Throttled = ctx.Throttled, Detail = Describe(r),
        };

        public static string Describe(CloudDrillRecord r)
        {
            var what = r.Scope == "Full"
                ? $"run {r.RunId}: all {r.FilesSelected} files ({ByteSize.Format(r.BytesSelected)})"
                : $"run {r.RunId}: sample of {r.FilesSelected} of {r.FilesInRun} files ({ByteSize.Format(r.BytesSelected)} of {ByteSize.Format(r.BytesInRun)}, seed {r.Seed})";
            return r.Status switch
            {
                CloudDrillRecord.Passed => $"{what} restored to scratch space and verified against the manifest; drill {r.DrillId}",
                CloudDrillRecord.ThawRequested =>
                    $"{what}: {r.ThawRequestedFiles} file(s) are in cold storage; a thaw was requested (tier {r.ThawTier}, expect up to {r.ExpectedWaitHours ?? 0:0.#} hours; " +
                    $"{ColdStorage.BillingNote.TrimEnd('.').ToLowerInvariant()}). The daily cloud run or the next Invoke-NekkBackupPlan -Job Drill finishes drill {r.DrillId}; until then the drill rule is not met",
                _ => $"{what}: {r.Errors} error(s), {r.FilesVerified} verified — " + string.Join("; ", r.Problems.Take(5)) + (r.Problems.Count > 5 ? $"; … ({r.Problems.Count} in drill {r.DrillId})" : ""),
            };
        }

        /// <summary>The cloud drills as evidence: all of them as drills (Passed, Failed, ThawRequested), finished ones as checks.</summary>
        internal static (List<EvidenceRecord> Drills, List<EvidenceRecord> Checks) Evidence(IEnumerable<(string Key, CloudDrillRecord Record)> records, string bucket)
        {
            var drills = records.Select(x => new EvidenceRecord
            {
                StartedUtc = x.Record.StartedUtc, FinishedUtc = x.Record.FinishedUtc, Status = x.Record.Status, Id = x.Record.DrillId,
                From = $"s3://{bucket}/{x.Key}", Detail = Describe(x.Record), Bytes = x.Record.BytesVerified,
            }).ToList();
            return (drills, drills.Where(d => d.Status != CloudDrillRecord.ThawRequested).ToList());
        }
    }
}
