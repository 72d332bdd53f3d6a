using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using NekkBackup.Core.Errors;

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
        }

        public string Root { get; }
        public RepositoryConfig Config { get; }
        public string ConfigPath => Path.Combine(Root, "config.json");
        public string ChunksDir => Path.Combine(Root, "chunks");
        public string ImagesDir => Path.Combine(Root, "images");
        public string LocksDir => Path.Combine(Root, "locks");
        public string DrillsDir => Path.Combine(Root, "drills");

        public string ChunkPath(byte[] hash) => ChunkPath(Hex.Encode(hash));
        public string ChunkPath(string hex) => Path.Combine(ChunksDir, hex.Substring(0, 2), hex);
        public string ManifestPath(string imageId) => Path.Combine(ImagesDir, imageId + ".json");
        public string IndexPath(string imageId) => Path.Combine(ImagesDir, imageId + ".idx");

        /// <summary>Opens an existing repository: RepositoryNotFound / NotARepository / UnsupportedRepositoryVersion.</summary>
        public static RepositoryLayout Open(string path)
        {
            if (string.IsNullOrWhiteSpace(path))
                throw Fail.Argument("RepositoryMissing", "No repository path was given.");
            var root = Path.GetFullPath(path);
            if (!Directory.Exists(root))
                throw Fail.NotFound("RepositoryNotFound", $"The Ghost image repository '{path}' does not exist (or the share is unreachable).", path);
            var cfgPath = Path.Combine(root, "config.json");
            if (!File.Exists(cfgPath))
                throw Fail.InvalidData("NotARepository", $"'{path}' is not a NekkBackup Ghost image repository (no config.json).", path);
            RepositoryConfig? cfg;
            try { cfg = JsonSerializer.Deserialize<RepositoryConfig>(File.ReadAllText(cfgPath), Json); }
            catch (JsonException e) { throw Fail.InvalidData("NotARepository", $"'{cfgPath}' is not a valid repository config: {e.Message}", path, e); }
            if (cfg == null || cfg.Format != FormatName)
                throw Fail.InvalidData("NotARepository", $"'{path}' is not a NekkBackup Ghost image repository.", path);
            if (cfg.FormatVersion > FormatVersion)
                throw new NekkBackupException("UnsupportedRepositoryVersion", FailureKind.NotSupported,
                    $"The repository '{path}' has format version {cfg.FormatVersion}; this NekkBackup reads up to {FormatVersion}. Update NekkBackup.", path);
            if (cfg.ChunkSize <= 0 || cfg.ChunkSize % 4096 != 0 || cfg.Hash != "sha256")
                throw Fail.InvalidData("NotARepository", $"'{cfgPath}' has an invalid chunk size or hash.", path);
            return new RepositoryLayout(root, cfg);
        }

        /// <summary>Opens, or creates when the folder is absent or empty (its parent must exist).</summary>
        public static RepositoryLayout OpenOrCreate(string path, int chunkSize, GhostCompression compression, int zstdLevel)
        {
            if (string.IsNullOrWhiteSpace(path))
                throw Fail.Argument("RepositoryMissing", "No repository path was given.");
            var root = Path.GetFullPath(path);
            if (File.Exists(Path.Combine(root, "config.json"))) return Open(root);
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
                ZstdLevel = zstdLevel > 0 ? zstdLevel : 1,
                Created = DateTime.UtcNow,
            };
            var layout = new RepositoryLayout(root, cfg);
            Directory.CreateDirectory(layout.ChunksDir);
            for (int i = 0; i < 256; i++) Directory.CreateDirectory(Path.Combine(layout.ChunksDir, i.ToString("x2")));
            Directory.CreateDirectory(layout.ImagesDir);
            Directory.CreateDirectory(layout.LocksDir);
            Directory.CreateDirectory(layout.DrillsDir);
            // config.json last: a half-created repository is "empty", not a broken repository.
            try { WriteJsonAtomic(layout.ConfigPath, cfg, overwrite: false); }
            catch (IOException) when (File.Exists(layout.ConfigPath)) { return Open(root); } // another host created it
            return layout;
        }

        private static bool IsLayoutEntry(string name) =>
            name == "chunks" || name == "images" || name == "locks" || name == "drills" || name.StartsWith("config.json" + AtomicFile.TempMarker, StringComparison.Ordinal);

        public ImageManifest ReadManifest(string imageId)
        {
            if (string.IsNullOrWhiteSpace(imageId) || imageId.IndexOfAny(new[] { '/', '\\', '.' }) >= 0 || !File.Exists(ManifestPath(imageId)))
                throw Fail.NotFound("ImageNotFound", $"No image '{imageId}' in the repository '{Root}'.", imageId);
            ImageManifest m;
            try
            {
                m = JsonSerializer.Deserialize<ImageManifest>(File.ReadAllText(ManifestPath(imageId)), Json)
                    ?? throw new JsonException("empty manifest");
            }
            catch (JsonException e) { throw Fail.InvalidData("ManifestCorrupt", $"The manifest of image '{imageId}' is unreadable: {e.Message}", imageId, e); }
            return Checked(m, imageId);
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

        /// <summary>All committed images (manifests), oldest first. Unreadable manifests are reported, not thrown.</summary>
        public List<ImageManifest> ReadManifests(Action<string, Exception>? onError = null)
        {
            var list = new List<ImageManifest>();
            if (!Directory.Exists(ImagesDir)) return list;
            foreach (var f in Directory.EnumerateFiles(ImagesDir, "*.json"))
            {
                try
                {
                    var m = JsonSerializer.Deserialize<ImageManifest>(File.ReadAllText(f), Json);
                    if (m != null) list.Add(Checked(m, Path.GetFileNameWithoutExtension(f)));
                }
                catch (Exception e) when (e is JsonException || e is IOException || e is NekkBackupException) { onError?.Invoke(f, e); }
            }
            list.Sort((a, b) => a.Created != b.Created ? a.Created.CompareTo(b.Created) : string.CompareOrdinal(a.ImageId, b.ImageId));
            return list;
        }

        /// <summary>Writes JSON atomically (<see cref="AtomicFile.Write"/>); without overwrite the first writer wins.</summary>
        public static void WriteJsonAtomic<T>(string path, T value, bool overwrite = true) =>
            AtomicFile.Write(path, JsonSerializer.SerializeToUtf8Bytes(value, Json), overwrite);
    }
}
