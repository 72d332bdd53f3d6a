using System;
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
        /// <summary>Replaced files whose old content compressed; null when not counted (fewer than MinSuspicious files look encrypted, so the share rule was not needed).</summary>
        public int? Compressible { get; init; }
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
        /// <summary>A file the last run recorded that the scan finds replaced (other size or time, or another link target).</summary>
        public static bool Differs(SourceItem it, ManifestEntry old) =>
            it.Link != null ? old.Link != it.Link : (old.IsLink || old.Size != it.Size || old.MTime != it.MTime);

        public static GuardVerdict Check(BackupContext ctx, List<SourceItem> items, Dictionary<string, ManifestEntry> lastMap, HashSet<string> nameSet,
            GuardProbes probes, CancellationToken ct)
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
                if (Differs(it, old)) replaced.Add((it, old));
            }
            int deleted = lastMap.Values.Count(e => !e.IsDir && nameSet.Contains(BackupContext.TopName(e.Path)) && !present.Contains(e.Path));
            double pct = 100.0 * (replaced.Count + deleted) / lastCount;
            if (pct > o.MaxChangedPercent)
                return new GuardVerdict
                {
                    Checked = true, LastFiles = lastCount, Replaced = replaced.Count, Deleted = deleted, ChangedPercent = pct,
                    Refusal = $"{replaced.Count} replaced and {deleted} deleted file(s) are {pct:0.#} % of the {lastCount} files in the last run ({lastMap.Count}), more than MaxChangedPercent {o.MaxChangedPercent:0.#} %. Check the source for ransomware or mass deletion; -Force lets one run through.",
                };

            // Entropy: did compressible files turn into noise? A file is suspicious when its new content does not compress
            // and its old content did. The new content is probed first (the copy reads it next, so the probe warms it), the
            // old copy on the destination — a network read on a NAS — only for files whose new content looks like noise;
            // most of this ran during the scan (GuardProbes). The share rule needs every replaced file's old ratio, so the
            // other old copies are read only when enough files are suspicious.
            var probed = replaced.Where(r => r.Item.Link == null && !r.Old.IsLink).ToArray();
            var po = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, o.ThrottleLimit), CancellationToken = ct };
            var after = new double?[probed.Length];
            var before = new double?[probed.Length];
            Parallel.For(0, probed.Length, po, i =>
                (after[i], before[i]) = probes.Of(probed[i].Item, probed[i].Old));
            var noise = Enumerable.Range(0, probed.Length).Where(i => after[i] >= EntropyProbe.IncompressibleRatio).ToArray();
            var suspicious = noise.Where(i => before[i] < EntropyProbe.CompressibleRatio).ToArray();
            int? compressible = null;
            bool refuse = false;
            if (suspicious.Length >= EntropyProbe.MinSuspicious)
            {
                var rest = Enumerable.Range(0, probed.Length).Except(noise).ToArray();
                Parallel.ForEach(rest, po, i => before[i] = OldRatio(repo, probed[i].Old));
                compressible = before.Count(b => b < EntropyProbe.CompressibleRatio);
                refuse = suspicious.Length >= EntropyProbe.SuspiciousShare * compressible.Value;
            }
            ctx.Observer.Message(RunMessageLevel.Verbose,
                $"Ransomware guard: {replaced.Count} replaced, {deleted} deleted of {lastCount}; {suspicious.Length} replaced files look encrypted (compressed before, not now)"
                + (compressible != null ? $"; {compressible} compressed before." : $"; {noise.Length} do not compress now, so {noise.Length} old copies were read."));
            return new GuardVerdict
            {
                Checked = true, LastFiles = lastCount, Replaced = replaced.Count, Deleted = deleted, ChangedPercent = pct,
                Compressible = compressible, Suspicious = suspicious.Length,
                Refusal = refuse
                    ? $"{suspicious.Length} of {compressible} replaced files that used to compress well no longer compress (they look encrypted), e.g. {string.Join(", ", suspicious.Take(3).Select(i => probed[i].Item.Path))}. Check the source for ransomware; -Force lets one run through."
                    : null,
            };
        }

        /// <summary>
        /// A replaced file's new compressibility and, when the new content does not compress (it may be noise that was
        /// text), its old one; else the old one is not read (null).
        /// </summary>
        internal static (double? After, double? Before) Probe(FolderRepository repo, SourceItem it, ManifestEntry old)
        {
            var after = EntropyProbe.Ratio(it.FullPath);
            return (after, after >= EntropyProbe.IncompressibleRatio ? OldRatio(repo, old) : null);
        }

        /// <summary>The compressibility of a file's last copy: the mirror's when it is still that version, else its history object.</summary>
        private static double? OldRatio(FolderRepository repo, ManifestEntry old)
        {
            var mirror = repo.MirrorPath(old.Path);
            var mf = repo.Copy(mirror);
            if (mf.IsFile && mf.Length == old.Size && mf.MTime == old.MTime) return EntropyProbe.Ratio(mirror, repo.Store);
            if (old.Hash != null && repo.Copy(repo.ObjectPath(old.Hash)).IsFile) return EntropyProbe.Ratio(repo.ObjectPath(old.Hash), repo.Store);
            return null;
        }
    }

    /// <summary>
    /// The guard's probes (<see cref="GuardPhase.Probe"/>), started while the scan runs: a file the scan finds replaced
    /// (against the last run) is probed on the pool, <see cref="FolderBackupOptions.ThrottleLimit"/> at a time, so the
    /// reading and compression of the samples overlap the scan's metadata reads. No more files are started than the share
    /// MaxChangedPercent allows (a run with more is refused on the count alone); the guard probes the rest itself.
    /// </summary>
    internal sealed class GuardProbes
    {
        private readonly Dictionary<string, ManifestEntry> _last;
        private readonly Dictionary<string, Task<(double? After, double? Before)>> _started;
        private readonly FolderRepository _repo;
        private readonly SemaphoreSlim _gate;
        private readonly int _cap;
        private readonly CancellationToken _ct;

        private GuardProbes(BackupContext ctx, Dictionary<string, ManifestEntry> last, CancellationToken ct)
        {
            _last = last;
            _started = new Dictionary<string, Task<(double? After, double? Before)>>(StringComparer.Ordinal); // by FullPath: one per item, even two names one path apart by case
            _gate = new SemaphoreSlim(Math.Max(1, ctx.Options.ThrottleLimit));
            _repo = ctx.Repo;
            _cap = (int)Math.Min(int.MaxValue, last.Count * Math.Max(0, ctx.Options.MaxChangedPercent) / 100.0) + 1;
            _ct = ct;
        }

        /// <summary>Probes for a run the guard will check (there is a last run and no -Force), else null.</summary>
        public static GuardProbes? For(BackupContext ctx, Baseline baseline, CancellationToken ct) =>
            baseline.Last != null && !ctx.Options.Force ? new GuardProbes(ctx, baseline.LastMap, ct) : null;

        /// <summary>The scan found <paramref name="it"/> (on the scan's thread).</summary>
        public void Seen(SourceItem it)
        {
            lock (_started) if (_started.Count >= _cap) return;
            if (it.IsDir || it.Link != null) return;
            if (!_last.TryGetValue(it.Path, out var old) || old.IsDir || old.IsLink || !GuardPhase.Differs(it, old)) return;
            var probe = Task.Run(async () =>
            {
                await _gate.WaitAsync(_ct).ConfigureAwait(false);
                try { return GuardPhase.Probe(_repo, it, old); }
                finally { _gate.Release(); }
            });
            lock (_started) _started[it.FullPath] = probe;
        }

        /// <summary><see cref="GuardPhase.Probe"/> of <paramref name="it"/>: the one started during the scan, or one now.</summary>
        public (double? After, double? Before) Of(SourceItem it, ManifestEntry old)
        {
            Task<(double? After, double? Before)>? started;
            lock (_started) _started.TryGetValue(it.FullPath, out started);
            return started != null ? started.GetAwaiter().GetResult() : GuardPhase.Probe(_repo, it, old);
        }
    }
}
