using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

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
            [JsonPropertyName("d")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public bool Deleted { get; set; }
        }

        private RunJournal(string path)
        {
            FilePath = path;
            _fs = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read, 1 << 14);
        }

        public string FilePath { get; }

        public static RunJournal Create(FolderRepository repo, string runId)
        {
            Directory.CreateDirectory(repo.JournalDir);
            return new RunJournal(Path.Combine(repo.JournalDir, runId + ".jsonl"));
        }

        public void Landed(ManifestEntry e) =>
            Append(new Record { Path = e.Path, Size = e.Size, MTime = e.MTime, Hash = e.Hash, Link = e.Link });

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
        public static List<string> Pending(FolderRepository repo, string? lastRunId)
        {
            var list = new List<string>();
            if (!Directory.Exists(repo.JournalDir)) return list;
            foreach (var f in Directory.EnumerateFiles(repo.JournalDir, "*.jsonl"))
            {
                var id = Path.GetFileNameWithoutExtension(f);
                if (lastRunId == null || string.CompareOrdinal(id, lastRunId) > 0) list.Add(f);
            }
            list.Sort(StringComparer.Ordinal);
            return list;
        }

        /// <summary>Journals superseded by a manifest (safe to delete).</summary>
        public static List<string> Superseded(FolderRepository repo, string lastRunId)
        {
            var list = new List<string>();
            if (!Directory.Exists(repo.JournalDir)) return list;
            foreach (var f in Directory.EnumerateFiles(repo.JournalDir, "*.jsonl"))
                if (string.CompareOrdinal(Path.GetFileNameWithoutExtension(f), lastRunId) <= 0) list.Add(f);
            return list;
        }

        /// <summary>Applies a journal to <paramref name="state"/> (path → entry). A torn last line is ignored.</summary>
        public static int Replay(string file, Dictionary<string, ManifestEntry> state)
        {
            int n = 0;
            string text;
            try { text = File.ReadAllText(file, Encoding.UTF8); }
            catch (IOException) { return 0; }
            foreach (var line in text.Split('\n'))
            {
                if (line.Length == 0) continue;
                Record? r;
                try { r = JsonSerializer.Deserialize<Record>(line, FolderRepository.Json); }
                catch (JsonException) { continue; }
                if (r == null || r.Path.Length == 0) continue;
                if (r.Deleted) state.Remove(r.Path);
                else state[r.Path] = new ManifestEntry { Path = r.Path, Size = r.Size, MTime = r.MTime, Hash = r.Hash, Link = r.Link };
                n++;
            }
            return n;
        }
    }
}
