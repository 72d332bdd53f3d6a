using System;
using System.Collections.Generic;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Primitives;
using NekkBackup.Core.Validation;

namespace NekkBackup.Core.Cloud
{
    /// <summary>
    /// &lt;Prefix&gt;/&lt;host&gt;/prune.json: the record a prune writes before it removes its first manifest, naming every
    /// run it is about to drop, and removes after its sweep. Found by the next prune (an earlier one was killed or lost
    /// its connection), it is completed first: the runs it names are dropped (the safety rules still apply), then the
    /// sweep runs. A mark that cannot be read is ignored with a warning (it could only add deletions) and replaced.
    /// </summary>
    internal sealed class PruneMark
    {
        public const string FormatName = "nekkbackup-cloud-prune/1";
        public static readonly FormatVersion Version = new(1);
        private const int MaxBytes = 4 << 20;
        private static readonly JsonSerializerOptions Options = new() { WriteIndented = true };

        [JsonPropertyName("format")] public string Format { get; set; } = FormatName;
        [JsonPropertyName("formatVersion")] public int FormatVersion { get; set; } = Version.Major;
        [JsonPropertyName("pruneId")] public string PruneId { get; set; } = "";
        [JsonPropertyName("createdUtc")] public DateTime CreatedUtc { get; set; }
        [JsonPropertyName("policy")] public string Policy { get; set; } = "";
        [JsonPropertyName("runs")] public List<string> Runs { get; set; } = new();

        public static string Key(CloudTarget t) => t.HostRoot + "prune.json";

        /// <summary>The mark of an unfinished prune, or null (none, or unreadable: then Present tells the caller to remove it).</summary>
        public static async Task<(PruneMark? Mark, bool Present)> ReadAsync(CloudClient client, IRunObserver observer, CancellationToken ct)
        {
            var key = Key(client.Target);
            byte[]? bytes;
            try { bytes = await client.TryGetSmallAsync(key, ct, MaxBytes).ConfigureAwait(false); }
            catch (NekkBackupException ex) when (ex.ErrorId == "NekkBackup." + Reasons.CloudManifestInvalid)
            {
                observer.Message(RunMessageLevel.Warning, $"Ignored the prune record '{key}': {ex.Message}");
                return (null, true);
            }
            if (bytes == null) return (null, false);
            var problem = Parse(bytes, key, out var mark);
            if (problem == null) return (mark, true);
            observer.Message(RunMessageLevel.Warning, $"Ignored the prune record '{key}' ({problem}); it is replaced by this prune's own.");
            return (null, true);
        }

        /// <summary>Null when the document is a mark this version reads; else what is wrong. A newer major is refused (thrown).</summary>
        internal static string? Parse(byte[] bytes, string key, out PruneMark? mark)
        {
            mark = null;
            try
            {
                using (var doc = JsonDocument.Parse(bytes))
                    Primitives.FormatVersion.Check(doc.RootElement, $"The prune record '{key}'", Version, key);
                mark = JsonSerializer.Deserialize<PruneMark>(bytes, Options);
            }
            catch (JsonException ex) { return "not valid JSON: " + ex.Message; }
            catch (NekkBackupException ex) when (ex.ErrorId == "NekkBackup.FormatVersionMissing") { return ex.Message; }
            if (mark == null || mark.Format != FormatName) return $"its format is not {FormatName}";
            if (!SafeName.IsSafe(mark.PruneId)) return "its pruneId is not a safe name";
            if (mark.Runs == null) return "it has no runs list";
            foreach (var r in mark.Runs)
                if (!SafeName.IsSafe(r)) return $"it names {StoredCheck.Quote(r)}, which cannot be a run id";
            return null;
        }

        public Task WriteAsync(CloudClient client, CancellationToken ct) =>
            client.PutSmallAsync(Key(client.Target), JsonSerializer.SerializeToUtf8Bytes(this, Options), "application/json", ct);
    }
}
