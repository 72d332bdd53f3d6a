using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Folder;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Primitives;
using NekkBackup.Core.Storage;

namespace NekkBackup.Core.Cloud
{
    /// <summary>What Remove-NekkCloudBackup -Retention (and a plan's CloudRetention) asks of a prune.</summary>
    public sealed class BucketPruneOptions
    {
        /// <summary>The GFS policy whose dropped runs go first; null: only the sweep of objects no manifest names.</summary>
        public RetentionPolicy? Retention { get; init; }
        /// <summary>Delete objects before their class's minimum storage duration (never under Object Lock, never young).</summary>
        public bool Force { get; init; }
        /// <summary>Nothing younger goes (24 h; tests shorten it with an injected clock instead of waiting).</summary>
        internal TimeSpan MinimumAge { get; init; } = PruneSafety.MinimumAge;
        internal Func<DateTime> UtcNow { get; init; } = () => DateTime.UtcNow;
        internal int Parallel { get; init; } = 8;

        /// <summary>NekkBackup.InvalidRetention for a policy that keeps nothing or has a negative count.</summary>
        public void Validate() => Folder.Retention.Validate(Retention);
    }

    /// <summary>
    /// Bucket retention (PRODUCT.md §3.4), mark-then-sweep under the host's EXCLUSIVE bucket lock: (1) the GFS policy
    /// (<see cref="Retention.Keep"/>, the one selection folder backups and Ghost images use; the newest run and the run
    /// LATEST names always stay) picks the runs to drop; (2) a mark naming them is written (<see cref="PruneMark"/>);
    /// (3) their manifests are deleted; (4) every data/&lt;sha256&gt; object no remaining manifest names is deleted;
    /// (5) the mark goes. Each step leaves a consistent bucket (every remaining manifest's objects are there), and the
    /// next prune completes a marked one. <see cref="PruneSafety"/> holds back anything young, under Object Lock or
    /// before its minimum storage duration. The lock keeps it apart from uploads (they hold it shared until their
    /// manifest is written; a prune that finds one running is NekkBackup.CloudLocked and deletes nothing). It errs on
    /// keeping: when any manifest cannot be read nothing is removed, and a foreign key under data/ is never touched.
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

        /// <summary>What <see cref="RunAsync"/> would remove now (same rules, same reads, no lock taken, nothing written).</summary>
        public async Task<CloudPruneResult> PreviewAsync(BucketPruneOptions? options, CancellationToken ct = default)
        {
            var o = Validate(options);
            var sw = Stopwatch.StartNew();
            using var client = await CloudClient.OpenAsync(_target, _observer, null, ct).ConfigureAwait(false);
            var plan = await PlanAsync(client, o, _observer, ct).ConfigureAwait(false);
            return Result(plan, o, plan.Refused != null ? "Refused" : "WhatIf", plan.RemoveObjects, sw.Elapsed);
        }

        public async Task<CloudPruneResult> RunAsync(BucketPruneOptions? options = null, CancellationToken ct = default)
        {
            var o = Validate(options);
            var sw = Stopwatch.StartNew();
            using var log = RunLog.Open(RunId.New(), Activity);
            var observer = log.Wrap(_observer);
            using var client = await CloudClient.OpenAsync(_target, observer, log, ct, check: false).ConfigureAwait(false);
            await using var held = await CloudLocks.AcquireAsync(client, LockMode.Exclusive, Activity, observer, ct).ConfigureAwait(false);
            using var running = CancellationTokenSource.CreateLinkedTokenSource(ct, held.LostToken);
            try
            {
                var token = running.Token;
                var plan = await PlanAsync(client, o, observer, token).ConfigureAwait(false);
                if (plan.Refused != null)
                {
                    observer.Message(RunMessageLevel.Warning, "Nothing was pruned: " + plan.Refused);
                    return Result(plan, o, "Refused", Array.Empty<TargetEntry>(), sw.Elapsed);
                }
                bool marked = plan.MarkPresent;
                if (plan.RemoveManifests.Count > 0)
                {
                    var mark = new PruneMark
                    {
                        PruneId = plan.Mark?.PruneId ?? RunId.New(), CreatedUtc = o.UtcNow(), Policy = o.Retention?.Describe() ?? "",
                        Runs = plan.RemoveManifests.Select(m => m.RunId).ToList(),
                    };
                    await CloudLocks.EnsureHeldAsync(held, client, token).ConfigureAwait(false);
                    await mark.WriteAsync(client, token).ConfigureAwait(false);
                    marked = true;
                    foreach (var m in plan.RemoveManifests)
                    {
                        await client.DeleteAsync(m.Object.Key, token).ConfigureAwait(false);
                        observer.Message(RunMessageLevel.Verbose, $"Removed the manifest of run {m.RunId}.");
                    }
                }
                await CloudLocks.EnsureHeldAsync(held, client, token).ConfigureAwait(false);
                var removed = await SweepAsync(client, plan.RemoveObjects, o.Parallel, observer, token).ConfigureAwait(false);
                if (marked) await client.DeleteAsync(PruneMark.Key(_target), token).ConfigureAwait(false);
                var result = Result(plan, o, "Succeeded", removed, sw.Elapsed);
                log.Logger.Information("Pruned {Runs} run manifests and {Removed} unreferenced objects ({Bytes} bytes) of {Stored} under {Root}; {Held} held back",
                    result.RunsRemoved.Length, result.ObjectsRemoved, result.BytesFreed, plan.DataObjects, _target.HostRoot, result.Held.Length);
                return result;
            }
            catch (OperationCanceledException ex)
            {
                var lost = CloudLocks.LostInstead(held, ex, ct);
                if (lost != null) throw lost;
                throw;
            }
        }

