using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Observability;

namespace NekkBackup.Core.Folder
{
    /// <summary>What the ransomware guard found; <see cref="Refusal"/> is set when the run must not go on.</summary>
    internal sealed class GuardVerdict
    {
        /// <summary>False when the guard did not run (no earlier run, or -Force).</summary>
        public bool Checked { get; init; }
        public int LastFiles { get; init; }
        public int Replaced { get; init; }
        public int Deleted { get; init; }
        public double ChangedPercent { get; init; }
        public int Compressible { get; init; }
        public int Suspicious { get; init; }
        public string? Refusal { get; init; }

        public static readonly GuardVerdict Skipped = new();
    }

    /// <summary>
    /// Guard: before anything is written, refuses a run whose changes look like ransomware or mass deletion — more than
    /// MaxChangedPercent of the last run's files replaced or deleted, or compressible files that turned into noise.
    /// Reads the source, the mirror and history objects; writes nothing.
    /// </summary>
    internal static class GuardPhase
    {
        public static GuardVerdict Check(BackupContext ctx, List<SourceItem> items, Dictionary<string, ManifestEntry> lastMap, HashSet<string> nameSet, CancellationToken ct)
        {
            var o = ctx.Options;
            var repo = ctx.Repo;
            int lastCount = lastMap.Values.Count(e => !e.IsDir && nameSet.Contains(BackupContext.TopName(e.Path)));
            if (lastCount == 0) return new GuardVerdict { Checked = true };
            var replaced = new List<(SourceItem Item, ManifestEntry Old)>();
            var present = new HashSet<string>(ctx.Paths);
            foreach (var it in items)
            {
                present.Add(it.Path);
                if (!lastMap.TryGetValue(it.Path, out var old)) continue;
                if (it.IsDir || old.IsDir) continue;
                bool differs = it.Link != null ? old.Link != it.Link : (old.IsLink || old.Size != it.Size || old.MTime != it.MTime);
                if (differs) replaced.Add((it, old));
            }
            int deleted = lastMap.Values.Count(e => !e.IsDir && nameSet.Contains(BackupContext.TopName(e.Path)) && !present.Contains(e.Path));
            double pct = 100.0 * (replaced.Count + deleted) / lastCount;
            if (pct > o.MaxChangedPercent)
                return new GuardVerdict
                {
                    Checked = true, LastFiles = lastCount, Replaced = replaced.Count, Deleted = deleted, ChangedPercent = pct,
                    Refusal = $"{replaced.Count} replaced and {deleted} deleted file(s) are {pct:0.#} % of the {lastCount} files in the last run ({lastMap.Count}), more than MaxChangedPercent {o.MaxChangedPercent:0.#} %. Check the source for ransomware or mass deletion; -Force lets one run through.",
                };

            // Entropy: did compressible files turn into noise?
            int compressible = 0, suspicious = 0;
            var examples = new ConcurrentQueue<string>();
            var po = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, o.ThrottleLimit), CancellationToken = ct };
            Parallel.ForEach(replaced.Where(r => r.Item.Link == null && !r.Old.IsLink), po, r =>
            {
                string? oldPath = null;
                var mirror = repo.MirrorPath(r.Old.Path);
                var mf = repo.Copy(mirror);
                if (mf.IsFile && mf.Length == r.Old.Size && mf.MTime == r.Old.MTime) oldPath = mirror;
                else if (r.Old.Hash != null && repo.Copy(repo.ObjectPath(r.Old.Hash)).IsFile) oldPath = repo.ObjectPath(r.Old.Hash);
                if (oldPath == null) return;
                var before = EntropyProbe.Ratio(oldPath, repo.Store);
                if (before == null || before >= EntropyProbe.CompressibleRatio) return;
                Interlocked.Increment(ref compressible);
                var after = EntropyProbe.Ratio(r.Item.FullPath);
                if (after != null && after >= EntropyProbe.IncompressibleRatio)
                {
                    Interlocked.Increment(ref suspicious);
                    if (examples.Count < 3) examples.Enqueue(r.Item.Path);
                }
            });
            ctx.Observer.Message(RunMessageLevel.Verbose, $"Ransomware guard: {replaced.Count} replaced, {deleted} deleted of {lastCount}; {suspicious} of {compressible} compressible replaced files now look encrypted.");
            bool refuse = suspicious >= EntropyProbe.MinSuspicious && suspicious >= EntropyProbe.SuspiciousShare * compressible;
            return new GuardVerdict
            {
                Checked = true, LastFiles = lastCount, Replaced = replaced.Count, Deleted = deleted, ChangedPercent = pct,
                Compressible = compressible, Suspicious = suspicious,
                Refusal = refuse
                    ? $"{suspicious} of {compressible} replaced files that used to compress well no longer compress (they look encrypted), e.g. {string.Join(", ", examples)}. Check the source for ransomware; -Force lets one run through."
                    : null,
            };
        }
    }
}
