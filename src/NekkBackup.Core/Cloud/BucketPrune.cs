using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Primitives;
using NekkBackup.Core.Storage;
using NekkBackup.Core.Validation;

namespace NekkBackup.Core.Cloud
{
    /// <summary>What a prune of one host's data objects did.</summary>
    public sealed class BucketPruneResult
    {
        public string Bucket { get; init; } = "";
        public string Prefix { get; init; } = "";
        public int Manifests { get; init; }
        public long ObjectsKept { get; init; }
        public long ObjectsRemoved { get; init; }
        public long BytesFreed { get; init; }
        /// <summary>Why nothing was removed (a manifest that cannot be read), or null.</summary>
        public string? KeptEverythingBecause { get; init; }
        public TimeSpan Duration { get; init; }
    }

    /// <summary>
    /// The sweep bucket retention is built on (Remove-NekkCloudBackup -Retention removes manifests, then runs this):
    /// under the host's EXCLUSIVE bucket lock it removes every data/&lt;sha256&gt; object that no manifest of the host
    /// names. The lock is what makes it safe beside uploads: an upload holds the lock shared from before it reads the
    /// previous manifest until its own manifest is written, so a prune never runs while objects exist that only an
    /// unwritten manifest names; a prune that finds an upload running stops with NekkBackup.CloudLocked and deletes
    /// nothing. It errs on keeping: an object a damaged entry names by a well-formed hash stays, and when any manifest
    /// cannot be read nothing is removed at all. It re-checks the lock before deleting.
    /// </summary>
    public sealed class BucketPrune
    {
        public const string Activity = "Remove-NekkCloudBackup";
        private readonly CloudTarget _target;
        private readonly IRunObserver _observer;

        public BucketPrune(CloudTarget target, IRunObserver? observer = null)
        {
            _target = target;
            _observer = observer ?? NullRunObserver.Instance;
        }

        public async Task<BucketPruneResult> RunAsync(CancellationToken ct = default)
        {
            var sw = Stopwatch.StartNew();
            CloudClient.Validate(_target);
            using var log = RunLog.Open(RunId.New(), Activity);
            var observer = log.Wrap(_observer);
            using var client = await CloudClient.OpenAsync(_target, observer, log, ct, check: false).ConfigureAwait(false);
            await using var held = await CloudLocks.AcquireAsync(client, LockMode.Exclusive, Activity, observer, ct).ConfigureAwait(false);
            using var running = CancellationTokenSource.CreateLinkedTokenSource(ct, held.LostToken);
            try
            {
                var token = running.Token;
                var (keep, manifests, unreadable) = await ReferencedAsync(client, token).ConfigureAwait(false);
                var stored = await client.ListAsync(_target.DataPrefix, token).ConfigureAwait(false);
                BucketPruneResult Result(long removed, long freed, string? keptAll) => new()
                {
                    Bucket = _target.Bucket, Prefix = _target.HostRoot.TrimEnd('/'), Manifests = manifests, ObjectsKept = stored.Count - removed,
                    ObjectsRemoved = removed, BytesFreed = freed, KeptEverythingBecause = keptAll, Duration = sw.Elapsed,
                };
                if (unreadable != null)
                {
                    observer.Message(RunMessageLevel.Warning, $"Nothing was pruned: {unreadable}");
                    return Result(0, 0, unreadable);
                }
                var doomed = stored.FindAll(o => !keep.Contains(o.Key));
                await CloudLocks.EnsureHeldAsync(held, client, token).ConfigureAwait(false);
                long removedCount = 0, freed = 0;
                foreach (var o in doomed)
                {
                    await client.DeleteAsync(o.Key, token).ConfigureAwait(false);
                    removedCount++;
                    freed += o.Size;
                }
                log.Logger.Information("Pruned {Removed} unreferenced objects ({Bytes} bytes) of {Stored} under {Root}; {Manifests} manifests",
                    removedCount, freed, stored.Count, _target.HostRoot, manifests);
                return Result(removedCount, freed, null);
            }
            catch (OperationCanceledException ex)
            {
                var lost = CloudLocks.LostInstead(held, ex, ct);
                if (lost != null) throw lost;
                throw;
            }
        }

        /// <summary>Every data key a manifest of this host names (by a well-formed hash, even on an otherwise damaged entry).</summary>
        private async Task<(HashSet<string> Keep, int Manifests, string? Unreadable)> ReferencedAsync(CloudClient client, CancellationToken ct)
        {
            var keep = new HashSet<string>(StringComparer.Ordinal);
            var ids = await RunManifests.ListRunIdsAsync(client, ct).ConfigureAwait(false);
            foreach (var id in ids)
            {
                CloudManifest? m;
                try { m = await RunManifests.LoadAsync(client, id, ct).ConfigureAwait(false); }
                catch (NekkBackupException ex) when (!CloudErrors.IsFatal(ex))
                {
                    return (keep, ids.Count, $"the manifest of run '{id}' cannot be read ({ex.ErrorId}: {ex.Message}); every object is kept until it is repaired or removed.");
                }
                foreach (var e in m!.Files)
                    if (e != null && Sha256.IsHex(e.Hash)) keep.Add(_target.DataKey(e.Hash));
            }
            return (keep, ids.Count, null);
        }
    }
}
