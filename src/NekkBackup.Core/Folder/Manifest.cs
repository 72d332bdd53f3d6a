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

    /// <summary>A mirror file or history object seen without following links (<see cref="FolderRepository.Copy"/>).</summary>
    internal readonly struct StoredCopy
    {
        public StoredCopy(string path, StoredKind kind, long length, long mtime, string? problem, string? note)
        {
            Path = path; Kind = kind; Length = length; MTime = mtime; Problem = problem; Note = note;
        }

        public string Path { get; }
        public StoredKind Kind { get; }
        public long Length { get; }
        public long MTime { get; }
        /// <summary>Damage no backup makes (a FIFO, device or socket where a file belongs), or null.</summary>
        public string? Problem { get; }
        /// <summary>Why the copy is not a usable file (for messages): damage, a link on the way, a folder…; null when fine or missing.</summary>
        public string? Note { get; }
        public bool IsFile => Kind == StoredKind.File;
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
            Store = new StoreRoot(Destination, "the backup destination");
        }

        public string Destination { get; }
        public string Meta { get; }

        /// <summary>The destination as a confined store: every read and write of the catalog and the mirror goes through it.</summary>
        public StoreRoot Store { get; }
        public string RunsDir => Path.Combine(Meta, "runs");
        public string ObjectsDir => Path.Combine(Meta, "objects");
        public string JournalDir => Path.Combine(Meta, "journal");
        public string PartialDir => Path.Combine(Meta, "partial");
        public string FormatFile => Path.Combine(Meta, "format.json");

        public bool Exists => Store.Kind(Meta) != StoredKind.Missing
            && (Store.Kind(FormatFile) != StoredKind.Missing || Store.Kind(RunsDir) != StoredKind.Missing);

        /// <summary>objects/ab/&lt;hash&gt; of a validated SHA-256 (anything else never becomes a path).</summary>
        public string ObjectPath(string hash)
        {
            if (!ContentHash.IsSha256Hex(hash))
                throw Fail.InvalidData(Reasons.CorruptCatalog, $"'{hash}' is not a SHA-256 (64 lower-case hex digits) and cannot name a history object.", hash);
            return Path.Combine(ObjectsDir, hash.Substring(0, 2), hash);
        }

        /// <summary>Absolute mirror path of a recorded path ('/' separated); UnsafePath when it would leave the destination.</summary>
        public string MirrorPath(string recordedPath)
        {
            var problem = RecordedPath.Problem(recordedPath);
            if (problem != null)
                throw new NekkBackupException(Reasons.UnsafePath, FailureKind.SecurityError, $"The recorded path {StoredCheck.Quote(recordedPath)} {problem}; it is never used as a path.", recordedPath);
            return Path.Combine(Destination, recordedPath.Replace('/', Path.DirectorySeparatorChar));
        }

        public void EnsureFormat()
        {
            Store.EnsureDirectory(Meta, Reasons.CorruptCatalog);
            if (Store.Kind(FormatFile) != StoredKind.Missing)
            {
                CheckFormat();
                return;
            }
            var text = JsonSerializer.Serialize(new { format = FormatName, version = FormatVersion, created = DateTime.UtcNow }, Json);
            AtomicFile.Write(FormatFile, Encoding.UTF8.GetBytes(text));
        }

        public void CheckFormat()
        {
            var bytes = Store.ReadAllBytes(FormatFile, FolderRules.MaxSmallFile, Reasons.CorruptCatalog, "the format file");
            if (bytes == null) return;
            var (name, version) = FolderRules.CheckFormat(bytes, FormatFile);
            if (name != FormatName || version > FormatVersion)
                throw Fail.InvalidData("UnsupportedFormat", $"The destination '{Destination}' holds format {name} v{version}; this version of NekkBackup reads {FormatName} v{FormatVersion}.", Destination);
        }

        /// <summary>RunIds of all committed manifests, oldest first (names that cannot be run ids are not ours).</summary>
        public List<string> ListRunIds() =>
            Store.List(RunsDir, Reasons.CorruptCatalog, ".json")
                .Select(e => Path.GetFileNameWithoutExtension(e.Path))
                .Where(SafeName.IsSafe)
                .OrderBy(s => s, StringComparer.Ordinal)
                .ToList();

        public string ManifestPath(string runId)
        {
            var problem = SafeName.Problem(runId);
            if (problem != null) throw Fail.NotFound("RunNotFound", $"{StoredCheck.Quote(runId)} cannot be a run id: it {problem}.", runId);
            return Path.Combine(RunsDir, runId + ".json");
        }

        private T Load<T>(string runId, Action<T, StoredCheck> check) where T : RunHeader
        {
            var path = ManifestPath(runId);
            var c = FolderRules.Manifest(path);
            using var fs = Store.OpenRead(path, c.Reason, c.What) ?? throw c.Error("", "is missing");
            if (fs.Length > FolderRules.MaxManifestBytes) throw c.Error("", $"is {fs.Length:N0} bytes, more than a manifest can be");
            var m = StoredJson.Parse<T>(fs, Json, c);
            check(m, c);
            return m;
        }

        public RunManifest LoadManifest(string runId) => Load<RunManifest>(runId, (m, c) => FolderRules.CheckManifest(m, runId, c));

        public RunHeader LoadHeader(string runId) => Load<RunHeader>(runId, (h, c) => FolderRules.CheckHeader(h, runId, c));

        /// <summary>The usable entries of a manifest, and the item error of every damaged, unsafe or repeated one.</summary>
        public (List<ManifestEntry> Good, List<(string Item, NekkBackupException Error)> Bad) Entries(RunManifest m) =>
            FolderRules.Sort(m.Entries, FolderRules.Manifest(ManifestPath(m.RunId)));

        public RunManifest? LoadLatest()
        {
            var ids = ListRunIds();
            return ids.Count == 0 ? null : LoadManifest(ids[ids.Count - 1]);
        }

        /// <summary>
        /// A stored copy (mirror file or history object) as it is on the destination, found without following links:
        /// its kind (File only when a regular file sits there and no folder on the way is a link), size and time.
        /// </summary>
        public StoredCopy Copy(string full)
        {
            var parents = Store.ParentsKind(full, out var at);
            if (parents == StoredKind.Link) return new StoredCopy(full, StoredKind.Link, 0, 0, null, $"'{at}' on the way is a link (not followed)");
            if (parents != StoredKind.Directory) return new StoredCopy(full, StoredKind.Missing, 0, 0, null, null);
            var kind = Store.Kind(full);
            if (kind == StoredKind.Missing || kind == StoredKind.Directory || kind == StoredKind.Link)
                return new StoredCopy(full, kind, 0, 0, null, kind == StoredKind.Missing ? null : $"'{full}' {StoredKindText.Describe(kind)}");
            if (kind != StoredKind.File)
            {
                var why = $"'{full}' {StoredKindText.Describe(kind)}";
                return new StoredCopy(full, kind, 0, 0, why, why);
            }
            var fi = new FileInfo(full);
            try { return new StoredCopy(full, kind, fi.Length, fi.LastWriteTimeUtc.Ticks, null, null); }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { return new StoredCopy(full, StoredKind.Missing, 0, 0, null, ex.Message); }
        }

        /// <summary>Removes temp files a killed run left beside manifests (call under the lock).</summary>
        public void CleanTempFiles()
        {
            try
            {
                foreach (var (f, k) in Store.List(RunsDir, Reasons.CorruptCatalog))
                    if (k != StoredKind.Directory && Path.GetFileName(f).IndexOf(AtomicFile.TempMarker, StringComparison.Ordinal) >= 0) File.Delete(f);
                foreach (var (f, k) in Store.List(Meta, Reasons.CorruptCatalog))
                    if (k != StoredKind.Directory && Path.GetFileName(f).StartsWith("format.json" + AtomicFile.TempMarker, StringComparison.Ordinal)) File.Delete(f);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
            catch (NekkBackupException) { }
        }

        public void WriteManifest(RunManifest m)
        {
            Store.EnsureDirectory(RunsDir, Reasons.CorruptCatalog);
            var bytes = JsonSerializer.SerializeToUtf8Bytes(m, Json);
            AtomicFile.Write(ManifestPath(m.RunId), bytes);
        }
    }
}
