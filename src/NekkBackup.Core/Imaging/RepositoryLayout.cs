using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Validation;

namespace NekkBackup.Core.Imaging
{
    /// <summary>The on-disk layout of a Ghost repository (docs/ghost-repository.md) and its JSON files.</summary>
    internal sealed class RepositoryLayout
    {
        public const string FormatName = "nekkbackup-ghost";
        public const int FormatVersion = 1;
        public const int DefaultChunkSize = 256 << 10; // see docs/ghost-repository.md "Chunk size"

        internal static readonly JsonSerializerOptions Json = new()
        {
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            WriteIndented = true,
        };

        private RepositoryLayout(string root, RepositoryConfig config)
        {
            Root = root;
            Config = config;
            Store = new StoreRoot(root, "the image repository");
        }

        public string Root { get; }

        /// <summary>The repository as a confined store: every read and write of its files goes through it.</summary>
        public StoreRoot Store { get; }
        public RepositoryConfig Config { get; }
        public string ConfigPath => Path.Combine(Root, "config.json");
        public string ChunksDir => Path.Combine(Root, "chunks");
        public string ImagesDir => Path.Combine(Root, "images");
        public string LocksDir => Path.Combine(Root, "locks");
        public string DrillsDir => Path.Combine(Root, "drills");

        public string ChunkPath(byte[] hash) => ChunkPath(Hex.Encode(hash));
        public string ChunkPath(string hex) => ContentHash.IsSha256Hex(hex)
            ? Path.Combine(ChunksDir, hex.Substring(0, 2), hex)
            : throw Fail.InvalidData(Reasons.IndexCorrupt, $"'{hex}' is not a chunk hash.", hex);
        public string ManifestPath(string imageId) => Path.Combine(ImagesDir, SafeId(imageId) + ".json");
        public string IndexPath(string imageId) => Path.Combine(ImagesDir, SafeId(imageId) + ".idx");

        private string SafeId(string imageId) => SafeName.IsSafe(imageId) && imageId.IndexOf('.') < 0
            ? imageId
            : throw Fail.NotFound("ImageNotFound", $"No image {StoredCheck.Quote(imageId)} in the repository '{Root}' (it cannot be an image id).", imageId);

        /// <summary>Opens an existing repository: RepositoryNotFound / NotARepository / UnsupportedRepositoryVersion.</summary>
        public static RepositoryLayout Open(string path)
        {
            if (string.IsNullOrWhiteSpace(path))
                throw Fail.Argument("RepositoryMissing", "No repository path was given.");
            var root = Path.GetFullPath(path);
            if (!Directory.Exists(root))
                throw Fail.NotFound("RepositoryNotFound", $"The Ghost image repository '{path}' does not exist (or the share is unreachable).", path);
            var cfgPath = Path.Combine(root, "config.json");
            var bytes = new StoreRoot(root, "the image repository").ReadAllBytes(cfgPath, GhostRules.MaxConfigBytes, Reasons.RepositoryCorrupt, "the repository config")
                ?? throw Fail.InvalidData("NotARepository", $"'{path}' is not a NekkBackup Ghost image repository (no config.json).", path);
            var cfg = GhostRules.CheckConfig(bytes, cfgPath);
            if (cfg.FormatVersion > FormatVersion)
                throw new NekkBackupException("UnsupportedRepositoryVersion", FailureKind.NotSupported,
                    $"The repository '{path}' has format version {cfg.FormatVersion}; this NekkBackup reads up to {FormatVersion}. Update NekkBackup.", path);
            return new RepositoryLayout(root, cfg);
        }

        /// <summary>Opens, or creates when the folder is absent or empty (its parent must exist).</summary>
        public static RepositoryLayout OpenOrCreate(string path, int chunkSize, GhostCompression compression, int zstdLevel)
        {
            if (string.IsNullOrWhiteSpace(path))
                throw Fail.Argument("RepositoryMissing", "No repository path was given.");
            var root = Path.GetFullPath(path);
            if (NativeFs.KindOf(Path.Combine(root, "config.json")) != StoredKind.Missing) return Open(root);
            var parent = Path.GetDirectoryName(root.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));
            if (parent == null || !Directory.Exists(parent))
                throw Fail.NotFound("RepositoryNotFound", $"The folder holding the repository '{path}' does not exist (or the share is unreachable).", path);
            // Empty, or holding only what a concurrent creator (another host) is laying out: create (idempotent).
            if (Directory.Exists(root) && Directory.EnumerateFileSystemEntries(root).Any(e => !IsLayoutEntry(Path.GetFileName(e))))
                throw Fail.InvalidData("NotARepository", $"'{path}' is not empty and is not a NekkBackup Ghost image repository; use an empty folder.", path);
            if (chunkSize <= 0) chunkSize = DefaultChunkSize;
            if (chunkSize % 4096 != 0 || chunkSize > (64 << 20))
                throw Fail.Argument("InvalidChunkSize", "The chunk size must be a multiple of 4096 bytes and at most 64 MiB.", chunkSize);
            Directory.CreateDirectory(root);
            var cfg = new RepositoryConfig
            {
                RepositoryId = Guid.NewGuid().ToString("N"),
                ChunkSize = chunkSize,
                Compression = compression == GhostCompression.None ? "none" : "zstd",
                ZstdLevel = zstdLevel > 0 ? Math.Min(22, zstdLevel) : 1,
                Created = DateTime.UtcNow,
            };
            var layout = new RepositoryLayout(root, cfg);
            layout.EnsureLayout();
            // config.json last: a half-created repository is "empty", not a broken repository.
            try { WriteJsonAtomic(layout.ConfigPath, cfg, overwrite: false); }
            catch (IOException) when (File.Exists(layout.ConfigPath)) { return Open(root); } // another host created it
            return layout;
        }

