using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Cloud;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Primitives;
using NekkBackup.Core.Snapshots;

namespace NekkBackup.Core.Plans
{
    /// <summary>
    /// The cloud leg: Send-NekkCloudBackup of the plan's sources (work changed within ModifiedWithinDays), read through
    /// a snapshot of the same kind as the folder leg's (the plan's Folder.Snapshot) and with the plan's Include/Exclude,
    /// so a file the plan excludes never reaches the bucket.
    /// </summary>
    public sealed class CloudLegRunner : ILegRunner
    {
        public PlanLeg Leg => PlanLeg.Cloud;

        /// <summary>The bucket target with the credential Set-NekkCredential stored for the bucket (else the AWS profile/environment).</summary>
        public static CloudTarget Target(BackupPlan plan, string? host = null)
        {
            var cred = CredentialStore.TryGet(plan.Bucket!);
            return new CloudTarget
            {
                Bucket = plan.Bucket!, Prefix = plan.Prefix ?? "", Endpoint = plan.Endpoint, Region = plan.Region, ProfileName = plan.ProfileName,
                Host = host ?? plan.Host, AccessKey = cred?.UserName, SecretKey = cred?.Secret,
            };
        }

        /// <summary>The upload a plan asks for (throttled while a DAW records: one upload at a time, 2 MB/s).</summary>
        public static CloudBackupOptions Options(BackupPlan plan, PlanJobContext ctx) => new()
        {
            Paths = plan.Sources,
            ModifiedWithin = TimeSpan.FromDays(plan.CloudModifiedWithinDays),
            Include = plan.Include.Length > 0 ? plan.Include : null,
            Exclude = plan.Exclude.Length > 0 ? plan.Exclude : null,
            SourceResolver = SnapshotSources.ForMode((SnapshotMode)Enum.Parse(typeof(SnapshotMode), plan.Snapshot, true), ctx.Observer),
            ThrottleLimit = ctx.Throttled ? 1 : 4,
            MaxMBps = ctx.Throttled ? 2 : 0,
        };

        public async Task<IReadOnlyList<PlanHistoryEntry>> RunAsync(PlanJobContext ctx, CancellationToken ct)
        {
            var plan = ctx.Plan;
            var start = DateTime.UtcNow;
            try
            {
                var run = await new CloudBackupEngine(Target(plan), ctx.Observer).RunAsync(Options(plan, ctx), ct).ConfigureAwait(false);
                var upload = new PlanHistoryEntry
                {
                    Plan = plan.Name, Host = plan.Host, PlanRunId = ctx.PlanRunId, Job = Leg.ToString(), Step = "Upload",
                    StartedUtc = start, FinishedUtc = DateTime.UtcNow, Status = run.Status, LegRunId = run.RunId,
                    Files = run.FilesUploaded, Bytes = run.BytesUploaded, Errors = run.Errors, Throttled = ctx.Throttled,
                    Detail = $"{run.FilesScanned} scanned, {run.FilesUploaded} uploaded ({ByteSize.Format(run.BytesUploaded)}), {run.FilesSkipped} already there; manifest {run.ManifestKey}",
                };
                bool committed = run.Status is "Succeeded" or "CompletedWithErrors";
                var steps = new List<PlanHistoryEntry> { upload };
                if (plan.CloudRetention != null && committed) steps.Add(await RetainAsync(ctx, ct).ConfigureAwait(false));
                // A drill that waited for cold objects to thaw finishes on the next daily run (its own Drill step).
                if (committed && await CloudDrillLeg.FinishPendingAsync(ctx, ct).ConfigureAwait(false) is PlanHistoryEntry drill)
                    steps.Add(drill);
                return steps;
            }
            catch (NekkBackupException ex)
            {
                return new[] { PlanRunner.Entry(ctx, Leg, "Upload", start, PlanRunner.StatusOf(ex), ex.Message) };
            }
        }

