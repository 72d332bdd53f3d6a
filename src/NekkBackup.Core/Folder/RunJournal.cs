using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Validation;

namespace NekkBackup.Core.Folder
{
    /// <summary>
    /// A per-run append-only record of what has landed in the mirror (a file renamed into place, a
    /// link made, a file removed). It is written to the OS after every item (no fsync: a killed
    /// process loses nothing the kernel has). The next run replays journals newer than the last
    /// manifest so it does not recopy what already landed; the run's manifest supersedes its journal.
    /// </summary>
    internal sealed class RunJournal : IDisposable
    {
        private readonly FileStream _fs;
        private readonly object _gate = new();

        internal sealed class Record
        {
            [JsonPropertyName("p")] public string Path { get; set; } = "";
            [JsonPropertyName("s")] public long Size { get; set; }
            [JsonPropertyName("m")] public long MTime { get; set; }
            [JsonPropertyName("h")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Hash { get; set; }
            [JsonPropertyName("l")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Link { get; set; }
            [JsonPropertyName("k")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Kind { get; set; }
            [JsonPropertyName("a")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? Attributes { get; set; }
            [JsonPropertyName("d")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public bool Deleted { get; set; }
        }

        private RunJournal(string path, FileStream fs)
        {
            FilePath = path;
            _fs = fs;
        }

        public string FilePath { get; }

        public static RunJournal Create(FolderRepository repo, string runId)
        {
            repo.Store.EnsureDirectory(repo.JournalDir, Reasons.CorruptCatalog);
            var path = Path.Combine(repo.JournalDir, runId + ".jsonl");
            return new RunJournal(path, repo.Store.OpenAppend(path, Reasons.CorruptCatalog, "the run journal"));
        }

        public void Landed(ManifestEntry e) =>
            Append(new Record { Path = e.Path, Size = e.Size, MTime = e.MTime, Hash = e.Hash, Link = e.Link, Kind = e.Kind, Attributes = e.Attributes });

        public void Removed(string path) => Append(new Record { Path = path, Deleted = true });

        private void Append(Record r)
        {
            var bytes = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(r, FolderRepository.Json) + "\n");
            lock (_gate)
            {
                _fs.Write(bytes, 0, bytes.Length);
                _fs.Flush(false);
            }
        }

        public void Dispose()
        {
            lock (_gate) _fs.Dispose();
        }

        /// <summary>Journals of runs that have no manifest and started after <paramref name="lastRunId"/>, oldest first.</summary>
        public static List<string> Pending(FolderRepository repo, string? lastRunId) =>
            Journals(repo).Where(f => lastRunId == null || string.CompareOrdinal(Path.GetFileNameWithoutExtension(f), lastRunId) > 0).ToList();

        /// <summary>Journals superseded by a manifest (safe to delete).</summary>
        public static List<string> Superseded(FolderRepository repo, string lastRunId) =>
            Journals(repo).Where(f => string.CompareOrdinal(Path.GetFileNameWithoutExtension(f), lastRunId) <= 0).ToList();

        /// <summary>journal/&lt;run id&gt;.jsonl files (any kind: a damaged one is found and reported by Replay), oldest first.</summary>
        private static List<string> Journals(FolderRepository repo)
        {
            var list = repo.Store.List(repo.JournalDir, Reasons.CorruptCatalog, ".jsonl")
                .Where(e => e.Kind != StoredKind.Directory && SafeName.IsSafe(Path.GetFileNameWithoutExtension(e.Path)))
                .Select(e => e.Path).ToList();
            list.Sort(StringComparer.Ordinal);
            return list;
        }

        /// <summary>
        /// Applies a journal to <paramref name="state"/> (path → entry). A torn last line is ignored; a record that
        /// fails the manifest entry rules is skipped and counted, and a journal that is not a readable regular file
        /// is reported through <paramref name="warn"/> and applies nothing (the run recopies instead).
        /// </summary>
        public static int Replay(FolderRepository repo, string file, Dictionary<string, ManifestEntry> state, Action<string>? warn = null)
        {
            int n = 0, skipped = 0;
            string text;
            try
            {
                var bytes = repo.Store.ReadAllBytes(file, FolderRules.MaxJournalBytes, Reasons.CorruptCatalog, "the run journal");
                if (bytes == null) return 0;
                text = Encoding.UTF8.GetString(bytes);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is NekkBackupException)
            {
                warn?.Invoke(ex.Message + " It is ignored: files it recorded are copied again.");
                return 0;
            }
            var check = new StoredCheck(file, Reasons.CorruptCatalog, "the run journal");
            int line = 0;
            foreach (var raw in text.Split('\n'))
            {
                line++;
                if (raw.Length == 0) continue;
                Record? r;
                try { r = JsonSerializer.Deserialize<Record>(raw, FolderRepository.Json); }
                catch (JsonException) { continue; }
                if (r == null) { skipped++; continue; }
                if (r.Deleted)
                {
                    if (RecordedPath.IsSafe(r.Path)) { state.Remove(r.Path); n++; }
                    else skipped++;
                    continue;
                }
                var e = new ManifestEntry { Path = r.Path, Size = r.Size, MTime = r.MTime, Hash = r.Hash, Link = r.Link, Kind = r.Kind, Attributes = r.Attributes };
                if (FolderRules.EntryProblem(e, $"line {line}", check) != null) { skipped++; continue; }
                state[r.Path] = e;
                n++;
            }
            if (skipped > 0) warn?.Invoke($"The run journal '{file}' holds {skipped} damaged record(s); they are ignored.");
            return n;
        }
    }
}