        private static bool IsLayoutEntry(string name) =>
            name == "chunks" || name == "images" || name == "locks" || name == "drills" || name.StartsWith("config.json" + AtomicFile.TempMarker, StringComparison.Ordinal);

        /// <summary>
        /// Creates (or checks) the repository's folders, chunks/00…ff included: a link or a file where one of them
        /// belongs is refused before a capture writes anything through it.
        /// </summary>
        public void EnsureLayout()
        {
            Store.EnsureDirectory(ChunksDir, Reasons.RepositoryCorrupt);
            for (int i = 0; i < 256; i++) Store.EnsureDirectory(Path.Combine(ChunksDir, i.ToString("x2")), Reasons.RepositoryCorrupt);
            Store.EnsureDirectory(ImagesDir, Reasons.RepositoryCorrupt);
            Store.EnsureDirectory(LocksDir, Reasons.RepositoryCorrupt);
            Store.EnsureDirectory(DrillsDir, Reasons.RepositoryCorrupt);
        }

        /// <summary>
        /// Refuses a manifest a newer NekkBackup wrote in a format this one cannot read, or with a capture mode it
        /// does not know. (Used-block images keep format 1: a reader that ignores "mode" restores them correctly.)
        /// </summary>
        private static ImageManifest Checked(ImageManifest m, string name)
        {
            if (m.FormatVersion > FormatVersion)
                throw new NekkBackupException("UnsupportedImageVersion", FailureKind.NotSupported,
                    $"Image '{name}' has format version {m.FormatVersion}; this NekkBackup reads up to {FormatVersion}. Update NekkBackup.", name);
            if (m.Mode != null && m.Mode != UsedBlocks.AllBlocksName && m.Mode != UsedBlocks.UsedBlocksName)
                throw Fail.InvalidData("ManifestCorrupt", $"Image '{name}' records an unknown capture mode '{m.Mode}'.", name);
            return m;
        }

        /// <summary>The validated manifest of <paramref name="imageId"/> (ImageNotFound, ManifestCorrupt naming the field).</summary>
        public ImageManifest ReadManifest(string imageId)
        {
            var path = ManifestPath(imageId);
            var c = GhostRules.Manifest(path);
            var bytes = Store.ReadAllBytes(path, GhostRules.MaxManifestBytes, c.Reason, c.What)
                ?? throw Fail.NotFound("ImageNotFound", $"No image '{imageId}' in the repository '{Root}'.", imageId);
            return GhostRules.CheckManifest(Checked(StoredJson.Parse<ImageManifest>(bytes, Json, c), imageId), imageId, Config, c);
        }

        /// <summary>True when a manifest file (sound or not) is there for <paramref name="imageId"/>; UnsafePath when images/ is a link.</summary>
        public bool HasManifest(string imageId)
        {
            var path = ManifestPath(imageId);
            return Store.CheckParents(path, Reasons.RepositoryCorrupt) && Store.Kind(path) != StoredKind.Missing;
        }

        /// <summary>All committed images (manifests), oldest first. Unreadable or damaged manifests are reported, not thrown.</summary>
        public List<ImageManifest> ReadManifests(Action<string, Exception>? onError = null)
        {
            var list = new List<ImageManifest>();
            foreach (var (f, _) in Store.List(ImagesDir, Reasons.RepositoryCorrupt, ".json"))
            {
                var id = Path.GetFileNameWithoutExtension(f);
                try
                {
                    list.Add(ReadManifest(id));
                }
                catch (NekkBackupException e) { onError?.Invoke(f, e); }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException) { onError?.Invoke(f, e); }
            }
            list.Sort((a, b) => a.Created != b.Created ? a.Created.CompareTo(b.Created) : string.CompareOrdinal(a.ImageId, b.ImageId));
            return list;
        }

        /// <summary>Writes JSON atomically (<see cref="AtomicFile.Write"/>); without overwrite the first writer wins.</summary>
        public static void WriteJsonAtomic<T>(string path, T value, bool overwrite = true) =>
            AtomicFile.Write(path, JsonSerializer.SerializeToUtf8Bytes(value, Json), overwrite);
    }
}
