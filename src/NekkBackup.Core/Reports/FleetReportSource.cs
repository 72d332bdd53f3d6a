using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Folder;
using NekkBackup.Core.Plans;

namespace NekkBackup.Core.Reports
{
    /// <summary>
    /// The fleet side of the report: the status documents Get-NekkFleetStatus reads, and — where a status file sits in
    /// a NAS destination's .nekkbackup/status folder — the plan history beside it (.nekkbackup/plan-history/&lt;host&gt;.jsonl).
    /// A host name read from a status file is never made into a path: the history file is found by listing. In a bucket,
    /// each host publishes its plan history beside its status object (&lt;Prefix&gt;/&lt;host&gt;/plan-history.jsonl).
    /// </summary>
    public static class FleetReportSource
    {
        public static IReadOnlyList<FleetDocument> ReadFolder(string path, Action<string, Exception>? onError = null)
        {
            var list = new List<FleetDocument>();
            foreach (var (source, doc) in FleetStatus.ReadDocuments(path, onError))
            {
                var (history, from) = HistoryBeside(source, doc.Host, onError);
                list.Add(new FleetDocument { Source = source, Document = doc, History = history, HistorySource = from });
            }
            return list;
        }

        public static async Task<IReadOnlyList<FleetDocument>> ReadBucketAsync(FleetBucketTarget target, CancellationToken ct)
        {
            var docs = await PlanLegRegistry.Bucket.ReadStatusAsync(target, ct).ConfigureAwait(false);
            var histories = await PlanLegRegistry.Bucket.ReadHistoryAsync(target, docs.Select(d => d.Source).ToList(), ct).ConfigureAwait(false);
            var list = new List<FleetDocument>();
            for (int i = 0; i < docs.Count; i++)
            {
                var d = docs[i];
                var history = histories[i].Where(e => string.Equals(e.Host, d.Document.Host, StringComparison.OrdinalIgnoreCase) || e.Host.Length == 0).ToList();
                list.Add(new FleetDocument { Source = d.Source, Document = d.Document, History = history, HistorySource = history.Count > 0 ? d.Source : null });
            }
            return list;
        }

        private static (IReadOnlyList<PlanHistoryEntry>, string?) HistoryBeside(string statusFile, string host, Action<string, Exception>? onError)
        {
            try
            {
                var statusDir = Path.GetDirectoryName(statusFile);
                var meta = statusDir != null ? Path.GetDirectoryName(statusDir) : null;
                if (meta == null || !string.Equals(Path.GetFileName(statusDir), "status", StringComparison.Ordinal)
                    || !string.Equals(Path.GetFileName(meta), FolderRepository.MetaDirName, StringComparison.Ordinal))
                    return (Array.Empty<PlanHistoryEntry>(), null);
                var dir = Path.Combine(meta, "plan-history");
                if (!Directory.Exists(dir)) return (Array.Empty<PlanHistoryEntry>(), null);
                var file = Directory.GetFiles(dir, "*.jsonl")
                    .FirstOrDefault(f => string.Equals(Path.GetFileNameWithoutExtension(f), host, StringComparison.OrdinalIgnoreCase));
                if (file == null) return (Array.Empty<PlanHistoryEntry>(), null);
                var entries = PlanHistoryStore.ReadFile(file).Where(e => string.Equals(e.Host, host, StringComparison.OrdinalIgnoreCase) || e.Host.Length == 0).ToList();
                return (entries, file);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                onError?.Invoke(statusFile, ex);
                return (Array.Empty<PlanHistoryEntry>(), null);
            }
        }
    }
}
