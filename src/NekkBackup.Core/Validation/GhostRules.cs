using System;
using System.Text.Json;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Imaging;
using NekkBackup.Core.Primitives;

namespace NekkBackup.Core.Validation
{
    /// <summary>
    /// What a Ghost image repository's documents must look like before the image engine uses them: config.json
    /// (<c>NotARepository</c> when it is not ours at all, <c>RepositoryCorrupt</c> when it is ours and damaged,
    /// <c>UnsupportedRepositoryVersion</c> when a newer major wrote it), images/&lt;id&gt;.json (<c>ManifestCorrupt</c>: the id
    /// is the file's name and a safe name, the chunk list is exactly &lt;id&gt;.idx, sizes and counts agree with each other and
    /// with the repository, the capture mode and its allocation record are in range; <c>UnsupportedImageVersion</c>) and the
    /// drill records (not evidence unless sound). Lock objects are judged by <see cref="Storage.TargetLock"/>.
    /// </summary>
    internal static class GhostRules
    {
        public const long MaxConfigBytes = 1 << 20;
        public const long MaxManifestBytes = 64L << 20;
        public const long MaxDrillBytes = 16L << 20;
        public const long MaxImageSize = 1L << 50;
        public const int MaxChunkSize = 64 << 20;
        public const long MaxDurationMs = 366L * 24 * 3600 * 1000; // a capture that took over a year is a damaged record
        private const string AllBlocks = Imaging.UsedBlocks.AllBlocksName, UsedBlocks = Imaging.UsedBlocks.UsedBlocksName;
        private static readonly string[] FileSystems = { "ext2", "ext3", "ext4", "ntfs" };

        public static RepositoryConfig CheckConfig(byte[] json, string file)
        {
            var notOurs = new StoredCheck(file, "NotARepository", "the repository config");
            var root = StoredJson.ParseObject(json, notOurs);
            var format = StoredJson.String(root, "format", notOurs);
            if (format != ImageRepository.FormatName)
                throw notOurs.Error("format", $"is {StoredCheck.Quote(format)}, not '{ImageRepository.FormatName}': this is not a NekkBackup Ghost image repository");
            var c = new StoredCheck(file, Reasons.RepositoryCorrupt, "the repository config");
            CheckVersion(root, c, "UnsupportedRepositoryVersion", $"The repository config '{file}'", required: true);
            var cfg = StoredJson.Parse<RepositoryConfig>(json, ImageRepository.Json, c);
            c.Range(cfg.FormatVersion, 1, int.MaxValue, "formatVersion");
            c.Range(cfg.ChunkSize, 4096, MaxChunkSize, "chunkSize");
            if (cfg.ChunkSize % 4096 != 0) throw c.Error("chunkSize", $"is {cfg.ChunkSize}, not a multiple of 4096");
            c.OneOf(cfg.Hash, "hash", "sha256");
            c.OneOf(cfg.Compression, "compression", "zstd", "none");
            c.Range(cfg.ZstdLevel, 1, 22, "zstdLevel");
            c.Text(cfg.RepositoryId, "repositoryId", 128);
            return cfg;
        }

        /// <summary>
        /// The one <c>formatVersion</c> rule (<see cref="FormatVersion.Check(JsonElement, string, FormatVersion, object?, string[])"/>)
        /// with the Ghost documents' documented ids: a newer major is <paramref name="unsupportedReason"/> ("Update NekkBackup"),
        /// a missing or unreadable one the check's damage. Records from before versioning (drills) may lack it.
        /// </summary>
        private static void CheckVersion(JsonElement root, StoredCheck c, string unsupportedReason, string document, bool required)
        {
            if (!required && !root.TryGetProperty(FormatVersion.PropertyName, out _)) return;
            try { FormatVersion.Check(root, document, ImageRepository.Format, c.Source); }
            catch (NekkBackupException e) when (e.ErrorId == "NekkBackup.UnsupportedFormatVersion")
            {
                throw new NekkBackupException(unsupportedReason, FailureKind.NotSupported, e.Message, c.Source, e);
            }
            catch (NekkBackupException e) when (e.ErrorId == "NekkBackup.FormatVersionMissing")
            {
                throw c.Error(FormatVersion.PropertyName, "is missing or not a version", e);
            }
        }

