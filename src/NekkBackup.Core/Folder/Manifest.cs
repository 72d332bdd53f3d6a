using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Folder
{
    /// <summary>One file or symbolic link as a run recorded it.</summary>
    internal sealed class ManifestEntry
    {
        /// <summary>Path relative to the destination: "&lt;source name&gt;/rel/path".</summary>
        [JsonPropertyName("p")] public string Path { get; set; } = "";
        [JsonPropertyName("s")] public long Size { get; set; }
        /// <summary>Last write time, UTC ticks.</summary>
        [JsonPropertyName("m")] public long MTime { get; set; }
        /// <summary>SHA-256 hex of the content (files).</summary>
        [JsonPropertyName("h")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Hash { get; set; }
        /// <summary>Link target (symbolic links).</summary>
        [JsonPropertyName("l")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Link { get; set; }

        /// <summary>"d" for a folder (recorded so empty folders and folder times come back); null otherwise.</summary>
        [JsonPropertyName("k")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Kind { get; set; }

        /// <summary>Windows file attributes worth keeping (ReadOnly, Hidden, System), when any.</summary>
        [JsonPropertyName("a")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? Attributes { get; set; }

        [JsonIgnore] public bool IsLink => Link != null;
        [JsonIgnore] public bool IsDir => Kind == "d";
        [JsonIgnore] public bool IsFile => Link == null && Kind == null;

        public ManifestEntry Clone() => new() { Path = Path, Size = Size, MTime = MTime, Hash = Hash, Link = Link, Kind = Kind, Attributes = Attributes };
    }

    /// <summary>The header of a manifest without its entries (listing runs).</summary>
    internal class RunHeader
    {
        public int Format { get; set; }
        public string RunId { get; set; } = "";
        public DateTime StartedUtc { get; set; }
        public DateTime FinishedUtc { get; set; }
        public string[] Sources { get; set; } = Array.Empty<string>();
        public string[] SourceNames { get; set; } = Array.Empty<string>();
        public string? SnapshotUsed { get; set; }
        public string Status { get; set; } = "";
        public long FilesScanned { get; set; }
        public long FilesCopied { get; set; }
        public long FilesVersioned { get; set; }
        public long FilesDeleted { get; set; }
        public long BytesCopied { get; set; }
        public int Errors { get; set; }
    }

    /// <summary>A run manifest: the complete state of the backup after one good run. The commit point.</summary>
    internal sealed class RunManifest : RunHeader
    {
        public RunManifest() => Format = FolderRepository.FormatVersion;

        public string Host { get; set; } = "";
        public List<ManifestEntry> Entries { get; set; } = new();
    }

    /// <summary>
    /// The on-disk layout of a destination:
    /// <code>
    /// &lt;dest&gt;/&lt;source name&gt;/…           plain mirror of the current state
    /// &lt;dest&gt;/.nekkbackup/format.json         format name + version
    /// &lt;dest&gt;/.nekkbackup/runs/&lt;RunId&gt;.json  run manifests (written last, temp + fsync + rename)
    /// &lt;dest&gt;/.nekkbackup/objects/ab/&lt;sha256&gt; displaced versions, content-addressed
    /// &lt;dest&gt;/.nekkbackup/journal/&lt;RunId&gt;.jsonl files landed by a run without a manifest yet
    /// &lt;dest&gt;/.nekkbackup/partial/              copies in flight (*.nekk-partial)
    /// &lt;dest&gt;/.nekkbackup/lock                  the writer's lease (host, pid, time)
    /// </code>
    /// </summary>
    internal sealed class FolderRepository
    {
        public const int FormatVersion = 1;
        public const string FormatName = "nekkbackup-folder";
        public const string MetaDirName = ".nekkbackup";

        internal static readonly JsonSerializerOptions Json = new()
        {
            WriteIndented = false,
            DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        };

        public FolderRepository(string destination)
        {
            Destination = Path.GetFullPath(destination);
            Meta = Path.Combine(Destination, MetaDirName);
        }

        public string Destination { get; }
        public string Meta { get; }
        public string RunsDir => Path.Combine(Meta, "runs");
        public string ObjectsDir => Path.Combine(Meta, "objects");
        public string JournalDir => Path.Combine(Meta, "journal");
        public string PartialDir => Path.Combine(Meta, "partial");
        public string FormatFile => Path.Combine(Meta, "format.json");

        public bool Exists => File.Exists(FormatFile) || Directory.Exists(RunsDir);

        public string ObjectPath(string hash) => Path.Combine(ObjectsDir, hash.Substring(0, 2), hash);

        /// <summary>Absolute mirror path of a recorded path ('/' separated).</summary>
        public string MirrorPath(string recordedPath) =>
            Path.Combine(Destination, recordedPath.Replace('/', Path.DirectorySeparatorChar));

        public void EnsureFormat()
        {
            Directory.CreateDirectory(Meta);
            if (File.Exists(FormatFile))
            {
                CheckFormat();
                return;
            }
            var text = JsonSerializer.Serialize(new { format = FormatName, version = FormatVersion, created = DateTime.UtcNow }, Json);
            AtomicFile.Write(FormatFile, Encoding.UTF8.GetBytes(text));
        }

        public void CheckFormat()
        {
            if (!File.Exists(FormatFile)) return;
            try
            {
                using var doc = JsonDocument.Parse(File.ReadAllText(FormatFile));
                var version = doc.RootElement.GetProperty("version").GetInt32();
                var name = doc.RootElement.GetProperty("format").GetString();
                if (name != FormatName || version > FormatVersion)
                    throw Fail.InvalidData("UnsupportedFormat", $"The destination '{Destination}' holds format {name} v{version}; this version of NekkBackup reads {FormatName} v{FormatVersion}.", Destination);
            }
            catch (JsonException ex)
            {
                throw Fail.InvalidData("CorruptCatalog", $"The format file '{FormatFile}' is unreadable: {ex.Message}", FormatFile, ex);
            }
        }

        /// <summary>RunIds of all committed manifests, oldest first.</summary>
        public List<string> ListRunIds()
        {
            if (!Directory.Exists(RunsDir)) return new List<string>();
            return Directory.EnumerateFiles(RunsDir, "*.json")
                .Select(p => Path.GetFileNameWithoutExtension(p))
                .OrderBy(s => s, StringComparer.Ordinal)
                .ToList();
        }

        public string ManifestPath(string runId) => Path.Combine(RunsDir, runId + ".json");

        public RunManifest LoadManifest(string runId)
        {
            var path = ManifestPath(runId);
            try
            {
                using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
                var m = JsonSerializer.Deserialize<RunManifest>(fs, Json) ?? throw new JsonException("empty manifest");
                if (m.RunId != runId) throw new JsonException($"manifest says RunId {m.RunId}");
                return m;
            }
            catch (JsonException ex)
            {
                throw Fail.InvalidData("CorruptCatalog", $"The run manifest '{path}' is unreadable: {ex.Message}", path, ex);
            }
        }

        public RunHeader LoadHeader(string runId)
        {
            var path = ManifestPath(runId);
            try
            {
                using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
                return JsonSerializer.Deserialize<RunHeader>(fs, Json) ?? throw new JsonException("empty manifest");
            }
            catch (JsonException ex)
            {
                throw Fail.InvalidData("CorruptCatalog", $"The run manifest '{path}' is unreadable: {ex.Message}", path, ex);
            }
        }

        public RunManifest? LoadLatest()
        {
            var ids = ListRunIds();
            return ids.Count == 0 ? null : LoadManifest(ids[ids.Count - 1]);
        }

        /// <summary>Removes temp files a killed run left beside manifests (call under the lock).</summary>
        public void CleanTempFiles()
        {
            try
            {
                if (Directory.Exists(RunsDir))
                    foreach (var f in Directory.EnumerateFiles(RunsDir, "*" + AtomicFile.TempMarker + "*")) File.Delete(f);
                foreach (var f in Directory.EnumerateFiles(Meta, "format.json" + AtomicFile.TempMarker + "*")) File.Delete(f);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }

        public void WriteManifest(RunManifest m)
        {
            Directory.CreateDirectory(RunsDir);
            var bytes = JsonSerializer.SerializeToUtf8Bytes(m, Json);
            AtomicFile.Write(ManifestPath(m.RunId), bytes);
        }
    }
}