        private static BucketPruneOptions Validate(BucketPruneOptions? options)
        {
            var o = options ?? new BucketPruneOptions();
            o.Validate();
            return o;
        }

        /// <summary>What a prune removes and holds back, decided from the manifests and the store's own listing and heads.</summary>
        private sealed class Plan
        {
            public string? Refused;
            public PruneMark? Mark;
            public bool MarkPresent;
            public readonly List<string> KeptRuns = new();
            public readonly List<(string RunId, TargetEntry Object)> RemoveManifests = new();
            public readonly List<TargetEntry> RemoveObjects = new();
            public readonly List<CloudPruneHeld> Held = new();
            public long DataObjects;
        }

        private async Task<Plan> PlanAsync(CloudClient client, BucketPruneOptions o, IRunObserver observer, CancellationToken ct)
        {
            var now = o.UtcNow();
            var plan = new Plan();
            var listed = await RunManifests.ListAsync(client, ct).ConfigureAwait(false);
            var manifests = new Dictionary<string, CloudManifest>(StringComparer.Ordinal);
            foreach (var (id, _) in listed)
            {
                try { manifests[id] = (await RunManifests.LoadAsync(client, id, ct).ConfigureAwait(false))!; }
                catch (NekkBackupException ex) when (!CloudErrors.IsFatal(ex))
                {
                    plan.Refused = $"the manifest of run '{id}' cannot be read ({ex.ErrorId}: {ex.Message}); every object is kept until it is repaired or removed.";
                    return plan;
                }
            }
            (plan.Mark, plan.MarkPresent) = await PruneMark.ReadAsync(client, observer, ct).ConfigureAwait(false);
            var drop = await DropsAsync(client, o, listed, manifests, plan.Mark, ct).ConfigureAwait(false);
            foreach (var m in listed)
            {
                var why = drop.Contains(m.RunId) ? await HoldAsync(client, m.Object, o, now, ct).ConfigureAwait(false) : null;
                if (why?.Reason == Gone) continue;
                if (!drop.Contains(m.RunId) || why != null) plan.KeptRuns.Add(m.RunId);
                if (why is (string reason, string detail)) plan.Held.Add(Held(m.Object, "Manifest", reason, $"run {m.RunId}: {detail}"));
                else if (drop.Contains(m.RunId)) plan.RemoveManifests.Add(m);
            }

            // Every data key a remaining manifest names (by a well-formed hash, even on an otherwise damaged entry).
            var referenced = new HashSet<string>(StringComparer.Ordinal);
            foreach (var id in plan.KeptRuns)
                foreach (var e in manifests[id].Files)
                {
                    if (e == null) continue;
                    if (Sha256.IsHex(e.Hash)) referenced.Add(_target.DataKey(e.Hash));
                    if (!string.IsNullOrEmpty(e.Key)) referenced.Add(e.Key);
                }
            var stored = await client.ListAsync(_target.DataPrefix, ct).ConfigureAwait(false);
            plan.DataObjects = stored.Count;
            // Only data/<sha256> objects are ours to judge: anything else under data/ is left alone.
            var candidates = stored.Where(s => !referenced.Contains(s.Key) && Sha256.IsHex(s.Key.Substring(_target.DataPrefix.Length))).ToList();
            var decided = new (string Reason, string Detail)?[candidates.Count];
            var indexes = Enumerable.Range(0, candidates.Count).ToList();
            await BoundedParallel.ForEachAsync(indexes, o.Parallel, async i =>
            {
                decided[i] = await HoldAsync(client, candidates[i], o, now, ct).ConfigureAwait(false);
            }, ct).ConfigureAwait(false);
            for (int i = 0; i < candidates.Count; i++)
            {
                if (decided[i]?.Reason == Gone) plan.DataObjects--;
                else if (decided[i] is (string reason, string detail)) plan.Held.Add(Held(candidates[i], "Object", reason, detail));
                else plan.RemoveObjects.Add(candidates[i]);
            }
            return plan;
        }

