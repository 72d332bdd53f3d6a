using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Serialization;
using System.Text.Json;
using System.Text;
using System;
using NekkBackup.Core.Primitives;

namespace NekkBackup.Core.Cloud
{
    /// <summary>One finished part of a journaled multipart upload.</summary>
    public sealed class JournalPart
    {
        public int PartNumber { get; set; }
        public string ETag { get; set; } = "";
        public long Size { get; set; }
    }

    /// <summary>What is needed to resume a multipart upload after the process died.</summary>
    public sealed class JournalEntry
    {
        public string Scope { get; set; } = "";
        public string Key { get; set; } = "";
        public string UploadId { get; set; } = "";
        public long TotalSize { get; set; }
        public int PartSize { get; set; }
        public string? SourcePath { get; set; }
        public string? ContentHash { get; set; }
        /// <summary>Encryption parameters (hex) so a resumed encrypted upload produces the same bytes.</summary>
        public string? CipherSalt { get; set; }
        public string? CipherNonce { get; set; }
        public DateTime CreatedUtc { get; set; }
        public List<JournalPart> Parts { get; set; } = new();
    }

    /// <summary>
    /// Local journal of multipart uploads (DataDirectory/cloud-journal/*.json). Rewritten atomically after each
    /// finished part, so a kill at any point leaves either the previous or the new state.
    /// </summary>
    public sealed class MultipartJournal
    {
        private static readonly JsonSerializerOptions Json = new() { WriteIndented = false };
        private readonly object _gate = new();

        public MultipartJournal(string? directory = null)
        {
            Directory = directory ?? Path.Combine(OperatingSystemInfo.DataDirectory, "cloud-journal");
        }

        public string Directory { get; }

        public string PathFor(string scope, string key)
        {
            // 128 bits of the SHA-256 of scope and key (the names journals have always had).
            return Path.Combine(Directory, Sha256.Of(Encoding.UTF8.GetBytes(scope + "\n" + key)).Substring(0, 32) + ".json");
        }

        public JournalEntry? Load(string scope, string key)
        {
            var p = PathFor(scope, key);
            var e = TryRead(p);
            return e != null && e.Scope == scope && e.Key == key ? e : null;
        }

        public void Save(JournalEntry entry)
        {
            lock (_gate)
            {
                System.IO.Directory.CreateDirectory(Directory);
                var p = PathFor(entry.Scope, entry.Key);
                AtomicFile.Write(p, JsonSerializer.SerializeToUtf8Bytes(entry, Json));
            }
        }

        public void Delete(string scope, string key)
        {
            lock (_gate)
            {
                try { File.Delete(PathFor(scope, key)); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
        }

        public IReadOnlyList<JournalEntry> All(string scope)
        {
            if (!System.IO.Directory.Exists(Directory)) return Array.Empty<JournalEntry>();
            return System.IO.Directory.GetFiles(Directory, "*.json")
                .Select(p => TryRead(p)).Where(e => e != null && e.Scope == scope).Select(e => e!).ToList();
        }

        /// <summary>An entry of the journal folder: a regular file (never followed or blocked on) holding a sound entry, else null.</summary>
        private JournalEntry? TryRead(string path)
        {
            try
            {
                var bytes = new Validation.StoreRoot(Directory, "the upload journal folder").ReadAllBytes(path, 16 << 20, "UploadJournalCorrupt", "the upload journal");
                return bytes == null ? null : Validation.CloudRules.CheckJournal(JsonSerializer.Deserialize<JournalEntry>(bytes, Json), path);
            }
            catch (Exception ex) when (ex is IOException or JsonException or UnauthorizedAccessException or InvalidOperationException or Errors.NekkBackupException)
            {
                return null;
            }
        }
    }
}
