// Compiled when the cloud engine (Core/Cloud) is part of the build: NEKK_CLOUD is defined by
// NekkBackup.Core.csproj when Cloud/CloudBackupEngine.cs exists.
#if NEKK_CLOUD
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Amazon.S3.Model;
using NekkBackup.Core.Cloud;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Primitives;

namespace NekkBackup.Core.Plans
{
    internal static partial class LegWiring
    {
        static partial void RegisterCloud()
        {
            PlanLegRegistry.Register(new CloudLegRunner());
            PlanLegRegistry.Register(new CloudEvidenceSource());
            PlanTester.CloudProbe = CloudLegRunner.ProbeAsync;
            FleetBucket.Publish = CloudLegRunner.PublishStatusAsync;
            FleetBucket.Read = CloudLegRunner.ReadFleetAsync;
            FleetBucket.ReadDocuments = CloudLegRunner.ReadFleetDocumentsAsync;
        }
    }

    /// <summary>The cloud leg: Send-NekkCloudBackup of the plan's sources (work changed within ModifiedWithinDays).</summary>
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

        public async Task<IReadOnlyList<PlanHistoryEntry>> RunAsync(PlanJobContext ctx, CancellationToken ct)
        {
            var plan = ctx.Plan;
            var start = DateTime.UtcNow;
            try
            {
                var run = await new CloudBackupEngine(Target(plan), ctx.Observer).RunAsync(new CloudBackupOptions
                {
                    Paths = plan.Sources,
                    ModifiedWithin = TimeSpan.FromDays(plan.CloudModifiedWithinDays),
                    // Throttled (a DAW is recording): one upload at a time, 2 MB/s.
                    ThrottleLimit = ctx.Throttled ? 1 : 4,
                    MaxMBps = ctx.Throttled ? 2 : 0,
                }, ct).ConfigureAwait(false);
                return new[]
                {
                    new PlanHistoryEntry
                    {
                        Plan = plan.Name, Host = plan.Host, PlanRunId = ctx.PlanRunId, Job = Leg.ToString(), Step = "Upload",
                        StartedUtc = start, FinishedUtc = DateTime.UtcNow, Status = run.Status, LegRunId = run.RunId,
                        Files = run.FilesUploaded, Bytes = run.BytesUploaded, Errors = run.Errors, Throttled = ctx.Throttled,
                        Detail = $"{run.FilesScanned} scanned, {run.FilesUploaded} uploaded ({ByteSize.Format(run.BytesUploaded)}), {run.FilesSkipped} already there; manifest {run.ManifestKey}",
                    },
                };
            }
            catch (NekkBackupException ex)
            {
                return new[] { PlanRunner.Entry(ctx, Leg, "Upload", start, PlanRunner.StatusOf(ex), ex.Message) };
            }
        }

        /// <summary>Test-NekkBackupPlan: put, read back and delete a probe object with the schedule's credentials.</summary>
        public static async Task<(bool reachable, bool writable, string credential, string detail)> ProbeAsync(BackupPlan plan, CancellationToken ct)
        {
            var target = Target(plan);
            var credential = target.AccessKey != null ? $"stored credential ({target.AccessKey})" : target.ProfileName != null ? $"AWS profile '{target.ProfileName}'" : "AWS environment/default profile";
            using var client = new CloudClient(target, NullRunObserver.Instance);
            try { await CloudStore.PreflightAsync(client, ct).ConfigureAwait(false); }
            catch (NekkBackupException ex) { return (false, false, credential, ex.Message); }
            var key = target.HostRoot + "probe-" + Guid.NewGuid().ToString("N") + ".tmp";
            var body = Guid.NewGuid().ToByteArray();
            try
            {
                await client.RunAsync("PutObject (probe)", t => client.S3.PutObjectAsync(new PutObjectRequest
                {
                    BucketName = target.Bucket, Key = key, InputStream = new MemoryStream(body), UseChunkEncoding = false,
                }, t), ct).ConfigureAwait(false);
                var back = await CloudStore.TryGetSmallObjectAsync(client, key, ct).ConfigureAwait(false);
                await client.RunAsync("DeleteObject (probe)", t => client.S3.DeleteObjectAsync(new DeleteObjectRequest { BucketName = target.Bucket, Key = key }, t), ct).ConfigureAwait(false);
                if (back == null || !back.SequenceEqual(body))
                    return (true, false, credential, $"a probe object written to s3://{target.Bucket}/{key} read back different bytes");
                return (true, true, credential, $"put, read back and deleted a probe object under s3://{target.Bucket}/{target.HostRoot}");
            }
            catch (NekkBackupException ex) { return (true, false, credential, ex.Message); }
        }

        public static string StatusKey(string prefix, string host)
        {
            var p = (prefix ?? "").Trim('/');
            return (p.Length == 0 ? "" : p + "/") + host + "/status.json";
        }

