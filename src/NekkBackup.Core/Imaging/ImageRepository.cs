using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.ExceptionServices;
using System.Text.Json;
using System.Threading;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Primitives;
using NekkBackup.Core.Storage;
using NekkBackup.Core.Validation;
using Serilog;

namespace NekkBackup.Core.Imaging
{
    /// <summary>
    /// A Ghost image repository (docs/ghost-repository.md) as a store: config.json, chunks/, images/, drills/ and locks/
    /// in an <see cref="IBackupTarget"/> — a folder or NAS share (<see cref="LocalDirectoryTarget"/>) behind the one retry
    /// pipeline (<see cref="RetryingTarget"/>). Everything read back passes <see cref="GhostRules"/>; the lock is the one
    /// <see cref="TargetLock"/>; the one durability point of a capture is <see cref="MakeDurable"/>.
    /// </summary>
    internal sealed partial class ImageRepository
    {
        public const string FormatName = "nekkbackup-ghost";
        public static readonly FormatVersion Format = new(1);
        public const int DefaultChunkSize = 256 << 10; // see docs/ghost-repository.md "Chunk size"
        public const string ConfigKey = "config.json";
        public const string ChunksPrefix = "chunks/";
        public const string ImagesPrefix = "images/";
        public const string LocksPrefix = "locks/";
        public const string DrillsPrefix = "drills/";

        internal static readonly JsonSerializerOptions Json = new()
        {
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            WriteIndented = true,
        };

        private ImageRepository(IBackupTarget target, RepositoryConfig config)
        {
            Target = target;
            Config = config;
            var local = target.Capabilities.LocalRoot;
            Layout = local != null ? new LocalLayout(local) : null;
            Root = local ?? target.Location;
        }

        public IBackupTarget Target { get; }
        public RepositoryConfig Config { get; }

        /// <summary>The folder (or the target's location) for messages and results.</summary>
        public string Root { get; }

        /// <summary>The folder checks of a repository in a folder; null for an object store.</summary>
        public LocalLayout? Layout { get; }

        // ------------------------------------------------------------------ keys

        public static string ChunkKey(ChunkId id)
        {
            var hex = id.ToHex();
            return ChunksPrefix + hex.Substring(0, 2) + "/" + hex;
        }

        public string ManifestKey(string imageId) => ImagesPrefix + SafeId(imageId) + ".json";
        public string IndexKey(string imageId) => ImagesPrefix + SafeId(imageId) + ".idx";

        /// <summary>drills/&lt;finished, yyyyMMddTHHmmssZ&gt;-&lt;id&gt;.json (invariant digits and calendar).</summary>
        public string DrillKey(DateTime finishedUtc, string imageId) =>
            DrillsPrefix + finishedUtc.ToUniversalTime().ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture) + "-" + SafeId(imageId) + ".json";

        /// <summary>Where a key is, for messages and results: the file in a folder repository.</summary>
        public string Where(string key) => Layout != null ? Layout.PathOf(key) : Target.Location.TrimEnd('/') + "/" + key;

        private string SafeId(string imageId) => SafeName.IsSafe(imageId) && imageId.IndexOf('.') < 0
            ? imageId
            : throw Fail.NotFound("ImageNotFound", $"No image {StoredCheck.Quote(imageId)} in the repository '{Root}' (it cannot be an image id).", imageId);

        // ------------------------------------------------------------------ open / create

        /// <summary>Opens an existing repository folder: RepositoryNotFound / NotARepository / UnsupportedRepositoryVersion.</summary>
        public static ImageRepository Open(string path, IRunObserver? observer = null, ILogger? log = null)
        {
            var root = RootOf(path);
            if (!Directory.Exists(root))
                throw Fail.NotFound("RepositoryNotFound", $"The Ghost image repository '{path}' does not exist (or the share is unreachable).", path);
            // Nothing is written into a folder that is not a repository (the target keeps a temp folder in its root).
            if (new StoreRoot(root).Kind(Path.Combine(root, ConfigKey)) == StoredKind.Missing) throw NotARepository(path);
            return Open(OpenTarget(root, create: false, path, observer, log));
        }

        /// <summary>Opens the repository in <paramref name="target"/>: NotARepository without config.json.</summary>
        internal static ImageRepository Open(IBackupTarget target) =>
            TryOpen(target) ?? throw NotARepository(target.Capabilities.LocalRoot ?? target.Location);

        private static ImageRepository? TryOpen(IBackupTarget target)
        {
            var where = target.Capabilities.LocalRoot != null ? Path.Combine(target.Capabilities.LocalRoot, ConfigKey) : target.Location.TrimEnd('/') + "/" + ConfigKey;
            var bytes = TargetIo.ReadAll(target, ConfigKey, GhostRules.MaxConfigBytes, new StoredCheck(where, Reasons.RepositoryCorrupt, "the repository config"));
            return bytes == null ? null : new ImageRepository(target, GhostRules.CheckConfig(bytes, where));
        }

