using System.IO;
using System.Text.Json;
using System.Text;
using System;
using NekkBackup.Core.Primitives;

namespace NekkBackup.Core.Cloud
{
    /// <summary>
    /// DataDirectory/cloud-journal/archives/&lt;hash&gt;.json: an archive upload that has not written its manifest
    /// yet, per bucket, host prefix and project folder. It keeps the ArchiveId, so sending the same folder again
    /// after a kill continues the same object (the multipart journal then skips the parts already stored);
    /// once the tar is complete it also keeps the manifest, so a kill between the tar and the manifest costs
    /// only the manifest. Deleted when the manifest is written; ignored once older than the stale limit.
    /// </summary>
    internal sealed class ArchiveUploadJournal
    {
        public const string Uploading = "Uploading";
        public const string Uploaded = "Uploaded";

        public string Scope { get; set; } = "";
        public string HostRoot { get; set; } = "";
        public string Source { get; set; } = "";
        public string ArchiveId { get; set; } = "";
        public string StorageClass { get; set; } = "";
        public DateTime CreatedUtc { get; set; }
        public long TarBytes { get; set; }
        public string Phase { get; set; } = Uploading;
        /// <summary>ETag of the completed tar (Phase Uploaded).</summary>
        public string? ETag { get; set; }
        /// <summary>The manifest to write (Phase Uploaded).</summary>
        public ArchiveManifest? Manifest { get; set; }

        public static string PathFor(string directory, string scope, string hostRoot, string source)
        {
            var name = Sha256.Of(Encoding.UTF8.GetBytes(scope + "\n" + hostRoot + "\n" + source)).Substring(0, 32);
            return Path.Combine(directory, "archives", name + ".json");
        }

        public static ArchiveUploadJournal? Load(string directory, string scope, string hostRoot, string source)
        {
            try
            {
                var path = PathFor(directory, scope, hostRoot, source);
                if (!File.Exists(path)) return null;
                var j = JsonSerializer.Deserialize<ArchiveUploadJournal>(File.ReadAllBytes(path));
                return j != null && j.Scope == scope && j.HostRoot == hostRoot && j.Source == source && ArchiveCatalog.IsValidArchiveId(j.ArchiveId) ? j : null;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
            {
                return null;
            }
        }

        public void Save(string directory)
        {
            var path = PathFor(directory, Scope, HostRoot, Source);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            AtomicFile.Write(path, JsonSerializer.SerializeToUtf8Bytes(this));
        }

        public void Delete(string directory)
        {
            try { File.Delete(PathFor(directory, Scope, HostRoot, Source)); }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
        }
    }
}
