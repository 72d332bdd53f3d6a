using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Serialization;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Folder;
using NekkBackup.Core.Validation;

namespace NekkBackup.Core.Plans
{
    /// <summary>The status file a host publishes (&lt;status dir&gt;/&lt;host&gt;.json, format nekkbackup-status/1).</summary>
    public sealed class HostStatusDocument
    {
        public const string FormatName = "nekkbackup-status/1";

        [JsonPropertyName("format")] public string Format { get; set; } = FormatName;
        [JsonPropertyName("host")] public string Host { get; set; } = "";
        [JsonPropertyName("plan")] public string Plan { get; set; } = "";
        [JsonPropertyName("generatedUtc")] public DateTime GeneratedUtc { get; set; }
        [JsonPropertyName("compliant")] public bool Compliant { get; set; }
        [JsonPropertyName("findings")] public List<StatusFinding> Findings { get; set; } = new();
        [JsonPropertyName("lastGood")] public Dictionary<string, DateTime?> LastGood { get; set; } = new();
        [JsonPropertyName("lastRunStatus")] public string LastRunStatus { get; set; } = "";

        public sealed class StatusFinding
        {
            [JsonPropertyName("rule")] public string Rule { get; set; } = "";
            [JsonPropertyName("status")] public string Status { get; set; } = "";
            [JsonPropertyName("detail")] public string Detail { get; set; } = "";
        }
    }

    /// <summary>Publishes a host's status next to its backups and aggregates many hosts' files (Get-NekkFleetStatus).</summary>
    public static class FleetStatus
    {
        private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

        /// <summary>A host that has not published for this long is Stale (it stopped running its plan).</summary>
        public static readonly TimeSpan StaleAfter = TimeSpan.FromHours(26);

        public static HostStatusDocument Build(BackupPlan plan, IReadOnlyList<ComplianceFinding> findings, EvidenceSet evidence, IReadOnlyList<PlanHistoryEntry> history, DateTime? nowUtc = null)
        {
            DateTime? Last(PlanLeg leg) => evidence[leg].Runs.Where(r => r.IsGood).Select(r => (DateTime?)r.StartedUtc).DefaultIfEmpty(null).Max();
            // The drill a fleet table shows is the one compliance counts (DrillWithin92Days): every leg the plan has drilled,
            // so the oldest of the legs' latest good drills, and none while one of them has never passed.
            DateTime? LastDrill(PlanLeg leg) => evidence[leg].Drills.Where(r => r.IsGood).Select(r => (DateTime?)r.FinishedUtc).DefaultIfEmpty(null).Max();
            var drills = plan.CopyLegs.Select(LastDrill).ToList();
            var lastDrill = drills.Any(d => d == null) ? null : drills.Min();
            return new HostStatusDocument
            {
                Host = plan.Host,
                Plan = plan.Name,
                GeneratedUtc = nowUtc ?? DateTime.UtcNow,
                Compliant = ComplianceEvaluator.IsCompliant(findings),
                Findings = findings.Select(f => new HostStatusDocument.StatusFinding { Rule = f.Rule, Status = f.Status, Detail = f.Detail }).ToList(),
                LastGood = new Dictionary<string, DateTime?>
                {
                    ["Folder"] = Last(PlanLeg.Folder), ["Cloud"] = Last(PlanLeg.Cloud), ["Image"] = Last(PlanLeg.Image), ["Drill"] = lastDrill,
                },
                LastRunStatus = history.Count > 0 ? history[history.Count - 1].Status : "",
            };
        }

        /// <summary>
        /// Writes the host's status to its status folder: FleetStatusPath (the admin's folder), or
        /// &lt;NasDestination&gt;/.nekkbackup/status — created inside the destination, never through a link.
        /// </summary>
        public static string Publish(BackupPlan plan, IReadOnlyList<ComplianceFinding> findings, EvidenceSet evidence, IReadOnlyList<PlanHistoryEntry> history)
        {
            var dir = PlanPaths.StatusDirectory(plan);
            var root = string.IsNullOrEmpty(plan.FleetStatusPath) ? plan.NasDestination : dir;
            return Write(new StoreRoot(root, "the status folder"), dir, Build(plan, findings, evidence, history));
        }

        public static string Write(string directory, HostStatusDocument doc) => Write(new StoreRoot(directory, "the status folder"), directory, doc);

        private static string Write(StoreRoot root, string directory, HostStatusDocument doc)
        {
            Directory.CreateDirectory(root.Path);
            root.EnsureDirectory(directory, Reasons.StatusCorrupt);
            var path = Path.Combine(directory, SystemdUnits.Sanitize(doc.Host) + ".json");
            AtomicFile.Write(path, JsonSerializer.SerializeToUtf8Bytes(doc, Json));
            return path;
        }

