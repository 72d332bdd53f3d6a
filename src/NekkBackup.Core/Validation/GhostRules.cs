using System;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Imaging;

namespace NekkBackup.Core.Validation
{
    /// <summary>
    /// What a Ghost image repository's files must look like before the image engine uses them: config.json
    /// (<c>NotARepository</c> when it is not ours at all, <c>RepositoryCorrupt</c> when it is ours and damaged),
    /// images/&lt;id&gt;.json (<c>ManifestCorrupt</c>: the id is the file's name and a safe name, the chunk list is
    /// exactly &lt;id&gt;.idx, sizes and counts agree with each other and with the repository), and the lock records.
    /// </summary>
    internal static class GhostRules
    {
        public const long MaxConfigBytes = 1 << 20;
        public const long MaxManifestBytes = 64L << 20;
        public const long MaxLockBytes = 64 << 10;
        public const long MaxDrillBytes = 16L << 20;
        public const long MaxImageSize = 1L << 50;
        public const int MaxChunkSize = 64 << 20;

        public static RepositoryConfig CheckConfig(byte[] json, string file)
        {
            var notOurs = new StoredCheck(file, "NotARepository", "the repository config");
            var cfg = StoredJson.Parse<RepositoryConfig>(json, RepositoryLayout.Json, notOurs);
            if (cfg.Format != RepositoryLayout.FormatName)
                throw notOurs.Error("format", $"is {StoredCheck.Quote(cfg.Format)}, not '{RepositoryLayout.FormatName}': this is not a NekkBackup Ghost image repository");
            var c = new StoredCheck(file, Reasons.RepositoryCorrupt, "the repository config");
            c.Range(cfg.FormatVersion, 1, int.MaxValue, "formatVersion");
            c.Range(cfg.ChunkSize, 4096, MaxChunkSize, "chunkSize");
            if (cfg.ChunkSize % 4096 != 0) throw c.Error("chunkSize", $"is {cfg.ChunkSize}, not a multiple of 4096");
            c.OneOf(cfg.Hash, "hash", "sha256");
            c.OneOf(cfg.Compression, "compression", "zstd", "none");
            c.Range(cfg.ZstdLevel, 1, 22, "zstdLevel");
            c.Text(cfg.RepositoryId, "repositoryId", 128);
            return cfg;
        }

        public static StoredCheck Manifest(string file) => new(file, Reasons.ManifestCorrupt, "the image manifest");

        public static ImageManifest CheckManifest(ImageManifest m, string fileId, RepositoryConfig cfg, StoredCheck c)
        {
            c.Range(m.FormatVersion, 1, RepositoryLayout.FormatVersion, "formatVersion");
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
            c.Range(m.DurationMs, 0, long.MaxValue, "durationMs");
            c.Strings(m.Tags, "tags", 1000, 256);
            c.OneOf(m.Compression, "compression", "zstd", "none");
            m.VolumeSha256 = c.HashOrEmpty(m.VolumeSha256, "volumeSha256"); // null reads as "no volume digest", never as a null
            c.Equal(m.IndexFile, m.ImageId + ".idx", "indexFile", "an image's chunk list is named after it");
            c.Hash(m.IndexSha256, "indexSha256");
            if (m.Plugins != null) CheckPlugins(m.Plugins, c);
            return m;
        }

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

        /// <summary>A lock record, or null when it cannot be one (torn, or fields of the wrong kind): such a file is not a live lock.</summary>
        public static LockRecord? CheckLock(byte[] json, string file)
        {
            var c = new StoredCheck(file, Reasons.RepositoryCorrupt, "the lock");
            try
            {
                var r = StoredJson.Parse<LockRecord>(json, RepositoryLayout.Json, c);
                c.Text(r.Host, "host", 256);
                c.Text(r.Operation, "operation", 64);
                c.Range(r.Pid, 0, int.MaxValue, "pid");
                return r;
            }
            catch (NekkBackupException) { return null; }
        }
    }
}
