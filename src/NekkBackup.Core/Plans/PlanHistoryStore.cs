using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using NekkBackup.Core.Folder;

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

        public static string NasHistoryPath(BackupPlan plan) =>
            Path.Combine(plan.NasDestination, FolderRepository.MetaDirName, "plan-history", plan.Host + ".jsonl");

        public static string LocalHistoryPath(BackupPlan plan) =>
            Path.Combine(PlanPaths.PlanDataDirectory(plan), "history.jsonl");

        /// <summary>Appends to both places; returns the problems (a history that cannot be written never fails a backup).</summary>
        public static IReadOnlyList<string> Append(BackupPlan plan, IEnumerable<PlanHistoryEntry> entries, bool toNas = true)
        {
            var list = entries.ToList();
            var problems = new List<string>();
            if (list.Count == 0) return problems;
            var text = new StringBuilder();
            foreach (var e in list) text.Append(JsonSerializer.Serialize(e, Json)).Append('\n');
            var targets = new List<string> { LocalHistoryPath(plan) };
            if (toNas) targets.Add(NasHistoryPath(plan));
            foreach (var path in targets)
            {
                try
                {
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    File.AppendAllText(path, text.ToString(), new UTF8Encoding(false));
                }
                catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
                {
                    problems.Add($"could not write the plan history to '{path}': {ex.Message}");
                }
            }
            return problems;
        }

        /// <summary>Entries from one file, oldest first; torn or foreign lines are skipped.</summary>
        public static List<PlanHistoryEntry> ReadFile(string path)
        {
            var list = new List<PlanHistoryEntry>();
            if (!File.Exists(path)) return list;
            string[] lines;
            try { lines = File.ReadAllLines(path); }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { return list; }
            foreach (var line in lines)
            {
                if (string.IsNullOrWhiteSpace(line)) continue;
                try
                {
                    var e = JsonSerializer.Deserialize<PlanHistoryEntry>(line, Json);
                    if (e != null && e.Job.Length > 0) list.Add(e);
                }
                catch (JsonException) { }
            }
            return list;
        }

        /// <summary>This plan's history from the NAS and the local copy, merged (same step once), oldest first.</summary>
        public static List<PlanHistoryEntry> Read(BackupPlan plan, bool includeLocal = true)
        {
            var all = ReadFile(NasHistoryPath(plan));
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