        public static async Task<string> PublishStatusAsync(BackupPlan plan, HostStatusDocument doc, CancellationToken ct)
        {
            var target = Target(plan);
            using var client = new CloudClient(target, NullRunObserver.Instance);
            var key = StatusKey(target.Prefix, target.HostName);
            var body = JsonSerializer.SerializeToUtf8Bytes(doc, new JsonSerializerOptions { WriteIndented = true });
            await client.RunAsync("PutObject (status)", t => client.S3.PutObjectAsync(new PutObjectRequest
            {
                BucketName = target.Bucket, Key = key, InputStream = new MemoryStream(body), UseChunkEncoding = false, ContentType = "application/json",
            }, t), ct).ConfigureAwait(false);
            return $"s3://{target.Bucket}/{key}";
        }

        public static async Task<IReadOnlyList<FleetHostStatus>> ReadFleetAsync(FleetBucketTarget b, CancellationToken ct) =>
            FleetStatus.FromDocuments(await ReadFleetDocumentsAsync(b, ct).ConfigureAwait(false));

        public static async Task<IReadOnlyList<(string Source, HostStatusDocument Document)>> ReadFleetDocumentsAsync(FleetBucketTarget b, CancellationToken ct)
        {
            var cred = b.AccessKey == null ? CredentialStore.TryGet(b.Bucket) : null;
            var target = new CloudTarget
            {
                Bucket = b.Bucket, Prefix = b.Prefix, Endpoint = b.Endpoint, Region = b.Region, ProfileName = b.ProfileName, Host = "_",
                AccessKey = b.AccessKey ?? cred?.UserName, SecretKey = b.AccessKey != null ? b.SecretKey : cred?.Secret,
            };
            using var client = new CloudClient(target, NullRunObserver.Instance);
            var prefix = (b.Prefix ?? "").Trim('/');
            prefix = prefix.Length == 0 ? "" : prefix + "/";
            var keys = new List<string>();
            string? token = null;
            for (int page = 0; page < 1000; page++)
            {
                // Flat listing (no delimiter): s3rver's delimiter listing misses sub-trees (field-notes.md).
                var resp = await client.RunAsync("ListObjectsV2 (fleet)", t => client.S3.ListObjectsV2Async(new ListObjectsV2Request
                {
                    BucketName = b.Bucket, Prefix = prefix, ContinuationToken = token,
                }, t), ct).ConfigureAwait(false);
                foreach (var o in resp.S3Objects ?? new List<S3Object>())
                {
                    var rest = o.Key.Substring(prefix.Length);
                    if (rest.EndsWith("/status.json", StringComparison.Ordinal) && rest.IndexOf('/') == rest.Length - "/status.json".Length)
                        keys.Add(o.Key);
                }
                if (resp.IsTruncated != true || string.IsNullOrEmpty(resp.NextContinuationToken)) break;
                token = resp.NextContinuationToken;
            }
            var docs = new List<(string, HostStatusDocument)>();
            foreach (var k in keys)
            {
                var bytes = await CloudStore.TryGetSmallObjectAsync(client, k, ct).ConfigureAwait(false);
                var doc = bytes != null ? FleetStatus.Parse(bytes) : null;
                if (doc != null) docs.Add(($"s3://{b.Bucket}/{k}", doc));
            }
            return docs;
        }
    }

    /// <summary>Cloud leg evidence: this host's manifests in the bucket (&lt;Prefix&gt;/&lt;host&gt;/manifests/&lt;RunId&gt;.json); the newest is read.</summary>
    public sealed class CloudEvidenceSource : ILegEvidenceSource
    {
        public PlanLeg Leg => PlanLeg.Cloud;

        public async Task<LegEvidence> ReadAsync(BackupPlan plan, CancellationToken ct)
        {
            var target = CloudLegRunner.Target(plan);
            var location = $"s3://{target.Bucket}/{target.ManifestPrefix}";
            try
            {
                using var client = new CloudClient(target, NullRunObserver.Instance);
                var ids = await CloudStore.ListRunIdsAsync(client, ct).ConfigureAwait(false);
                var runs = new List<EvidenceRecord>();
                foreach (var id in ids)
                {
                    // RunIds start with their UTC start time (yyyyMMddTHHmmssZ-…).
                    if (id.Length < 16 || !DateTime.TryParseExact(id.Substring(0, 16), "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture,
                            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var started)) continue;
                    runs.Add(new EvidenceRecord { StartedUtc = started, FinishedUtc = started, Status = "Succeeded", Id = id, From = location + id + ".json" });
                }
                if (runs.Count > 0)
                {
                    // The newest manifest must be readable: it is the source of truth of a restore.
                    var m = await CloudStore.LoadManifestAsync(client, runs[runs.Count - 1].Id, ct).ConfigureAwait(false);
                    var last = runs[runs.Count - 1];
                    runs[runs.Count - 1] = new EvidenceRecord
                    {
                        StartedUtc = last.StartedUtc, FinishedUtc = m?.CreatedUtc ?? last.FinishedUtc, Status = last.Status, Id = last.Id, From = last.From,
                        Detail = m != null ? $"{m.Files.Count} files in the manifest" : null,
                    };
                }
                return new LegEvidence { Leg = Leg, Location = location, Runs = runs.OrderBy(r => r.StartedUtc).ToList() };
            }
            catch (NekkBackupException ex)
            {
                return new LegEvidence { Leg = Leg, Location = location, Problem = ex.Message };
            }
        }
    }
}
#endif
