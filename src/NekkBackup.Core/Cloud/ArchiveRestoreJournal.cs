using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace NekkBackup.Core.Cloud
{
    /// <summary>
    /// &lt;Target&gt;/.nekk-restore-&lt;ArchiveId&gt;.json: how far an archive restore got, so a killed or stopped
    /// restore continues where it was (the tar offset of the first entry not yet finished; the file being
    /// written stays as &lt;name&gt;.nekkpart and is continued from its length). Written atomically, at most
    /// once a second and when the restore stops; deleted when the restore ends. Read back as untrusted input:
    /// anything that does not fit the archive being restored is ignored and the restore starts over.
    /// </summary>
    internal sealed class ArchiveRestoreJournal
    {
        public const string FormatName = "nekkbackup-archive-restore/1";

        [JsonPropertyName("format")] public string Format { get; set; } = FormatName;
        [JsonPropertyName("archiveId")] public string ArchiveId { get; set; } = "";
        [JsonPropertyName("etag")] public string ETag { get; set; } = "";
        [JsonPropertyName("tarBytes")] public long TarBytes { get; set; }
        [JsonPropertyName("paths")] public List<string> Paths { get; set; } = new();
        [JsonPropertyName("nextOffset")] public long NextOffset { get; set; }
        [JsonPropertyName("errors")] public long Errors { get; set; }
        [JsonPropertyName("updatedUtc")] public DateTime UpdatedUtc { get; set; }

        public static string PathFor(string target, string archiveId) => Path.Combine(target, ".nekk-restore-" + archiveId + ".json");

        /// <summary>The journal of an unfinished restore of this archive in this target, or null.</summary>
        public static ArchiveRestoreJournal? Load(string target, string archiveId)
        {
            var path = PathFor(target, archiveId);
            try
            {
                if (!File.Exists(path) || ArchiveEntryGuard.IsLink(path) || new FileInfo(path).Length > 1 << 20) return null;
                var j = JsonSerializer.Deserialize<ArchiveRestoreJournal>(File.ReadAllBytes(path));
                if (j == null || j.Format != FormatName || j.ArchiveId != archiveId || j.Paths == null) return null;
                return j;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
            {
                return null;
            }
        }

        /// <summary>Whether this journal describes a restore of the same object with the same selection.</summary>
        public bool Fits(string etag, long tarBytes, IReadOnlyList<string> paths) =>
            ETag == etag && TarBytes == tarBytes && NextOffset >= 0 && NextOffset <= tarBytes && NextOffset % TarReader.Block == 0
            && Paths.SequenceEqual(paths, StringComparer.Ordinal);

        public void Save(string target)
        {
            UpdatedUtc = DateTime.UtcNow;
            AtomicFile.Write(PathFor(target, ArchiveId), JsonSerializer.SerializeToUtf8Bytes(this));
        }

        public static void Delete(string target, string archiveId)
        {
            try { File.Delete(PathFor(target, archiveId)); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
        }
    }
}
