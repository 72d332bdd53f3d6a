using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Validation;

namespace NekkBackup.Core.Folder
{
    /// <summary>
    /// Retain: GFS retention after a committed run — which runs a policy keeps, then their manifests go and the history
    /// objects no kept run names are removed (through the target). Errs on keeping: any doubt leaves an object.
    /// </summary>
    internal static class Retention
    {
        public static void Validate(RetentionPolicy? p)
        {
            if (p == null) return;
            var all = new[] { p.KeepLast, p.Hourly, p.Daily, p.Weekly, p.Monthly };
            if (all.Any(v => v < 0))
                throw Fail.Argument("InvalidRetention", $"Retention counts cannot be negative ({p}).", p);
            if (all.All(v => (v ?? 0) == 0))
                throw Fail.Argument("InvalidRetention", "The retention policy keeps nothing: give at least one of KeepLast, Hourly, Daily, Weekly, Monthly greater than 0.", p);
        }

        /// <summary>The RunIds to keep among <paramref name="runs"/> (RunId, local start). The newest is always kept.</summary>
        public static HashSet<string> Keep(IReadOnlyList<(string RunId, DateTime Started)> runs, RetentionPolicy p)
        {
            var sorted = runs.OrderByDescending(r => r.Started).ThenByDescending(r => r.RunId, StringComparer.Ordinal).ToList();
            var keep = new HashSet<string>(StringComparer.Ordinal);
            if (sorted.Count == 0) return keep;
            keep.Add(sorted[0].RunId);
            foreach (var r in sorted.Take(p.KeepLast ?? 0)) keep.Add(r.RunId);
            Bucket(sorted, p.Hourly, t => t.ToString("yyyyMMddHH", CultureInfo.InvariantCulture), keep);
            Bucket(sorted, p.Daily, t => t.ToString("yyyyMMdd", CultureInfo.InvariantCulture), keep);
            Bucket(sorted, p.Weekly, t =>
            {
                var cal = CultureInfo.InvariantCulture.Calendar;
                var week = cal.GetWeekOfYear(t, CalendarWeekRule.FirstFourDayWeek, DayOfWeek.Monday);
                return t.Year.ToString(CultureInfo.InvariantCulture) + "W" + week.ToString(CultureInfo.InvariantCulture);
            }, keep);
            Bucket(sorted, p.Monthly, t => t.ToString("yyyyMM", CultureInfo.InvariantCulture), keep);
            return keep;
        }

        /// <summary>
        /// The runs <paramref name="policy"/> drops (oldest first), counting <paramref name="pending"/> — a run not committed
        /// yet (a plan's preview) — among them. Reads run headers only.
        /// </summary>
        public static List<string> Drops(FolderRepository repo, RetentionPolicy policy, (string RunId, DateTime StartedUtc)? pending = null)
        {
            var runs = repo.ListRunIds().Select(id => (id, repo.LoadHeader(id).StartedUtc.ToLocalTime())).ToList();
            if (pending is { } p && !runs.Any(r => r.id == p.RunId)) runs.Add((p.RunId, p.StartedUtc.ToLocalTime()));
            var keep = Keep(runs, policy);
            return runs.Select(r => r.id).Where(id => !keep.Contains(id)).ToList();
        }

        /// <summary>Applies <paramref name="policy"/> after a commit. A failure is a warning: the new run is committed either way.</summary>
        public static async Task ApplyAsync(FolderRepository repo, RetentionPolicy policy, IRunObserver obs, CancellationToken ct)
        {
            try
            {
                var drop = Drops(repo, policy);
                if (drop.Count == 0) return;
                var keep = repo.ListRunIds().Except(drop, StringComparer.Ordinal).ToList();
                foreach (var id in drop)
                {
                    await repo.Target.DeleteAsync(repo.KeyOf(repo.ManifestPath(id)), ct).ConfigureAwait(false);
                    obs.Message(RunMessageLevel.Verbose, $"Retention: dropped run {id}.");
                }
                var referenced = new HashSet<string>(StringComparer.Ordinal);
                // Every well-formed hash a kept run names stays referenced, even on an entry refused for other damage:
                // garbage collection errs on keeping.
                foreach (var id in keep)
                    foreach (var e in repo.LoadManifest(id).Entries)
                        if (e != null && ContentHash.IsSha256Hex(e.Hash)) referenced.Add(e.Hash!);
                var unreferenced = new List<string>();
                await foreach (var o in repo.Target.ListAsync("objects/", ct).ConfigureAwait(false))
                    if (!referenced.Contains(o.Key.Substring(o.Key.LastIndexOf('/') + 1))) unreferenced.Add(o.Key);
                int removed = 0;
                foreach (var key in unreferenced)
                {
                    try { await repo.Target.DeleteAsync(key, ct).ConfigureAwait(false); removed++; }
                    catch (Storage.TargetException ex) { obs.Message(RunMessageLevel.Verbose, $"Retention: could not remove {key}: {ex.Message}"); }
                }
                obs.Message(RunMessageLevel.Verbose, $"Retention: kept {keep.Count} run(s), dropped {drop.Count}, removed {removed} history object(s).");
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is NekkBackupException)
            {
                obs.Message(RunMessageLevel.Warning, "Retention could not finish: " + ex.Message);
            }
        }

        private static void Bucket(List<(string RunId, DateTime Started)> newestFirst, int? count, Func<DateTime, string> key, HashSet<string> keep)
        {
            int n = count ?? 0;
            if (n <= 0) return;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var r in newestFirst)
            {
                if (seen.Count >= n) break;
                if (seen.Add(key(r.Started))) keep.Add(r.RunId);
            }
        }
    }
}