        public static StoredCheck Manifest(string file) => new(file, Reasons.ManifestCorrupt, "the image manifest");

        /// <summary>A manifest's bytes as a validated manifest: version first (a newer major is refused before anything else), then every field.</summary>
        public static ImageManifest ReadManifest(byte[] json, string fileId, RepositoryConfig cfg, StoredCheck c)
        {
            CheckVersion(StoredJson.ParseObject(json, c), c, "UnsupportedImageVersion", $"Image '{fileId}'", required: true);
            return CheckManifest(StoredJson.Parse<ImageManifest>(json, ImageRepository.Json, c), fileId, cfg, c);
        }

        public static ImageManifest CheckManifest(ImageManifest m, string fileId, RepositoryConfig cfg, StoredCheck c)
        {
            c.Range(m.FormatVersion, 1, ImageRepository.Format.Major, "formatVersion");
            c.Name(m.ImageId, "imageId");
            c.Equal(m.ImageId, fileId, "imageId", "a manifest is named after its image");
            c.Name(m.Host, "host");
            c.Text(m.Source, "source");
            c.Text(m.Device, "device");
            c.Range(m.SizeBytes, 0, MaxImageSize, "sizeBytes");
            if (m.ChunkSize != cfg.ChunkSize) throw c.Error("chunkSize", $"is {m.ChunkSize}, but the repository's chunk size is {cfg.ChunkSize}");
            long chunks = ImageIndexWriter.ChunkCount(m.SizeBytes, m.ChunkSize);
            if (m.Chunks != chunks) throw c.Error("chunks", $"is {m.Chunks}, but {m.SizeBytes} bytes in chunks of {m.ChunkSize} make {chunks}");
            c.Range(m.ZeroChunks, 0, chunks, "zeroChunks");
            c.Range(m.StoredBytes, 0, long.MaxValue, "storedBytes");
            c.Range(m.NewBytes, 0, long.MaxValue, "newBytes");
            c.Range(m.DurationMs, 0, MaxDurationMs, "durationMs"); // a TimeSpan in views: no overflow from a lying record
            c.Strings(m.Tags, "tags", 1000, 256);
            c.OneOf(m.Compression, "compression", "zstd", "none");
            m.VolumeSha256 = c.HashOrEmpty(m.VolumeSha256, "volumeSha256"); // null reads as "no volume digest", never as a null
            c.Equal(m.IndexFile, m.ImageId + ".idx", "indexFile", "an image's chunk list is named after it");
            c.Hash(m.IndexSha256, "indexSha256");
            if (m.Plugins != null) CheckPlugins(m.Plugins, c);
            CheckMode(m, c);
            return m;
        }

