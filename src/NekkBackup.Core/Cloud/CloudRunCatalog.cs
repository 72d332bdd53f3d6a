using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;

namespace NekkBackup.Core.Cloud
{
    /// <summary>
    /// Get-NekkCloudBackup's run list: one <see cref="CloudRunInfo"/> per run manifest the bucket holds for the host
    /// (the listing only finds the manifests; what a run holds is read from each manifest, never from the listing).
    /// </summary>
    public sealed class CloudRunCatalog
    {
        private const int Parallel = 8;
        private readonly CloudTarget _target;
        private readonly IRunObserver _observer;

        public CloudRunCatalog(CloudTarget target, IRunObserver? observer = null)
        {
            _target = target;
            _observer = observer ?? NullRunObserver.Instance;
        }

        /// <summary>The runs, oldest first; <paramref name="runIdPatterns"/> (wildcards * and ?) narrows them.</summary>
        public async Task<IReadOnlyList<CloudRunInfo>> ListAsync(IReadOnlyList<string>? runIdPatterns, CancellationToken ct)
        {
            using var client = await CloudClient.OpenAsync(_target, _observer, null, ct).ConfigureAwait(false);
            var ids = await RunManifests.ListRunIdsAsync(client, ct).ConfigureAwait(false);
            var match = Matcher(runIdPatterns);
            var wanted = ids.Where(match).ToList();
            var runs = new CloudRunInfo[wanted.Count];
            using var gate = new SemaphoreSlim(Parallel);
            await Task.WhenAll(wanted.Select(async (id, i) =>
            {
                await gate.WaitAsync(ct).ConfigureAwait(false);
                try { runs[i] = await ReadAsync(client, id, ct).ConfigureAwait(false); }
                finally { gate.Release(); }
            })).ConfigureAwait(false);
            return runs;
        }

        private async Task<CloudRunInfo> ReadAsync(CloudClient client, string runId, CancellationToken ct)
        {
            var key = _target.ManifestKey(runId);
            try
            {
                var m = await RunManifests.LoadAsync(client, runId, ct).ConfigureAwait(false);
                if (m == null) throw Fail.NotFound("CloudRunNotFound", $"The manifest of run '{runId}' vanished.", runId);
                return new CloudRunInfo
                {
                    RunId = runId, Host = m.Host, Created = m.CreatedUtc.ToLocalTime(), Sources = m.Sources.ToArray(),
                    Files = m.Files.Count, SizeBytes = m.Files.Sum(f => f.Size), Encrypted = !string.IsNullOrEmpty(m.Encryption),
                    Status = "Complete", Bucket = _target.Bucket, ManifestKey = key,
                };
            }
            catch (NekkBackupException ex) when (ex.Kind == FailureKind.InvalidData || ex.Kind == FailureKind.NotFound)
            {
                _observer.Message(RunMessageLevel.Warning, $"Cloud run {runId}: {ex.Message}");
                return new CloudRunInfo { RunId = runId, Host = _target.HostName, Status = "Damaged", Reason = ex.Message, Bucket = _target.Bucket, ManifestKey = key };
            }
        }

        private static Func<string, bool> Matcher(IReadOnlyList<string>? patterns)
        {
            if (patterns == null || patterns.Count == 0) return _ => true;
            var regexes = patterns.Select(p => new Regex("^" + Regex.Escape(p).Replace(@"\*", ".*").Replace(@"\?", ".") + "$",
                RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)).ToList();
            return id => regexes.Any(r => r.IsMatch(id));
        }
    }
}
