using System;
using System.Collections.Generic;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Storage;
using NekkBackup.Core.Validation;

namespace NekkBackup.Core.Cloud
{
    /// <summary>
    /// This host's run manifests (&lt;Prefix&gt;/&lt;host&gt;/manifests/&lt;RunId&gt;.json) and the LATEST pointer, read through the
    /// client's target and validated by <see cref="CloudRules"/> before anything uses them. A listing only finds runs;
    /// the manifest is the source of truth of what a run holds.
    /// </summary>
    public static class RunManifests
    {
        private const string Suffix = ".json";

        /// <summary>RunIds of this host's manifests, oldest first (ordinal order is start order).</summary>
        public static async Task<List<string>> ListRunIdsAsync(CloudClient client, CancellationToken ct) =>
            (await ListAsync(client, ct).ConfigureAwait(false)).ConvertAll(m => m.RunId);

        /// <summary>This host's manifests with their listing entries (size, the store's last-modified time), oldest first.</summary>
        public static async Task<List<(string RunId, TargetEntry Object)>> ListAsync(CloudClient client, CancellationToken ct)
        {
            var prefix = client.Target.ManifestPrefix;
            var found = new List<(string RunId, TargetEntry Object)>();
            foreach (var o in await client.ListAsync(prefix, ct).ConfigureAwait(false))
            {
                var name = o.Key.Substring(prefix.Length);
                if (!name.EndsWith(Suffix, StringComparison.Ordinal) || name.IndexOf('/') >= 0) continue;
                var id = name.Substring(0, name.Length - Suffix.Length);
                if (SafeName.IsSafe(id)) found.Add((id, o));
            }
            found.Sort((a, b) => StringComparer.Ordinal.Compare(a.RunId, b.RunId));
            return found;
        }

        /// <summary>The run the LATEST pointer names, else the newest listed; null when the host has none.</summary>
        public static async Task<string?> LatestRunIdAsync(CloudClient client, CancellationToken ct)
        {
            // The pointer is written right after each manifest; the listing is only a fallback. A pointer that does
            // not hold a run id (damaged, or planted) is ignored: the listing decides.
            byte[]? pointer;
            try { pointer = await client.TryGetSmallAsync(client.Target.LatestPointerKey, ct, 1024).ConfigureAwait(false); }
            catch (NekkBackupException ex) when (ex.ErrorId == "NekkBackup." + Reasons.CloudManifestInvalid) { pointer = null; } // larger than any run id
            var runId = pointer == null ? null : Encoding.UTF8.GetString(pointer).Trim();
            if (SafeName.IsSafe(runId)) return runId;
            var ids = await ListRunIdsAsync(client, ct).ConfigureAwait(false);
            return ids.Count > 0 ? ids[ids.Count - 1] : null;
        }

        /// <summary>The manifest of <paramref name="runId"/>, or the latest; null when the host has no run.</summary>
        public static async Task<CloudManifest?> LoadAsync(CloudClient client, string? runId, CancellationToken ct)
        {
            if (string.IsNullOrEmpty(runId))
            {
                runId = await LatestRunIdAsync(client, ct).ConfigureAwait(false);
                if (runId == null) return null;
            }
            if (!SafeName.IsSafe(runId))
                throw Fail.NotFound("CloudRunNotFound", $"{StoredCheck.Quote(runId)} cannot be a run id.", runId);
            var key = client.Target.ManifestKey(runId!);
            var bytes = await client.TryGetSmallAsync(key, ct).ConfigureAwait(false)
                ?? throw Fail.NotFound("CloudRunNotFound", $"No manifest for run '{runId}' in bucket '{client.Target.Bucket}' under '{client.Target.HostRoot}'.", runId);
            return CloudRules.ParseManifest(bytes, key, runId);
        }
    }
}