        /// <summary>Opens, or creates when the folder is absent or empty (its parent must exist).</summary>
        public static ImageRepository OpenOrCreate(string path, int chunkSize, GhostCompression compression, int zstdLevel, IRunObserver? observer = null, ILogger? log = null)
        {
            var root = RootOf(path);
            if (new StoreRoot(root).Kind(Path.Combine(root, ConfigKey)) != StoredKind.Missing) return Open(root, observer, log);
            var parent = Path.GetDirectoryName(root);
            if (parent == null || !Directory.Exists(parent))
                throw Fail.NotFound("RepositoryNotFound", $"The folder holding the repository '{path}' does not exist (or the share is unreachable).", path);
            // Empty, or holding only what a concurrent creator (another host) is laying out: create (idempotent).
            if (Directory.Exists(root) && Directory.EnumerateFileSystemEntries(root).Any(e => !IsLayoutEntry(Path.GetFileName(e))))
                throw Fail.InvalidData("NotARepository", $"'{path}' is not empty and is not a NekkBackup Ghost image repository; use an empty folder.", path);
            return OpenOrCreate(OpenTarget(root, create: true, path, observer, log), chunkSize, compression, zstdLevel);
        }

        /// <summary>
        /// Creates the repository in <paramref name="target"/> unless it has one. config.json is written last and only if
        /// absent (<see cref="PutMode.CreateNew"/>): of two hosts creating the repository at once exactly one config wins,
        /// and both go on with the one that is stored (it is read back), so their images agree on the chunk size.
        /// </summary>
        internal static ImageRepository OpenOrCreate(IBackupTarget target, int chunkSize, GhostCompression compression, int zstdLevel)
        {
            var existing = TryOpen(target);
            if (existing != null) return existing;
            if (chunkSize <= 0) chunkSize = DefaultChunkSize;
            GhostCaptureOptions.CheckChunkSize(chunkSize);
            var cfg = new RepositoryConfig
            {
                RepositoryId = Guid.NewGuid().ToString("N"),
                ChunkSize = chunkSize,
                Compression = compression == GhostCompression.None ? "none" : "zstd",
                ZstdLevel = zstdLevel > 0 ? Math.Min(22, zstdLevel) : 1,
                Created = DateTime.UtcNow,
            };
            new ImageRepository(target, cfg).Layout?.Create();
            try { TargetIo.Put(target, ConfigKey, JsonSerializer.SerializeToUtf8Bytes(cfg, Json), PutOptions.CreateNew); }
            catch (TargetException e) when (e.ErrorKind == TargetErrorKind.AlreadyExists) { } // another creator won: its config rules
            catch (TargetException e) { throw TargetIo.Map(e, Reasons.RepositoryCorrupt, ConfigKey); }
            return Open(target);
        }