        /// <summary>
        /// Every host status under <paramref name="path"/>: &lt;path&gt;/*.json (a FleetStatusPath folder),
        /// &lt;path&gt;/.nekkbackup/status/*.json (one NAS destination) and &lt;path&gt;/*/.nekkbackup/status/*.json
        /// (a share holding one destination per host). Latest per host and plan. Links are not followed; a file that
        /// is not a regular file or not a sound status document is reported through <paramref name="onError"/>.
        /// </summary>
        public static IReadOnlyList<FleetHostStatus> Read(string path, DateTime? nowUtc = null, Action<string, Exception>? onError = null) =>
            FromDocuments(ReadDocuments(path, onError), nowUtc);

        /// <summary>The status documents <see cref="Read"/> aggregates, with the file each came from (the HTML report reads them whole).</summary>
        public static IReadOnlyList<(string Source, HostStatusDocument Document)> ReadDocuments(string path, Action<string, Exception>? onError = null)
        {
            var store = new StoreRoot(path, "the fleet folder");
            var files = new List<string>();
            void Add(string dir)
            {
                try
                {
                    foreach (var (f, kind) in store.List(dir, Reasons.StatusCorrupt, ".json"))
                        if (kind != StoredKind.Directory) files.Add(f);
                }
                catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is NekkBackupException) { onError?.Invoke(dir, ex); }
            }
            Add(store.Path);
            Add(Path.Combine(store.Path, FolderRepository.MetaDirName, "status"));
            try
            {
                foreach (var (d, kind) in store.List(store.Path, Reasons.StatusCorrupt))
                    if (kind == StoredKind.Directory && Path.GetFileName(d) != FolderRepository.MetaDirName)
                        Add(Path.Combine(d, FolderRepository.MetaDirName, "status"));
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is NekkBackupException) { onError?.Invoke(path, ex); }
            return files.Select(f => (f, TryRead(store, f, onError))).Where(x => x.Item2 != null).Select(x => (x.f, x.Item2!)).ToList();
        }

        public static IReadOnlyList<FleetHostStatus> FromDocuments(IEnumerable<(string source, HostStatusDocument doc)> docs, DateTime? nowUtc = null)
        {
            var now = nowUtc ?? DateTime.UtcNow;
            DateTime? L(Dictionary<string, DateTime?> d, string k) => d.TryGetValue(k, out var v) && v != null ? v.Value.ToLocalTime() : null;
            return docs
                .GroupBy(x => x.doc.Host.ToLowerInvariant() + "|" + x.doc.Plan.ToLowerInvariant())
                .Select(g => g.OrderBy(x => x.doc.GeneratedUtc).Last())
                .Select(x => new FleetHostStatus
                {
                    Host = x.doc.Host,
                    Plan = x.doc.Plan,
                    Compliant = x.doc.Compliant,
                    Generated = x.doc.GeneratedUtc.ToLocalTime(),
                    Stale = now - x.doc.GeneratedUtc > StaleAfter,
                    Failing = x.doc.Findings.Where(f => f.Status == "Fail").Select(f => f.Rule).ToArray(),
                    Warnings = x.doc.Findings.Where(f => f.Status == "Warn").Select(f => f.Rule).ToArray(),
                    LastFolder = L(x.doc.LastGood, "Folder"),
                    LastCloud = L(x.doc.LastGood, "Cloud"),
                    LastImage = L(x.doc.LastGood, "Image"),
                    LastDrill = L(x.doc.LastGood, "Drill"),
                    LastRunStatus = x.doc.LastRunStatus,
                    Source = x.source,
                })
                .OrderBy(s => s.Host, StringComparer.OrdinalIgnoreCase).ThenBy(s => s.Plan, StringComparer.OrdinalIgnoreCase)
                .ToList();
        }

        /// <summary>A sound status document, or null (see <see cref="Check"/> for why not).</summary>
        public static HostStatusDocument? Parse(byte[] json)
        {
            try { return Check(json, "(status)"); }
            catch (NekkBackupException) { return null; }
        }

        /// <summary>The status document in <paramref name="json"/>, or NekkBackup.StatusCorrupt naming the source and the field.</summary>
        public static HostStatusDocument Check(byte[] json, string source)
        {
            var c = new StoredCheck(source, Reasons.StatusCorrupt, "the host status");
            return PlanRules.CheckStatus(StoredJson.Parse<HostStatusDocument>(json, Json, c), c);
        }

        private static HostStatusDocument? TryRead(StoreRoot store, string file, Action<string, Exception>? onError)
        {
            try
            {
                var bytes = store.ReadAllBytes(file, PlanRules.MaxStatusBytes, Reasons.StatusCorrupt, "the host status");
                return bytes == null ? null : Check(bytes, file);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is NekkBackupException) { onError?.Invoke(file, ex); return null; }
        }
    }
}
