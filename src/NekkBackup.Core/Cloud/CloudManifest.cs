using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace NekkBackup.Core.Cloud
{
    /// <summary>One file of a run: which object holds its content.</summary>
    public sealed class ManifestEntry
    {
        [JsonPropertyName("path")] public string Path { get; set; } = "";
        [JsonPropertyName("size")] public long Size { get; set; }
        [JsonPropertyName("mtimeUtc")] public DateTime LastWriteTimeUtc { get; set; }
        [JsonPropertyName("sha256")] public string Hash { get; set; } = "";
        [JsonPropertyName("key")] public string Key { get; set; } = "";
        [JsonPropertyName("storageClass")] public string? StorageClass { get; set; }
        /// <summary>Bytes of the stored object (differs from Size when encrypted).</summary>
        [JsonPropertyName("storedSize")] public long StoredSize { get; set; }

        /// <summary>
        /// A symbolic link or junction recorded as found (the walker's <c>LinkPolicy.Record</c>): its target, no content
        /// (Hash and Key are empty, Size 0). Absent for files.
        /// </summary>
        [JsonPropertyName("link"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public string? LinkTarget { get; set; }

        /// <summary>The link points to a folder (a directory symlink or a junction).</summary>
        [JsonPropertyName("linkIsDirectory"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
        public bool? LinkIsDirectory { get; set; }

        [JsonIgnore] public bool IsLink => LinkTarget != null;
    }

    /// <summary>
    /// &lt;Prefix&gt;/&lt;host&gt;/manifests/&lt;RunId&gt;.json: the source of truth of a run (never a listing).
    /// Plain JSON; written last, after every object it names is stored.
    /// </summary>
    public sealed class CloudManifest
    {
        public const string FormatName = "nekkbackup-cloud-manifest/1";
        /// <summary>Read by <see cref="Validation.CloudRules.ParseManifest"/>: any 1.x; a newer major is NekkBackup.UnsupportedFormatVersion.</summary>
        public static readonly Primitives.FormatVersion Version = new(1);
        private static readonly JsonSerializerOptions Options = new() { WriteIndented = true };

        [JsonPropertyName("format")] public string Format { get; set; } = FormatName;
        /// <summary>Written by every run since the storage redesign; older manifests have only <see cref="Format"/>.</summary>
        [JsonPropertyName("formatVersion")] public int FormatVersion { get; set; } = Version.Major;
        [JsonPropertyName("runId")] public string RunId { get; set; } = "";
        [JsonPropertyName("host")] public string Host { get; set; } = "";
        [JsonPropertyName("createdUtc")] public DateTime CreatedUtc { get; set; }
        [JsonPropertyName("sources")] public List<string> Sources { get; set; } = new();
        /// <summary>"aes-256-gcm-chunked/1" when objects are encrypted client-side; null = exact file bytes.</summary>
        [JsonPropertyName("encryption")] public string? Encryption { get; set; }
        [JsonPropertyName("files")] public List<ManifestEntry> Files { get; set; } = new();

        public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(this, Options);

        internal static JsonSerializerOptions SerializerOptions => Options;

        /// <summary>Parses and validates a run manifest (NekkBackup.CloudManifestInvalid naming the key and the field).</summary>
        public static CloudManifest Parse(byte[] json, string key) => Validation.CloudRules.ParseManifest(json, key, null);
    }
}