        private static string RootOf(string path)
        {
            if (string.IsNullOrWhiteSpace(path)) throw Fail.Argument("RepositoryMissing", "No repository path was given.");
            var full = Path.GetFullPath(path);
            var pathRoot = Path.GetPathRoot(full) ?? "";
            return full.Length > pathRoot.Length ? full.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar) : full;
        }

        private static IBackupTarget OpenTarget(string root, bool create, string path, IRunObserver? observer, ILogger? log)
        {
            try { return new RetryingTarget(LocalDirectoryTarget.Open(root, new LocalTargetOptions { CreateRoot = create }), null, log, observer); }
            catch (TargetException e) when (e.ErrorKind == TargetErrorKind.NotFound || e.ErrorKind == TargetErrorKind.Unavailable)
            {
                throw Fail.NotFound("RepositoryNotFound", $"The Ghost image repository '{path}' cannot be reached: {e.Message}", path);
            }
        }

        private static NekkBackupException NotARepository(string path) =>
            Fail.InvalidData("NotARepository", $"'{path}' is not a NekkBackup Ghost image repository (no config.json).", path);

        private static bool IsLayoutEntry(string name) =>
            name == "chunks" || name == "images" || name == "locks" || name == "drills" || name == StorageKeys.TempSegment
            || name.StartsWith(ConfigKey + AtomicFile.TempMarker, StringComparison.Ordinal); // a creator from before the storage seam

        /// <summary>The chunk size of the repository at <paramref name="path"/>, or null when there is none (yet) or it cannot be read.</summary>
        public static int? ChunkSizeAt(string path)
        {
            try
            {
                var root = RootOf(path);
                var cfg = Path.Combine(root, ConfigKey);
                var bytes = new StoreRoot(root).ReadAllBytes(cfg, GhostRules.MaxConfigBytes, Reasons.RepositoryCorrupt, "the repository config");
                return bytes == null ? null : GhostRules.CheckConfig(bytes, cfg).ChunkSize;
            }
            catch (NekkBackupException) { return null; }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException) { return null; }
        }

        // ------------------------------------------------------------------ lock and durability

        /// <summary>
        /// The repository's lock (locks/, the format of the Ghost lock files before it, so older versions on other hosts
        /// and this one respect each other). Captures, restores and tests share it; removal holds it exclusively beside live
        /// captures and is told about them (<see cref="TargetLock.SharedHolders"/>) to defer garbage collection.
        /// RepositoryLocked when a conflicting live lock exists; <see cref="TargetLock.EnsureHeldAsync"/> throws
        /// RepositoryLockLost.
        /// </summary>
        public TargetLock Lock(LockMode mode, string operation, IRunObserver observer, CancellationToken ct)
        {
            Layout?.Ensure(LocksPrefix);
            var options = new LockOptions
            {
                Prefix = LocksPrefix,
                LockedReason = "RepositoryLocked",
                LostReason = "RepositoryLockLost",
                ExclusiveToleratesShared = mode == LockMode.Exclusive,
            };
            try { return TargetIo.Wait(TargetLock.AcquireAsync(Target, mode, operation, options, observer, ct)); }
            catch (TargetException e) { throw TargetIo.Map(e, Reasons.RepositoryCorrupt, Where(LocksPrefix)); }
        }

        /// <summary>
        /// The one durability point of a capture: chunks and chunk list were put without a flush each; before the manifest
        /// commits the image, the repository's file system is synced once (syncfs on Linux). An object store is durable
        /// per put.
        /// </summary>
        public void MakeDurable()
        {
            if (Layout != null) LinuxBlockDevice.SyncFileSystem(Layout.Root);
        }

        /// <summary>Every chunk object (one listing of chunks/): well-named ones only, with their sizes.</summary>
        public IEnumerable<(ChunkId Id, long Size)> ListChunks(CancellationToken ct)
        {
            foreach (var list in Target.Capabilities.LocalRoot != null ? ListChunkFolders(ct) : new[] { ListPrefix(ChunksPrefix, ct) })
                foreach (var e in list)
                    if (IsChunkKey(e.Key, out var id)) yield return (id, e.Size);
        }

        /// <summary>
        /// A folder repository lists its 256 chunks/&lt;xx&gt;/ folders eight at a time: each listing is a round trip on a
        /// share and a cold metadata read on a disk, and one after another they were most of a second capture's set-up.
        /// (An object store lists the prefix flat, a page at a time.) A chunk name is lower-case hex, so these folders hold
        /// every name <see cref="IsChunkKey"/> accepts.
        /// </summary>
        private List<TargetEntry>[] ListChunkFolders(CancellationToken ct)
        {
            var lists = new List<TargetEntry>[256];
            int next = -1;
            Exception? failed = null;
            // Threads of their own, not pool threads: a listing waits for its target's asynchronous steps, which run on the pool.
            var listers = Enumerable.Range(0, 8).Select(_ => new Thread(() =>
            {
                int i;
                while (Volatile.Read(ref failed) == null && (i = Interlocked.Increment(ref next)) < lists.Length)
                {
                    try { lists[i] = ListPrefix(ChunksPrefix + i.ToString("x2", CultureInfo.InvariantCulture) + "/", ct); }
                    catch (Exception e) { Interlocked.CompareExchange(ref failed, e, null); }
                }
            }) { IsBackground = true, Name = "NekkBackup chunk listing" }).ToArray();
            foreach (var t in listers) t.Start();
            foreach (var t in listers) t.Join();
            if (failed != null) ExceptionDispatchInfo.Capture(failed).Throw();
            return lists;
        }

        /// <summary>chunks/&lt;first 2 hex&gt;/&lt;64 hex&gt; and nothing else.</summary>
        public static bool IsChunkKey(string key, out ChunkId id)
        {
            id = default;
            if (key.Length != ChunksPrefix.Length + 3 + 64 || !key.StartsWith(ChunksPrefix, StringComparison.Ordinal) || key[ChunksPrefix.Length + 2] != '/') return false;
            var hex = key.Substring(ChunksPrefix.Length + 3);
            return string.CompareOrdinal(key, ChunksPrefix.Length, hex, 0, 2) == 0 && ChunkId.TryParse(hex, out id);
        }

        /// <summary>The objects under <paramref name="prefix"/> (damage in the listing is RepositoryCorrupt).</summary>
        public List<TargetEntry> ListPrefix(string prefix, CancellationToken ct)
        {
            var list = new List<TargetEntry>();
            try
            {
                var e = Target.ListAsync(prefix, ct).GetAsyncEnumerator(ct);
                try
                {
                    while (TargetIo.Wait(e.MoveNextAsync().AsTask())) list.Add(e.Current);
                }
                finally
                {
                    TargetIo.Wait(e.DisposeAsync().AsTask());
                }
            }
            catch (TargetException ex) { throw TargetIo.Map(ex, Reasons.RepositoryCorrupt, Where(prefix)); }
            return list;
        }
    }
}
