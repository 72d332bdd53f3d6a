using System;
using System.Collections.Generic;
using System.Text.Json.Serialization;

namespace NekkBackup.Core.Cloud
{
    public sealed class ArchiveManifestEntry
    {
        [JsonPropertyName("path")] public string Path { get; set; } = "";
        [JsonPropertyName("size")] public long Size { get; set; }
        [JsonPropertyName("mtimeUtc")] public DateTime LastWriteTimeUtc { get; set; }
        [JsonPropertyName("sha256")] public string Hash { get; set; } = "";
        /// <summary>Offset of the file's data inside the tar object (for ranged reads).</summary>
        [JsonPropertyName("offset")] public long Offset { get; set; }
    }

    public sealed class ArchiveManifest
    {
        public const string FormatName = "nekkbackup-cloud-archive/1";
        /// <summary>Any 1.x is read; a newer major is NekkBackup.UnsupportedFormatVersion (older manifests have only <see cref="Format"/>).</summary>
        public static readonly Primitives.FormatVersion Version = new(1);
        [JsonPropertyName("format")] public string Format { get; set; } = FormatName;
        [JsonPropertyName("formatVersion")] public int FormatVersion { get; set; } = Version.Major;
        [JsonPropertyName("archiveId")] public string ArchiveId { get; set; } = "";
        [JsonPropertyName("host")] public string Host { get; set; } = "";
        [JsonPropertyName("source")] public string Source { get; set; } = "";
        [JsonPropertyName("createdUtc")] public DateTime CreatedUtc { get; set; }
        [JsonPropertyName("key")] public string Key { get; set; } = "";
        [JsonPropertyName("storageClass")] public string StorageClass { get; set; } = "";
        [JsonPropertyName("tarBytes")] public long TarBytes { get; set; }
        [JsonPropertyName("tarSha256")] public string TarHash { get; set; } = "";
        [JsonPropertyName("warnings")] public List<string> Warnings { get; set; } = new();
        [JsonPropertyName("files")] public List<ArchiveManifestEntry> Files { get; set; } = new();
    }
}
