using System;
using System.Collections.Generic;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace NekkBackup.Core.Cloud
{
    /// <summary>
    /// &lt;Prefix&gt;/&lt;host&gt;/drills/&lt;DrillId&gt;.json: one restore drill of a cloud run, beside the run manifests (what
    /// compliance's DrillWithin92Days reads for the cloud leg). Written once per drill; read back through
    /// <see cref="Validation.CloudRules.ParseDrill"/> like every stored document.
    /// </summary>
    public sealed class CloudDrillRecord
    {
        public const string FormatName = "nekkbackup-cloud-drill/1";
        public static readonly Primitives.FormatVersion Version = new(1);
        /// <summary>A record is a few KiB; anything near this is damage (or an attempt to exhaust memory).</summary>
        public const long MaxBytes = 1L << 20;
        /// <summary>Problems kept in a record (the first ones; the count is in <see cref="Errors"/>).</summary>
        public const int MaxProblems = 100;

        public const string Passed = "Passed";
        public const string Failed = "Failed";
        /// <summary>Cold objects in the sample: a thaw was requested and a later run finishes the drill.</summary>
        public const string ThawRequested = "ThawRequested";

        [JsonPropertyName("format")] public string Format { get; set; } = FormatName;
        [JsonPropertyName("formatVersion")] public int FormatVersion { get; set; } = Version.Major;
        [JsonPropertyName("drillId")] public string DrillId { get; set; } = "";
        [JsonPropertyName("host")] public string Host { get; set; } = "";
        /// <summary>The plan that ran it (empty when none did).</summary>
        [JsonPropertyName("plan")] public string Plan { get; set; } = "";
        /// <summary>The cloud run restored.</summary>
        [JsonPropertyName("runId")] public string RunId { get; set; } = "";
        /// <summary>Passed, Failed or ThawRequested.</summary>
        [JsonPropertyName("status")] public string Status { get; set; } = "";
        /// <summary>Full (every file of the run) or Sample.</summary>
        [JsonPropertyName("scope")] public string Scope { get; set; } = "";
        /// <summary>Seed of the sample: the same run, seed and sizes pick the same files (a thawed drill finishes with it).</summary>
        [JsonPropertyName("seed")] public int Seed { get; set; }
        [JsonPropertyName("samplePercent")] public double SamplePercent { get; set; }
        [JsonPropertyName("sampleMinBytes")] public long SampleMinBytes { get; set; }
        [JsonPropertyName("startedUtc")] public DateTime StartedUtc { get; set; }
        [JsonPropertyName("finishedUtc")] public DateTime FinishedUtc { get; set; }
        [JsonPropertyName("filesInRun")] public long FilesInRun { get; set; }
        [JsonPropertyName("bytesInRun")] public long BytesInRun { get; set; }
        [JsonPropertyName("filesSelected")] public long FilesSelected { get; set; }
        [JsonPropertyName("bytesSelected")] public long BytesSelected { get; set; }
        /// <summary>Files restored to scratch space and re-read there against the manifest's SHA-256.</summary>
        [JsonPropertyName("filesVerified")] public long FilesVerified { get; set; }
        [JsonPropertyName("bytesVerified")] public long BytesVerified { get; set; }
        [JsonPropertyName("errors")] public long Errors { get; set; }
        /// <summary>Files waiting for a thaw (ThawRequested).</summary>
        [JsonPropertyName("thawRequested")] public long ThawRequestedFiles { get; set; }
        [JsonPropertyName("thawTier"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? ThawTier { get; set; }
        [JsonPropertyName("expectedWaitHours"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public double? ExpectedWaitHours { get; set; }
        /// <summary>One line per failed file: its path and why ("'Song A/mix.wav': … does not match its recorded SHA-256").</summary>
        [JsonPropertyName("problems")] public List<string> Problems { get; set; } = new();

        public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(this, CloudManifest.SerializerOptions);
    }
}
