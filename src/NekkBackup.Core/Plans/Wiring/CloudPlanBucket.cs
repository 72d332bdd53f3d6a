using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Cloud;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Validation;

namespace NekkBackup.Core.Plans
{
    /// <summary>
    /// The bucket side of plans through the cloud leg's client (its target and its one retry pipeline): the probe of
    /// Test-NekkBackupPlan and the host status objects &lt;Prefix&gt;/&lt;host&gt;/status.json. Status documents read back are
    /// untrusted: size-capped and checked by <see cref="FleetStatus.Parse"/>; one that fails is left out.
    /// </summary>
    public sealed class CloudPlanBucket : IPlanBucket
    {
        private const string StatusName = "status.json";
        private const string HistoryName = "plan-history.jsonl";
        private const int HistoryDays = 400; // a report covers up to a year (Export-NekkBackupReport -Days)

        public async Task<PlanDestinationCheck> ProbeAsync(BackupPlan plan, CancellationToken ct)
        {
            var target = CloudLegRunner.Target(plan);
            var where = $"s3://{plan.Bucket}/{plan.Prefix}";
            var credential = target.AccessKey != null ? $"stored credential ({target.AccessKey})" : target.ProfileName != null ? $"AWS profile '{target.ProfileName}'" : "AWS environment/default profile";
            PlanDestinationCheck Check(bool reachable, bool writable, string detail) => new()
            {
                Plan = plan.Name, Leg = "Cloud", Target = where, Reachable = reachable, Writable = writable, CredentialSource = credential,
                Status = reachable && writable ? "Passed" : "Failed", Detail = detail,
            };
            CloudClient client;
            try { client = await CloudClient.OpenAsync(target, null, null, ct).ConfigureAwait(false); }
            catch (NekkBackupException ex) { return Check(false, false, ex.Message); }
            using (client)
            {
                var key = target.HostRoot + "probe-" + Guid.NewGuid().ToString("N") + ".tmp";
                var body = Guid.NewGuid().ToByteArray();
                try
                {
                    await client.PutSmallAsync(key, body, "application/octet-stream", ct).ConfigureAwait(false);
                    var back = await client.TryGetSmallAsync(key, ct, body.Length).ConfigureAwait(false);
                    await client.DeleteAsync(key, ct).ConfigureAwait(false);
                    if (back == null || !back.SequenceEqual(body))
                        return Check(true, false, $"a probe object written to s3://{target.Bucket}/{key} read back different bytes");
                    return Check(true, true, $"put, read back and deleted a probe object under s3://{target.Bucket}/{target.HostRoot}");
                }
                catch (NekkBackupException ex) { return Check(true, false, ex.Message); }
            }
        }

        public async Task<string> PublishStatusAsync(BackupPlan plan, HostStatusDocument status, IReadOnlyList<PlanHistoryEntry> history, CancellationToken ct)
        {
            var target = CloudLegRunner.Target(plan);
            using var client = await CloudClient.OpenAsync(target, null, null, ct).ConfigureAwait(false);
            // The history first, the status last: a reader that finds the status finds the history of that status.
            var since = DateTime.UtcNow.AddDays(-HistoryDays);
            var recent = history.Where(h => h.StartedUtc >= since).OrderBy(h => h.StartedUtc).ToList();
            var lines = PlanHistoryStore.Serialize(recent);
            while (lines.Length > PlanRules.MaxStatusBytes && recent.Count > 0)
            {
                recent.RemoveRange(0, Math.Max(1, recent.Count / 10)); // the oldest tenth goes
                lines = PlanHistoryStore.Serialize(recent);
            }
            await client.PutSmallAsync(target.HostRoot + HistoryName, lines, "application/x-ndjson", ct).ConfigureAwait(false);
            var body = JsonSerializer.SerializeToUtf8Bytes(status, new JsonSerializerOptions { WriteIndented = true });
            await client.PutSmallAsync(target.StatusKey, body, "application/json", ct).ConfigureAwait(false);
            return $"s3://{target.Bucket}/{target.StatusKey}";
        }

