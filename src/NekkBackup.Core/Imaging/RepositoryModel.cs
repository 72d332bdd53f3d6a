using System;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace NekkBackup.Core.Imaging
{
    /// <summary>config.json: written once when the repository is created (docs/ghost-repository.md).</summary>
    internal sealed class RepositoryConfig
    {
        public string Format { get; set; } = ImageRepository.FormatName;
        [JsonConverter(typeof(FormatMajorConverter))]
        public int FormatVersion { get; set; } = ImageRepository.Format.Major;
        public string RepositoryId { get; set; } = "";
        public int ChunkSize { get; set; }
        public string Hash { get; set; } = "sha256";
        /// <summary>Default compression for new chunks ("zstd" or "none"); each chunk's header says how it is stored.</summary>
        public string Compression { get; set; } = "zstd";
        public int ZstdLevel { get; set; } = 1;
        public DateTime Created { get; set; }
    }

    /// <summary>images/&lt;id&gt;.json — the commit point of a capture, written last.</summary>
    internal sealed class ImageManifest
    {
        [JsonConverter(typeof(FormatMajorConverter))]
        public int FormatVersion { get; set; } = ImageRepository.Format.Major;
        public string ImageId { get; set; } = "";
        public string Source { get; set; } = "";
        /// <summary>The device actually read (a snapshot device when a snapshot hook was used).</summary>
        public string Device { get; set; } = "";
        public string Host { get; set; } = "";
        public DateTime Created { get; set; }
        public DateTime Finished { get; set; }
        public long SizeBytes { get; set; }
        public int ChunkSize { get; set; }
        public long Chunks { get; set; }
        public long ZeroChunks { get; set; }
        public long StoredBytes { get; set; }
        public long NewBytes { get; set; }
        public long DurationMs { get; set; }
        public string[] Tags { get; set; } = Array.Empty<string>();
        public string Compression { get; set; } = "zstd";
        public string VolumeSha256 { get; set; } = "";
        public string IndexFile { get; set; } = "";
        public string IndexSha256 { get; set; } = "";
        public PluginInventory? Plugins { get; set; }
        /// <summary>"AllBlocks" or "UsedBlocks" (absent in images written before used-block mode: AllBlocks).</summary>
        public string? Mode { get; set; }
        /// <summary>UsedBlocks images: the allocation map the capture read (the drill compares the image's own).</summary>
        public ImageAllocation? Allocation { get; set; }
        /// <summary>UsedBlocks images whose capture compared file-system metadata with an earlier image (absent when every used block was read).</summary>
        public ImageComparison? Compared { get; set; }
    }

    /// <summary>How a used-block capture used an earlier image of the same volume (docs/ghost-repository.md "Second captures").</summary>
    internal sealed class ImageComparison
    {
        /// <summary>The earlier image whose file-system metadata this capture compared with its own.</summary>
        public string ImageId { get; set; } = "";
        /// <summary>Chunks taken from that image without being read: every used block in them belongs to a file whose metadata did not change.</summary>
        public long UnchangedChunks { get; set; }
        /// <summary>Captures in a row that compared (1 after a capture that read every used block); the next one after the limit reads everything.</summary>
        public int Chain { get; set; }
    }

    /// <summary>The allocation map a used-block capture followed (docs/ghost-repository.md "Capture modes").</summary>
    internal sealed class ImageAllocation
    {
        public string FileSystem { get; set; } = "";
        public int BlockSize { get; set; }
        public long UsedBytes { get; set; }
        /// <summary>Number of used byte ranges.</summary>
        public long Runs { get; set; }
        /// <summary>SHA-256 of the used ranges, each as offset and length (int64 little-endian), in order.</summary>
        public string RunsSha256 { get; set; } = "";
    }

    /// <summary>drills/&lt;time&gt;-&lt;id&gt;.json — evidence of a restore drill, read by compliance.</summary>
    internal sealed class DrillRecord
    {
        /// <summary>Absent in records written before drill records were versioned (read as 1).</summary>
        [JsonConverter(typeof(FormatMajorConverter))]
        public int FormatVersion { get; set; } = ImageRepository.Format.Major;
        public string ImageId { get; set; } = "";
        public string Host { get; set; } = "";
        public DateTime Started { get; set; }
        public DateTime Finished { get; set; }
        /// <summary>Passed or Failed.</summary>
        public string Status { get; set; } = "";
        /// <summary>How the bytes were verified: "stream-verify" (every chunk decompressed, hashed and the whole volume re-hashed);
        /// "stream-verify+allocation" for UsedBlocks images (plus the image's own allocation bitmap read back and compared).</summary>
        public string Method { get; set; } = "stream-verify";
        public long ChunksChecked { get; set; }
        public long BytesVerified { get; set; }
        public string ExpectedVolumeSha256 { get; set; } = "";
        public string ActualVolumeSha256 { get; set; } = "";
        public string[] Problems { get; set; } = Array.Empty<string>();
    }

    /// <summary>
    /// Reads a <c>formatVersion</c> as its major: a number, or "major.minor" (<see cref="Primitives.FormatVersion"/>; a newer
    /// major was refused before the document is read as a type, so only the major matters here). Writes a number.
    /// </summary>
    internal sealed class FormatMajorConverter : JsonConverter<int>
    {
        public override int Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var n)) return n;
            if (reader.TokenType == JsonTokenType.String)
            {
                var text = reader.GetString() ?? "";
                int dot = text.IndexOf('.');
                var major = dot < 0 ? text : text.Substring(0, dot);
                if (int.TryParse(major, NumberStyles.None, CultureInfo.InvariantCulture, out var m)) return m;
            }
            throw new JsonException("formatVersion is not a number or \"major.minor\".");
        }

        public override void Write(Utf8JsonWriter writer, int value, JsonSerializerOptions options) => writer.WriteNumberValue(value);
    }
}