        /// <summary>
        /// The plan's CloudRetention on this host's runs, after an upload that wrote its manifest: its own step, so a
        /// prune that cannot run (an upload of another plan holds the lock, a damaged manifest) never undoes the upload.
        /// </summary>
        private static async Task<PlanHistoryEntry> RetainAsync(PlanJobContext ctx, CancellationToken ct)
        {
            var plan = ctx.Plan;
            var start = DateTime.UtcNow;
            try
            {
                var r = await new BucketPrune(Target(plan), ctx.Observer).RunAsync(new BucketPruneOptions { Retention = plan.CloudRetention }, ct).ConfigureAwait(false);
                var held = r.Held.Length > 0 ? $"; {r.Held.Length} held back ({string.Join(", ", r.Held.GroupBy(h => h.Reason).Select(g => $"{g.Count()} {g.Key}"))})" : "";
                return new PlanHistoryEntry
                {
                    Plan = plan.Name, Host = plan.Host, PlanRunId = ctx.PlanRunId, Job = PlanLeg.Cloud.ToString(), Step = "Retention",
                    StartedUtc = start, FinishedUtc = DateTime.UtcNow, Status = r.Status == "Succeeded" ? "Succeeded" : "Failed",
                    Files = r.ObjectsRemoved, Bytes = r.BytesFreed,
                    Detail = r.Status == "Succeeded"
                        ? $"kept {r.RunsKept.Length} run(s), removed {r.RunsRemoved.Length}, {r.ObjectsRemoved} object(s), freed {ByteSize.Format(r.BytesFreed)}{held}"
                        : "nothing removed: " + r.Reason,
                };
            }
            catch (NekkBackupException ex)
            {
                return PlanRunner.Entry(ctx, PlanLeg.Cloud, "Retention", start, PlanRunner.StatusOf(ex), ex.Message);
            }
        }
    }

    /// <summary>
    /// Cloud leg evidence: this host's manifests in the bucket (&lt;Prefix&gt;/&lt;host&gt;/manifests/&lt;RunId&gt;.json; the newest is
    /// read) and its restore drills (&lt;Prefix&gt;/&lt;host&gt;/drills/&lt;DrillId&gt;.json, each validated; a damaged one is no evidence).
    /// </summary>
    public sealed class CloudEvidenceSource : ILegEvidenceSource
    {
        /// <summary>The run ids before RunId's format (yyyyMMddTHHmmssZ-…), still in older buckets.</summary>
        private const string LegacyTimeFormat = "yyyyMMdd'T'HHmmss'Z'";

        public PlanLeg Leg => PlanLeg.Cloud;

        public async Task<LegEvidence> ReadAsync(BackupPlan plan, CancellationToken ct)
        {
            var target = CloudLegRunner.Target(plan);
            var location = $"s3://{target.Bucket}/{target.ManifestPrefix}";
            try
            {
                using var client = await CloudClient.OpenAsync(target, null, null, ct).ConfigureAwait(false);
                var runs = new List<EvidenceRecord>();
                foreach (var id in await RunManifests.ListRunIdsAsync(client, ct).ConfigureAwait(false))
                {
                    // A run id starts with its UTC start time.
                    if (StartedOf(id) is not DateTime started) continue;
                    runs.Add(new EvidenceRecord { StartedUtc = started, FinishedUtc = started, Status = "Succeeded", Id = id, From = location + id + ".json" });
                }
                runs = runs.OrderBy(r => r.StartedUtc).ToList();
                if (runs.Count > 0)
                {
                    // The newest manifest must be readable: it is the source of truth of a restore.
                    var last = runs[runs.Count - 1];
                    var m = await RunManifests.LoadAsync(client, last.Id, ct).ConfigureAwait(false);
                    runs[runs.Count - 1] = new EvidenceRecord
                    {
                        StartedUtc = last.StartedUtc, FinishedUtc = m?.CreatedUtc ?? last.FinishedUtc, Status = last.Status, Id = last.Id, From = last.From,
                        Detail = m != null ? $"{m.Files.Count} files in the manifest" : null,
                    };
                }
                var (drills, checks) = CloudDrillLeg.Evidence(await CloudDrillEngine.ReadAsync(client, ct).ConfigureAwait(false), target.Bucket);
                return new LegEvidence { Leg = Leg, Location = location, Runs = runs, Drills = drills, Checks = checks };
            }
            catch (NekkBackupException ex)
            {
                return new LegEvidence { Leg = Leg, Location = location, Problem = ex.Message };
            }
        }

        internal static DateTime? StartedOf(string id) =>
            RunId.TryParseTime(id) ?? (id.Length >= 16 && DateTime.TryParseExact(id.Substring(0, 16), LegacyTimeFormat, CultureInfo.InvariantCulture,
                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t) ? t : null);
    }
}