        /// <summary>
        /// The runs to drop: those the policy does not keep, and those an unfinished prune's mark names, but never the
        /// newest run nor the one the LATEST pointer names (a restore without -RunId reads it).
        /// </summary>
        private static async Task<HashSet<string>> DropsAsync(CloudClient client, BucketPruneOptions o, List<(string RunId, TargetEntry Object)> listed,
            Dictionary<string, CloudManifest> manifests, PruneMark? mark, CancellationToken ct)
        {
            var drop = new HashSet<string>(StringComparer.Ordinal);
            if (listed.Count == 0) return drop;
            if (o.Retention != null)
            {
                var keep = Retention.Keep(listed.Select(m => (m.RunId, manifests[m.RunId].CreatedUtc.ToLocalTime())).ToList(), o.Retention);
                foreach (var m in listed)
                    if (!keep.Contains(m.RunId)) drop.Add(m.RunId);
            }
            if (mark != null)
                foreach (var r in mark.Runs)
                    if (manifests.ContainsKey(r)) drop.Add(r);
            drop.Remove(listed[listed.Count - 1].RunId);
            drop.Remove(listed.OrderBy(m => manifests[m.RunId].CreatedUtc).Last().RunId);
            if (drop.Count > 0 && await RunManifests.LatestRunIdAsync(client, ct).ConfigureAwait(false) is string latest) drop.Remove(latest);
            return drop;
        }

        /// <summary>Why <paramref name="listed"/> must stay although retention drops it (the age from the listing, the rest from a HEAD), or null.</summary>
        private static async Task<(string Reason, string Detail)?> HoldAsync(CloudClient client, TargetEntry listed, BucketPruneOptions o, DateTime now, CancellationToken ct)
        {
            if (PruneSafety.TooYoung(listed.LastModifiedUtc, now, o.MinimumAge) is { } young) return young;
            var head = await client.HeadAsync(listed.Key, ct).ConfigureAwait(false);
            if (head == null) return (Gone, "removed by someone else meanwhile"); // neither held nor removed by this prune
            return PruneSafety.TooYoung(head.LastModifiedUtc, now, o.MinimumAge) ?? PruneSafety.Forbidden(head, now, o.Force);
        }

        /// <summary>HoldAsync's answer for an object that is not there any more: not counted at all.</summary>
        private const string Gone = "Gone";

        private static CloudPruneHeld Held(TargetEntry e, string kind, string reason, string detail) =>
            new() { Key = e.Key, Kind = kind, Reason = reason, Detail = detail, SizeBytes = e.Size };

        /// <summary>Deletes the objects (a few at a time), with progress; returns those deleted.</summary>
        private static async Task<IReadOnlyList<TargetEntry>> SweepAsync(CloudClient client, List<TargetEntry> doomed, int parallel, IRunObserver observer, CancellationToken ct)
        {
            long total = doomed.Sum(d => d.Size), done = 0, count = 0;
            var throttle = new ProgressThrottle();
            void Report(bool completed, string? item) => observer.Progress(new RunProgress(Activity, "Removing objects no kept run names")
            {
                ItemsDone = Interlocked.Read(ref count), ItemsTotal = doomed.Count, BytesDone = Interlocked.Read(ref done), BytesTotal = total,
                CurrentItem = item, Completed = completed,
            });
            await BoundedParallel.ForEachAsync(doomed, parallel, async d =>
            {
                await client.DeleteAsync(d.Key, ct).ConfigureAwait(false);
                Interlocked.Add(ref done, d.Size);
                Interlocked.Increment(ref count);
                if (throttle.TryEnter()) Report(false, d.Key);
            }, ct).ConfigureAwait(false);
            if (doomed.Count > 0) Report(true, null);
            return doomed;
        }

        private CloudPruneResult Result(Plan plan, BucketPruneOptions o, string status, IReadOnlyList<TargetEntry> removed, TimeSpan duration)
        {
            bool refused = plan.Refused != null;
            long manifestBytes = refused ? 0 : plan.RemoveManifests.Sum(m => m.Object.Size);
            return new CloudPruneResult
            {
                Bucket = _target.Bucket, Prefix = _target.HostRoot.TrimEnd('/'), Policy = o.Retention?.Describe() ?? "", Status = status, Reason = plan.Refused,
                RunsKept = refused ? Array.Empty<string>() : plan.KeptRuns.ToArray(),
                RunsRemoved = refused ? Array.Empty<string>() : plan.RemoveManifests.Select(m => m.RunId).ToArray(),
                Objects = removed.Select(r => new CloudPruneObject { Key = r.Key, SizeBytes = r.Size }).ToArray(),
                ObjectsRemoved = removed.Count, ObjectsKept = plan.DataObjects - removed.Count,
                BytesFreed = manifestBytes + removed.Sum(r => r.Size),
                Held = refused ? Array.Empty<CloudPruneHeld>() : plan.Held.ToArray(),
                CompletedPruneId = refused ? null : plan.Mark?.PruneId, Duration = duration,
            };
        }
    }
}
