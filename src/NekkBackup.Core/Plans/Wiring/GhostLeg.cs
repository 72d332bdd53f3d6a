using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Imaging;
using NekkBackup.Core.Primitives;

namespace NekkBackup.Core.Plans
{
    /// <summary>The image leg: New-NekkGhostImage of the plan's image source into its repository; the drill: Test-NekkGhostImage -Full of this host's latest image.</summary>
    public sealed class GhostLegRunner : ILegRunner
    {
        public PlanLeg Leg => PlanLeg.Image;

        public async Task<IReadOnlyList<PlanHistoryEntry>> RunAsync(PlanJobContext ctx, CancellationToken ct)
        {
            var plan = ctx.Plan;
            var start = DateTime.UtcNow;
            try
            {
                var img = await GhostRepository.CaptureAsync(new GhostCaptureOptions
                {
                    Source = plan.ImageSource!,
                    Repository = plan.ImageRepository!,
                    Mode = plan.ImageMode == "AllBlocks" ? GhostCaptureMode.AllBlocks : GhostCaptureMode.UsedBlocks,
                    ChangeDetection = plan.ImageChangeDetection == "Contents" ? GhostChangeDetection.Contents : GhostChangeDetection.FileSystem,
                    // Throttled (a DAW is recording): one worker keeps CPU and disk for the session.
                    Parallelism = ctx.Throttled ? 1 : 0,
                    Tags = new[] { "plan:" + plan.Name },
                }, ctx.Observer, ct).ConfigureAwait(false);
                var capture = new PlanHistoryEntry
                {
                    Plan = plan.Name, Host = plan.Host, PlanRunId = ctx.PlanRunId, Job = Leg.ToString(), Step = "Capture",
                    StartedUtc = start, FinishedUtc = DateTime.UtcNow, Status = "Succeeded", LegRunId = img.ImageId,
                    Files = img.Chunks, Bytes = img.NewBytes, Throttled = ctx.Throttled,
                    Detail = $"{ByteSize.Format(img.SizeBytes)} imaged ({img.Mode}: {ByteSize.Format(img.UsedBytes)} read), {ByteSize.Format(img.NewBytes)} new stored, {img.Chunks} chunks",
                };
                return plan.ImageRetention == null ? new[] { capture } : new[] { capture, await RetainAsync(ctx, ct).ConfigureAwait(false) };
            }
            catch (NekkBackupException ex)
            {
                return new[] { PlanRunner.Entry(ctx, Leg, "Capture", start, PlanRunner.StatusOf(ex), ex.Message) };
            }
        }

        /// <summary>The plan's ImageRetention on this host's images, after a good capture (its own step: a failure here never undoes the capture).</summary>
        private static async Task<PlanHistoryEntry> RetainAsync(PlanJobContext ctx, CancellationToken ct)
        {
            var plan = ctx.Plan;
            var start = DateTime.UtcNow;
            try
            {
                var r = await ImageRetention.ApplyAsync(plan.ImageRepository!, plan.ImageRetention!, plan.Host, ctx.Observer, ct).ConfigureAwait(false);
                return new PlanHistoryEntry
                {
                    Plan = plan.Name, Host = plan.Host, PlanRunId = ctx.PlanRunId, Job = PlanLeg.Image.ToString(), Step = "Retention",
                    StartedUtc = start, FinishedUtc = DateTime.UtcNow, Status = "Succeeded", Files = r.RemovedImageIds.Length, Bytes = r.FreedBytes,
                    Detail = $"kept {r.KeptImageIds.Length} image(s), removed {r.RemovedImageIds.Length}{(r.RemovedImageIds.Length > 0 ? " (" + string.Join(", ", r.RemovedImageIds) + ")" : "")}, freed {ByteSize.Format(r.FreedBytes)}"
                             + (r.GarbageCollectionDeferred ? "; chunks are freed by the next run (a capture was running)" : ""),
                };
            }
            catch (NekkBackupException ex)
            {
                return PlanRunner.Entry(ctx, PlanLeg.Image, "Retention", start, PlanRunner.StatusOf(ex), ex.Message);
            }
        }

        public static async Task<PlanHistoryEntry> DrillAsync(PlanJobContext ctx, CancellationToken ct)
        {
            var plan = ctx.Plan;
            var start = DateTime.UtcNow;
            var latest = GhostRepository.List(plan.ImageRepository!)
                .Where(i => string.Equals(i.Host, plan.Host, StringComparison.OrdinalIgnoreCase))
                .OrderBy(i => i.Created).LastOrDefault();
            if (latest == null)
                return PlanRunner.Entry(ctx, PlanLeg.Drill, "ImageDrill", start, "Failed", $"no image of host '{plan.Host}' in '{plan.ImageRepository}' to drill");
            var r = await GhostRepository.TestAsync(plan.ImageRepository!, new[] { latest.ImageId }, true, ctx.Observer, ct).ConfigureAwait(false);
            return new PlanHistoryEntry
            {
                Plan = plan.Name, Host = plan.Host, PlanRunId = ctx.PlanRunId, Job = PlanLeg.Drill.ToString(), Step = "ImageDrill",
                StartedUtc = start, FinishedUtc = DateTime.UtcNow, Status = r.Status, LegRunId = latest.ImageId,
                Files = r.ChunksChecked, Bytes = r.BytesVerified, Errors = r.Problems.Length,
                Detail = r.Problems.Length > 0 ? string.Join("; ", r.Problems.Select(p => p.ToString()).Take(5)) : $"{ByteSize.Format(r.BytesVerified)} restored and verified",
            };
        }
    }
}
