using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Primitives;
using NekkBackup.Core.Resilience;
using NekkBackup.Core.Storage;
using NekkBackup.Core.Validation;

namespace NekkBackup.Core.Folder
{
    /// <summary>
    /// The on-disk layout of a destination, and the one way the folder leg reads and writes its catalog:
    /// <code>
    /// &lt;dest&gt;/&lt;source name&gt;/…               plain mirror of the current state (files under LocalRoot)
    /// &lt;dest&gt;/.nekkbackup/format.json         format name + formatVersion
    /// &lt;dest&gt;/.nekkbackup/runs/&lt;RunId&gt;.json  run manifests (the commit point)
    /// &lt;dest&gt;/.nekkbackup/objects/ab/&lt;sha256&gt; displaced versions, content-addressed
    /// &lt;dest&gt;/.nekkbackup/journal/&lt;RunId&gt;.jsonl files landed by a run without a manifest yet (append-only)
    /// &lt;dest&gt;/.nekkbackup/partial/              copies in flight (*.nekk-partial)
    /// &lt;dest&gt;/.nekkbackup/locks/&lt;id&gt;.json      the writer's lock (TargetLock); .nekkbackup/lock: 0.1.0's
    /// </code>
    /// Reads go through the validation layer (<see cref="StoreRoot"/> + <see cref="FolderRules"/>), which never writes,
    /// so Restore, Test and Get-* work on a read-only share. A backup run opens <see cref="Target"/>, a
    /// <see cref="LocalDirectoryTarget"/> on <c>.nekkbackup/</c> behind the retry pipeline: format.json, manifests,
    /// deletions and the lock go through it. What needs the file system itself stays under
    /// <see cref="TargetCapabilities.LocalRoot"/>: the mirror, renames between mirror and objects/, copies in flight,
    /// and appends to the run journal.
    /// </summary>
    internal sealed class FolderRepository
    {
        public static readonly FormatVersion Version = new(1);
        internal static readonly JsonElement VersionElement = JsonDocument.Parse("1").RootElement.Clone();
        public const string FormatName = "nekkbackup-folder";
        public const string MetaDirName = ".nekkbackup";

        internal static readonly JsonSerializerOptions Json = new()
        {
            WriteIndented = false,
            DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        };

        private IBackupTarget? _target;

        public FolderRepository(string destination)
        {
            Destination = Path.GetFullPath(destination);
            Meta = Path.Combine(Destination, MetaDirName);
            Store = new StoreRoot(Destination, "the backup destination");
        }

        public string Destination { get; }
        public string Meta { get; }

        /// <summary>The destination as a confined store: every read of the catalog and every mirror operation goes through it.</summary>
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

        // ---------------------------------------------------------------- reads (validation layer)

        public void CheckFormat()
        {
            var bytes = Store.ReadAllBytes(FormatFile, FolderRules.MaxSmallFile, Reasons.CorruptCatalog, "the format file");
            if (bytes == null) return;
            var (name, version) = FolderRules.CheckFormat(bytes, FormatFile);
            if (name != FormatName)
                throw Fail.InvalidData("UnsupportedFormat", $"The destination '{Destination}' holds format {name} v{version}; this version of NekkBackup reads {FormatName} v{Version.Major}.", Destination);
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
            T m;
            try { m = StoredJson.Parse<T>(fs, Json, c); }
            catch (NekkBackupException)
            {
                FolderRules.RefuseNewer(fs, c); // a newer layout is not damage
                throw;
            }
            check(m, c);
            return m;
        }

        public RunManifest LoadManifest(string runId) => Load<RunManifest>(runId, (m, c) => FolderRules.CheckManifest(m, runId, c));

        public RunHeader LoadHeader(string runId) => Load<RunHeader>(runId, (h, c) => FolderRules.CheckHeader(h, runId, c));

        /// <summary>The usable entries of a manifest, and the item error of every damaged, unsafe or repeated one.</summary>
        public (List<ManifestEntry> Good, List<(string Item, NekkBackupException Error)> Bad) Entries(RunManifest m) =>
            FolderRules.Sort(m.Entries, FolderRules.Manifest(ManifestPath(m.RunId)));

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

        // ---------------------------------------------------------------- writes (the target)

