using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Folder;
using NekkBackup.Core.Validation;

namespace NekkBackup.Core.Plans
{
    /// <summary>
    /// Plan run history as JSON lines: next to the data (&lt;NasDestination&gt;/.nekkbackup/plan-history/&lt;host&gt;.jsonl,
    /// so compliance can be judged from the destination alone) and locally (&lt;DataDirectory&gt;/plans/&lt;name&gt;/history.jsonl).
    /// One writer per plan at a time (the plan lock), appends only.
    /// </summary>
    public static class PlanHistoryStore
    {
        private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };

        /// <summary>&lt;NasDestination&gt;/.nekkbackup/plan-history/&lt;host&gt;.jsonl; UnsafePath when the plan's host is not a safe name.</summary>
        public static string NasHistoryPath(BackupPlan plan)
        {
            if (SafeName.Problem(plan.Host) is string why)
                throw new NekkBackupException(Reasons.UnsafePath, FailureKind.SecurityError,
                    $"The plan's host {StoredCheck.Quote(plan.Host)} {why}; a host name never becomes a path.", plan.Host);
            return Path.Combine(plan.NasDestination, FolderRepository.MetaDirName, "plan-history", plan.Host + ".jsonl");
        }

        public static string LocalHistoryPath(BackupPlan plan) =>
            Path.Combine(PlanPaths.PlanDataDirectory(plan), "history.jsonl");

        /// <summary>Appends to both places; returns the problems (a history that cannot be written never fails a backup).</summary>
        public static IReadOnlyList<string> Append(BackupPlan plan, IEnumerable<PlanHistoryEntry> entries, bool toNas = true)
        {
            var list = entries.ToList();
            var problems = new List<string>();
            if (list.Count == 0) return problems;
            var bytes = Serialize(list);
            var targets = new List<(string Root, Func<string> Path)> { (OperatingSystemInfo.DataDirectory, () => LocalHistoryPath(plan)) };
            if (toNas) targets.Add((plan.NasDestination, () => NasHistoryPath(plan)));
            foreach (var (root, pathOf) in targets)
            {
                string path = root;
                try
                {
                    // Inside its root, never through a link, never into a FIFO or device.
                    path = pathOf();
                    var store = new StoreRoot(root, "the history folder");
                    store.EnsureDirectory(Path.GetDirectoryName(path)!, Reasons.HistoryCorrupt);
                    using var fs = store.OpenAppend(path, Reasons.HistoryCorrupt, "the plan history");
                    fs.Write(bytes, 0, bytes.Length);
                }
                catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is NekkBackupException)
                {
                    problems.Add($"could not write the plan history to '{path}': {(ex is NekkBackupException n ? n.ErrorId + ": " : "")}{ex.Message}");
                }
            }
            return problems;
        }

        /// <summary>Entries from one file, oldest first; torn, foreign or damaged lines are skipped, and so is a file that is not a regular one.</summary>
        public static List<PlanHistoryEntry> ReadFile(string path)
        {
            var list = new List<PlanHistoryEntry>();
            byte[]? bytes;
            try
            {
                var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
                bytes = new StoreRoot(dir, "the history folder").ReadAllBytes(path, PlanRules.MaxHistoryBytes, Reasons.HistoryCorrupt, "the plan history");
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is NekkBackupException) { return list; }
            return bytes == null ? list : Parse(bytes, path);
        }

        /// <summary>History lines read back from anywhere (a file, a bucket object): each line through the history rules; torn or damaged lines are skipped.</summary>
        public static List<PlanHistoryEntry> Parse(byte[] bytes, string source)
        {
            var list = new List<PlanHistoryEntry>();
            var check = new StoredCheck(source, Reasons.HistoryCorrupt, "the plan history");
            foreach (var line in Encoding.UTF8.GetString(bytes).Split('\n'))
            {
                if (string.IsNullOrWhiteSpace(line)) continue;
                try
                {
                    var e = JsonSerializer.Deserialize<PlanHistoryEntry>(line, Json);
                    if (e != null && PlanRules.HistoryProblem(e, check) == null) list.Add(e);
                }
                catch (JsonException) { }
            }
            return list;
        }

        /// <summary>Entries as history lines (what <see cref="Parse"/> reads).</summary>
        public static byte[] Serialize(IEnumerable<PlanHistoryEntry> entries)
        {
            var sb = new StringBuilder();
            foreach (var e in entries) sb.Append(JsonSerializer.Serialize(e, Json)).Append('\n');
            return Encoding.UTF8.GetBytes(sb.ToString());
        }

        /// <summary>The NAS history of this plan (empty when the plan's host cannot name a history file).</summary>
        public static List<PlanHistoryEntry> ReadNas(BackupPlan plan)
        {
            try { return ReadFile(NasHistoryPath(plan)); }
            catch (NekkBackupException) { return new List<PlanHistoryEntry>(); }
        }

        /// <summary>This plan's history from the NAS and the local copy, merged (same step once), oldest first.</summary>
        public static List<PlanHistoryEntry> Read(BackupPlan plan, bool includeLocal = true)
        {
            var all = ReadNas(plan);
            if (includeLocal) all.AddRange(ReadFile(LocalHistoryPath(plan)));
            return all
                .Where(e => string.Equals(e.Plan, plan.Name, StringComparison.OrdinalIgnoreCase))
                .GroupBy(e => e.PlanRunId + "|" + e.Job + "|" + e.Step + "|" + e.LegRunId)
                .Select(g => g.First())
                .OrderBy(e => e.StartedUtc)
                .ToList();
        }
    }

    /// <summary>Local paths a plan uses.</summary>
    public static class PlanPaths
    {
        public static string PlanDataDirectory(BackupPlan plan) =>
            Path.Combine(OperatingSystemInfo.DataDirectory, "plans", SystemdUnits.Sanitize(plan.Name));

        public static string StatusDirectory(BackupPlan plan) =>
            !string.IsNullOrEmpty(plan.FleetStatusPath)
                ? plan.FleetStatusPath!
                : Path.Combine(plan.NasDestination, FolderRepository.MetaDirName, "status");
    }
}