        /// <summary>
        /// "mode" is AllBlocks or UsedBlocks (absent before used-block mode: AllBlocks). A UsedBlocks image carries the
        /// allocation map its capture followed — a known file system, a power-of-two block size, used bytes within the image,
        /// a run count the image can hold, the runs' SHA-256 — and an AllBlocks image carries none.
        /// </summary>
        private static void CheckMode(ImageManifest m, StoredCheck c)
        {
            if (m.Mode != null) c.OneOf(m.Mode, "mode", AllBlocks, UsedBlocks);
            var a = m.Allocation;
            if (m.Mode != UsedBlocks)
            {
                if (a != null) throw c.Error("allocation", $"is present, but the image is {m.Mode ?? AllBlocks} (only UsedBlocks images follow an allocation map)");
                if (m.Compared != null) throw c.Error("compared", $"is present, but the image is {m.Mode ?? AllBlocks} (only UsedBlocks captures compare file-system metadata)");
                return;
            }
            if (a == null) throw c.Error("allocation", "is missing (null), but a UsedBlocks image records the allocation map it followed");
            c.OneOf(a.FileSystem, "allocation.fileSystem", FileSystems);
            c.Range(a.BlockSize, 512, 1 << 30, "allocation.blockSize");
            if ((a.BlockSize & (a.BlockSize - 1)) != 0) throw c.Error("allocation.blockSize", $"is {a.BlockSize}, not a power of two");
            c.Range(a.UsedBytes, 0, m.SizeBytes, "allocation.usedBytes");
            long maxRuns = m.SizeBytes / a.BlockSize + 1;
            c.Range(a.Runs, a.UsedBytes > 0 ? 1 : 0, a.UsedBytes > 0 ? Math.Min(maxRuns, a.UsedBytes) : 0, "allocation.runs");
            c.Hash(a.RunsSha256, "allocation.runsSha256");
            if (m.Compared is { } k)
            {
                c.Name(k.ImageId, "compared.imageId");
                if (k.ImageId == m.ImageId) throw c.Error("compared.imageId", "names the image itself");
                c.Range(k.UnchangedChunks, 0, m.Chunks, "compared.unchangedChunks");
                c.Range(k.Chain, 1, MaxComparedChain, "compared.chain");
            }
        }

        /// <summary>Highest <see cref="ImageComparison.Chain"/> a manifest may record (the capture's own limit is far lower).</summary>
        public const int MaxComparedChain = 1000;

        private static void CheckPlugins(PluginInventory p, StoredCheck c)
        {
            c.Text(p.Host, "plugins.host");
            c.Strings(p.Folders, "plugins.folders", 10_000);
            c.List(p.Plugins, "plugins.plugins", 1_000_000);
            for (int i = 0; i < p.Plugins.Length; i++)
            {
                var f = $"plugins.plugins[{i}]";
                c.Text(p.Plugins[i].Format, f + ".format", 64);
                c.Text(p.Plugins[i].Name, f + ".name", 1024);
                c.Text(p.Plugins[i].Path, f + ".path");
                c.OptionalText(p.Plugins[i].Version, f + ".version", 256);
                c.OptionalText(p.Plugins[i].Vendor, f + ".vendor", 1024);
            }
            c.List(p.AuthorizationTools, "plugins.authorizationTools", 10_000);
            for (int i = 0; i < p.AuthorizationTools.Length; i++)
            {
                var f = $"plugins.authorizationTools[{i}]";
                c.Text(p.AuthorizationTools[i].Name, f + ".name", 1024);
                c.Text(p.AuthorizationTools[i].Path, f + ".path");
                c.OptionalText(p.AuthorizationTools[i].Version, f + ".version", 256);
            }
        }

        public static StoredCheck Drill(string file) => new(file, Reasons.ManifestCorrupt, "the drill record");

        /// <summary>A drill record as evidence: a safe image id and host, Passed or Failed, its times, counts and digests in range.</summary>
        public static DrillRecord ReadDrill(byte[] json, StoredCheck c)
        {
            CheckVersion(StoredJson.ParseObject(json, c), c, "UnsupportedImageVersion", $"The drill record '{c.Source}'", required: false);
            var d = StoredJson.Parse<DrillRecord>(json, ImageRepository.Json, c);
            c.Name(d.ImageId, "imageId");
            c.Name(d.Host, "host");
            c.OneOf(d.Status, "status", "Passed", "Failed");
            c.Text(d.Method, "method", 64);
            if (d.Started == default && d.Finished == default) throw c.Error("started", "is missing, and so is finished");
            c.Range(d.ChunksChecked, 0, long.MaxValue, "chunksChecked");
            c.Range(d.BytesVerified, 0, long.MaxValue, "bytesVerified");
            d.ExpectedVolumeSha256 = c.HashOrEmpty(d.ExpectedVolumeSha256, "expectedVolumeSha256");
            d.ActualVolumeSha256 = c.HashOrEmpty(d.ActualVolumeSha256, "actualVolumeSha256");
            d.Problems = c.Strings(d.Problems, "problems", 1_000_000);
            return d;
        }
    }
}