        /// <summary>The catalog as a target (after <see cref="OpenTarget"/>): atomic puts, deletions, the lock.</summary>
        public IBackupTarget Target => _target ?? throw new InvalidOperationException("The destination was not opened for writing.");

        /// <summary>Opens <c>.nekkbackup/</c> (made when missing; the destination must exist) as a retrying local target.</summary>
        public IBackupTarget OpenTarget(IRunObserver observer, Serilog.ILogger? log)
        {
            // .nekkbackup/ itself must be a real folder of the destination: a link there would take every write elsewhere.
            Store.EnsureDirectory(Meta, Reasons.CorruptCatalog);
            var local = LocalDirectoryTarget.Open(Meta, new LocalTargetOptions { CreateRoot = true });
            _target = new RetryingTarget(local, NekkResilience.RetryPreset.FileShare, log, observer);
            return _target;
        }

        /// <summary>The target key of a path inside <c>.nekkbackup/</c>.</summary>
        public string KeyOf(string full)
        {
            if (!StoreRoot.IsBelow(full, Meta, orEqual: false)) throw new ArgumentException($"'{full}' is not inside '{Meta}'.", nameof(full));
            return full.Substring(Meta.Length + 1).Replace(Path.DirectorySeparatorChar, '/');
        }

        public async Task EnsureFormatAsync(CancellationToken ct)
        {
            if (Store.Kind(FormatFile) != StoredKind.Missing)
            {
                CheckFormat();
                return;
            }
            var text = JsonSerializer.Serialize(new FormatDocument { FormatVersion = Version.Major, Format = FormatName, Version = Version.Major, Created = DateTime.UtcNow }, Json);
            try
            {
                await Target.PutAsync("format.json", new MemoryStream(Encoding.UTF8.GetBytes(text)), new PutOptions { Mode = PutMode.CreateNew, ContentType = "application/json" }, ct).ConfigureAwait(false);
            }
            catch (TargetException ex) when (ex.ErrorKind == TargetErrorKind.AlreadyExists)
            {
                CheckFormat(); // another writer made it first
            }
        }

        private sealed class FormatDocument
        {
            [JsonPropertyName("formatVersion")] public int FormatVersion { get; set; }
            [JsonPropertyName("format")] public string Format { get; set; } = "";
            /// <summary>0.1.0's version field, still written so it reads this destination.</summary>
            [JsonPropertyName("version")] public int Version { get; set; }
            [JsonPropertyName("created")] public DateTime Created { get; set; }
        }

        /// <summary>Writes a manifest: the commit point of a run (atomic and durable through the target).</summary>
        public Task WriteManifestAsync(RunManifest m, CancellationToken ct)
        {
            var bytes = JsonSerializer.SerializeToUtf8Bytes(m, Json);
            return Target.PutAsync(KeyOf(ManifestPath(m.RunId)), new MemoryStream(bytes, false), new PutOptions { ContentType = "application/json" }, ct);
        }

        /// <summary>Removes a file of the catalog through the target (idempotent); false, with the reason logged, when it cannot.</summary>
        public async Task<bool> TryDeleteAsync(string full, IRunObserver observer, CancellationToken ct)
        {
            try
            {
                await Target.DeleteAsync(KeyOf(full), ct).ConfigureAwait(false);
                return true;
            }
            catch (TargetException ex)
            {
                observer.Message(RunMessageLevel.Verbose, $"Could not remove '{full}': {ex.Message}");
                return false;
            }
        }

        /// <summary>Removes temp files a killed 0.1.0 run left beside manifests (this version's temp files live in the target's own folder).</summary>
        public async Task CleanTempFilesAsync(IRunObserver observer, CancellationToken ct)
        {
            var leftovers = new List<string>();
            try
            {
                foreach (var (f, k) in Store.List(RunsDir, Reasons.CorruptCatalog))
                    if (k == StoredKind.File && Path.GetFileName(f).IndexOf(AtomicFile.TempMarker, StringComparison.Ordinal) >= 0) leftovers.Add(f);
                foreach (var (f, k) in Store.List(Meta, Reasons.CorruptCatalog))
                    if (k == StoredKind.File && Path.GetFileName(f).StartsWith("format.json" + AtomicFile.TempMarker, StringComparison.Ordinal)) leftovers.Add(f);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is NekkBackupException) { }
            foreach (var f in leftovers) await TryDeleteAsync(f, observer, ct).ConfigureAwait(false);
        }
    }
}