        public async Task<IReadOnlyList<IReadOnlyList<PlanHistoryEntry>>> ReadHistoryAsync(FleetBucketTarget b, IReadOnlyList<string> statusSources, CancellationToken ct)
        {
            var result = new IReadOnlyList<PlanHistoryEntry>[statusSources.Count];
            for (int i = 0; i < result.Length; i++) result[i] = Array.Empty<PlanHistoryEntry>();
            if (result.Length == 0) return result;
            CloudClient client;
            try { client = await CloudClient.OpenAsync(FleetTarget(b), null, null, ct, "", check: false).ConfigureAwait(false); }
            catch (NekkBackupException) { return result; } // a report without charts, not a failed report
            using (client)
            {
                var head = $"s3://{b.Bucket}/";
                for (int i = 0; i < result.Length; i++)
                {
                    // The status's own address names the host folder; the history object sits beside it.
                    var source = statusSources[i];
                    if (!source.StartsWith(head, StringComparison.Ordinal) || !source.EndsWith("/" + StatusName, StringComparison.Ordinal)) continue;
                    var key = source.Substring(head.Length, source.Length - head.Length - StatusName.Length) + HistoryName;
                    try
                    {
                        var bytes = await client.TryGetSmallAsync(key, ct, PlanRules.MaxStatusBytes).ConfigureAwait(false);
                        if (bytes != null) result[i] = PlanHistoryStore.Parse(bytes, head + key);
                    }
                    catch (NekkBackupException) { } // this host's report has no charts, the others still do
                }
            }
            return result;
        }

        public async Task<IReadOnlyList<(string Source, HostStatusDocument Document)>> ReadStatusAsync(FleetBucketTarget b, CancellationToken ct)
        {
            var target = FleetTarget(b);
            var prefix = (b.Prefix ?? "").Trim('/');
            prefix = prefix.Length == 0 ? "" : prefix + "/";
            // Rooted at <Prefix>/, listed flat: s3rver's delimiter listing misses sub-trees (field-notes.md).
            using var client = await CloudClient.OpenAsync(target, null, null, ct, prefix).ConfigureAwait(false);
            var docs = new List<(string, HostStatusDocument)>();
            foreach (var o in await client.ListAsync(prefix, ct).ConfigureAwait(false))
            {
                var rest = o.Key.Substring(prefix.Length);
                if (!rest.EndsWith("/" + StatusName, StringComparison.Ordinal) || rest.IndexOf('/') != rest.Length - StatusName.Length - 1) continue;
                byte[]? bytes;
                try { bytes = await client.TryGetSmallAsync(o.Key, ct, PlanRules.MaxStatusBytes).ConfigureAwait(false); }
                catch (NekkBackupException ex) when (ex.ErrorId == "NekkBackup." + Reasons.CloudManifestInvalid) { continue; } // larger than a status can be
                var doc = bytes != null ? FleetStatus.Parse(bytes) : null;
                if (doc != null) docs.Add(($"s3://{b.Bucket}/{o.Key}", doc));
            }
            return docs;
        }

        private static CloudTarget FleetTarget(FleetBucketTarget b)
        {
            // The cloud cmdlets' order: keys given, else the profile named, else the key stored for the bucket, else the AWS chain.
            var cred = b.AccessKey == null && string.IsNullOrEmpty(b.ProfileName) ? CredentialStore.TryGet(b.Bucket) : null;
            return new CloudTarget
            {
                Bucket = b.Bucket, Prefix = b.Prefix, Endpoint = b.Endpoint, Region = b.Region, ProfileName = b.ProfileName, Host = "_",
                AccessKey = b.AccessKey ?? cred?.UserName, SecretKey = b.AccessKey != null ? b.SecretKey : cred?.Secret,
            };
        }
    }
}
