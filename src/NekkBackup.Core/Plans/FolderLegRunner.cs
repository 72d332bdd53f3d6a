using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Folder;
using NekkBackup.Core.Snapshots;
using NekkBackup.Core.Primitives;

namespace NekkBackup.Core.Plans
{
    /// <summary>The folder leg: Backup-NekkFolder with the plan's settings, then the quick integrity check.</summary>
    public sealed class FolderLegRunner : ILegRunner
    {
        public PlanLeg Leg => PlanLeg.Folder;

        public async Task<IReadOnlyList<PlanHistoryEntry>> RunAsync(PlanJobContext ctx, CancellationToken ct)
        {
            var plan = ctx.Plan;
            var steps = new List<PlanHistoryEntry>();
            var started = DateTime.UtcNow;
            var mode = (SnapshotMode)Enum.Parse(typeof(SnapshotMode), plan.Snapshot, true);
            var options = new FolderBackupOptions
            {
                Sources = plan.Sources,
                Destination = plan.NasDestination,
                Include = plan.Include.Length > 0 ? plan.Include : null,
                Exclude = plan.Exclude.Length > 0 ? plan.Exclude : null,
                MaxChangedPercent = plan.MaxChangedPercent,
                Retention = plan.Retention,
                // Throttled (a DAW is recording): one file at a time keeps the disk free for the session.
                ThrottleLimit = ctx.Throttled ? 1 : Math.Max(1, Environment.ProcessorCount * 2),
                SourceResolver = SnapshotSources.ForMode(mode, ctx.Observer),
            };
            FolderBackupRun run;
            try
            {
                run = await FolderBackupEngine.BackupAsync(options, ctx.Observer, ct).ConfigureAwait(false);
            }
            catch (NekkBackupException ex)
            {
                steps.Add(PlanRunner.Entry(ctx, Leg, "Backup", started, PlanRunner.StatusOf(ex), ex.Message));
                return steps;
            }
            steps.Add(new PlanHistoryEntry
            {
                Plan = plan.Name, Host = plan.Host, PlanRunId = ctx.PlanRunId, Job = Leg.ToString(), Step = "Backup",
                StartedUtc = started, FinishedUtc = DateTime.UtcNow, Status = run.Status, LegRunId = run.RunId,
                Files = run.FilesCopied, Bytes = run.BytesCopied, Errors = run.Errors, Throttled = ctx.Throttled,
                Detail = run.Reason ?? $"{run.FilesScanned} scanned, {run.FilesCopied} copied ({ByteSize.Format(run.BytesCopied)}), {run.FilesVersioned} versioned, {run.FilesDeleted} deleted",
            });
            if (run.Status != "Succeeded" && run.Status != "CompletedWithErrors") return steps;

            var checkStart = DateTime.UtcNow;
            try
            {
                var t = await FolderBackupEngine.TestAsync(plan.NasDestination, false, ctx.Observer, ct).ConfigureAwait(false);
                steps.Add(new PlanHistoryEntry
                {
                    Plan = plan.Name, Host = plan.Host, PlanRunId = ctx.PlanRunId, Job = Leg.ToString(), Step = "Verify",
                    StartedUtc = checkStart, FinishedUtc = DateTime.UtcNow, Status = t.Status, LegRunId = run.RunId,
                    Files = t.FilesChecked, Errors = t.Problems.Length,
                    Detail = t.Problems.Length > 0 ? string.Join("; ", t.Problems) : $"{t.RunsChecked} runs, {t.FilesChecked} files present",
                });
            }
            catch (NekkBackupException ex)
            {
                steps.Add(PlanRunner.Entry(ctx, Leg, "Verify", checkStart, "Failed", ex.Message));
            }
            return steps;
        }
    }

    /// <summary>
    /// The restore drill: every stored byte of the folder backup re-hashed (Test-NekkFolderBackup -Full) and, with an
    /// image leg, the Ghost drill it is given, and with a cloud leg, the cloud drill it is given.
    /// </summary>
    public sealed class DrillLegRunner : ILegRunner
    {
        private readonly Func<PlanJobContext, CancellationToken, Task<PlanHistoryEntry>> _imageDrill;
        private readonly Func<PlanJobContext, CancellationToken, Task<PlanHistoryEntry>> _cloudDrill;

        /// <param name="imageDrill">Test-NekkGhostImage -Full of the plan's latest image (the Ghost leg's drill).</param>
        /// <param name="cloudDrill">The latest cloud run (or a sample of it) restored to scratch and verified (the cloud leg's drill).</param>
        public DrillLegRunner(Func<PlanJobContext, CancellationToken, Task<PlanHistoryEntry>> imageDrill, Func<PlanJobContext, CancellationToken, Task<PlanHistoryEntry>> cloudDrill)
        {
            _imageDrill = imageDrill ?? throw new ArgumentNullException(nameof(imageDrill));
            _cloudDrill = cloudDrill ?? throw new ArgumentNullException(nameof(cloudDrill));
        }

        public PlanLeg Leg => PlanLeg.Drill;

        public async Task<IReadOnlyList<PlanHistoryEntry>> RunAsync(PlanJobContext ctx, CancellationToken ct)
        {
            var plan = ctx.Plan;
            var steps = new List<PlanHistoryEntry>();
            var started = DateTime.UtcNow;
            try
            {
                var t = await FolderBackupEngine.TestAsync(plan.NasDestination, true, ctx.Observer, ct).ConfigureAwait(false);
                steps.Add(new PlanHistoryEntry
                {
                    Plan = plan.Name, Host = plan.Host, PlanRunId = ctx.PlanRunId, Job = Leg.ToString(), Step = "FullVerify",
                    StartedUtc = started, FinishedUtc = DateTime.UtcNow, Status = t.Status, Files = t.FilesChecked, Bytes = t.BytesVerified,
                    Errors = t.Problems.Length,
                    Detail = t.Problems.Length > 0 ? string.Join("; ", t.Problems) : $"{t.FilesChecked} files, {ByteSize.Format(t.BytesVerified)} re-hashed",
                });
            }
            catch (NekkBackupException ex)
            {
                steps.Add(PlanRunner.Entry(ctx, Leg, "FullVerify", started, PlanRunner.StatusOf(ex), ex.Message));
            }
            if (plan.HasImage)
            {
                var imgStart = DateTime.UtcNow;
                try { steps.Add(await _imageDrill(ctx, ct).ConfigureAwait(false)); }
                catch (NekkBackupException ex) { steps.Add(PlanRunner.Entry(ctx, Leg, "ImageDrill", imgStart, PlanRunner.StatusOf(ex), ex.Message)); }
            }
            if (plan.HasCloud)
            {
                ct.ThrowIfCancellationRequested();
                steps.Add(await _cloudDrill(ctx, ct).ConfigureAwait(false));
            }
            return steps;
        }
    }
}
