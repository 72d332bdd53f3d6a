using System;
using System.Collections.Generic;
using System.Text.Json;
using NekkBackup.Core.Cloud;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Validation
{
    /// <summary>
    /// What a bucket's manifests must look like before the cloud engines use them. A run manifest
    /// (&lt;host&gt;/manifests/&lt;RunId&gt;.json) and an archive manifest are checked in two tiers: the document
    /// (format, ids that are safe names and match their key, lists present) is one terminating
    /// <c>NekkBackup.CloudManifestInvalid</c>; each file entry is an item (a path that would leave the target is
    /// UnsafePath, a hash that is not 64 hex digits or an object key other than this host's data/&lt;sha256&gt; is
    /// CloudManifestInvalid) and the others go on. The LATEST pointer is used only when it holds a safe run id.
    /// </summary>
    internal static class CloudRules
    {
        public const long MaxManifestBytes = 1L << 30;
        public const int MaxFiles = 50_000_000;
        public const long MaxFileSize = 1L << 52;

        internal static StoredCheck Check(string key, string what = "the cloud manifest") => new(key, Reasons.CloudManifestInvalid, what);

        public static CloudManifest ParseManifest(byte[] json, string key, string? expectedRunId)
        {
            var c = Check(key);
            CheckVersion(json, c, CloudManifest.Version, $"The cloud manifest '{key}'", key);
            var m = StoredJson.Parse<CloudManifest>(json, CloudManifest.SerializerOptions, c);
            if (m.Format != CloudManifest.FormatName) throw c.Error("format", $"is {StoredCheck.Quote(m.Format)}: this is not a NekkBackup cloud manifest");
            c.Name(m.RunId, "runId");
            if (expectedRunId != null) c.Equal(m.RunId, expectedRunId, "runId", "a manifest is named after its run");
            c.Name(m.Host, "host");
            c.Strings(m.Sources, "sources", 100_000);
            if (m.Encryption != null) c.OneOf(m.Encryption, "encryption", ContentCipher.Name);
            c.Present(m.Files, "files");
            if (m.Files.Count > MaxFiles) throw c.Error("files", $"holds {m.Files.Count} entries (at most {MaxFiles})");
            return m;
        }

        /// <summary>
        /// The usable file entries of a run manifest and the item error of every other one (a path listed more than
        /// once is one error and none of its copies is used).
        /// </summary>
        public static (List<ManifestEntry> Good, List<(string Item, NekkBackupException Error)> Bad) SortFiles(CloudManifest m, CloudTarget target, string key)
        {
            var c = Check(key);
            return Sort(m.Files, c, (e, f) =>
            {
                c.Relative(e.Path, f + ".path");
                if (e.LinkTarget != null)
                {
                    // A recorded link: its target as text (it is recreated, never followed while restoring), no content.
                    c.Text(e.LinkTarget, f + ".link", 4096);
                    c.Equal(e.Hash ?? "", "", f + ".sha256", "a link has no content");
                    c.Equal(e.Key ?? "", "", f + ".key", "a link has no object");
                    return e.Path;
                }
                c.Range(e.Size, 0, MaxFileSize, f + ".size");
                c.Range(e.StoredSize, 0, long.MaxValue, f + ".storedSize");
                c.Hash(e.Hash, f + ".sha256");
                c.Equal(e.Key, target.DataKey(e.Hash), f + ".key", "a file's content is stored under this host's data/<sha256>");
                c.OptionalText(e.StorageClass, f + ".storageClass", 64);
                return e.Path;
            });
        }

        public static ArchiveManifest ParseArchive(byte[] json, string key, CloudTarget target, string? expectedArchiveId)
        {
            var c = Check(key, "the archive manifest");
            var m = StoredJson.Parse<ArchiveManifest>(json, CloudManifest.SerializerOptions, c);
            if (m.Format != ArchiveManifest.FormatName) throw c.Error("format", $"is {StoredCheck.Quote(m.Format)}: this is not a NekkBackup archive manifest");
            c.Name(m.ArchiveId, "archiveId");
            if (expectedArchiveId != null) c.Equal(m.ArchiveId, expectedArchiveId, "archiveId", "a manifest is named after its archive");
            c.Name(m.Host, "host");
            c.Text(m.Source, "source");
            c.Equal(m.Key, target.ArchiveKey(m.ArchiveId), "key", "an archive is stored beside its manifest");
            c.Text(m.StorageClass, "storageClass", 64);
            c.Range(m.TarBytes, 0, long.MaxValue, "tarBytes");
            c.Hash(m.TarHash, "tarSha256");
            c.Strings(m.Warnings, "warnings", 100_000);
            c.Present(m.Files, "files");
            if (m.Files.Count > MaxFiles) throw c.Error("files", $"holds {m.Files.Count} entries (at most {MaxFiles})");
            return m;
        }

        /// <summary>
        /// A cloud drill record (&lt;host&gt;/drills/&lt;DrillId&gt;.json): <c>formatVersion</c> first, then the document — its id
        /// is its key's name, host and run id are safe names, status and scope known, counts in range, times present.
        /// Damage is <c>NekkBackup.CloudManifestInvalid</c> naming the key and field; such a record is no evidence.
        /// </summary>
        public static CloudDrillRecord ParseDrill(byte[] json, string key, string expectedDrillId)
        {
            var c = Check(key, "the cloud drill record");
            CheckVersion(json, c, CloudDrillRecord.Version, $"The cloud drill record '{key}'", key);
            var d = StoredJson.Parse<CloudDrillRecord>(json, CloudManifest.SerializerOptions, c);
            if (d.Format != CloudDrillRecord.FormatName) throw c.Error("format", $"is {StoredCheck.Quote(d.Format)}: this is not a NekkBackup cloud drill record");
            c.Name(d.DrillId, "drillId");
            c.Equal(d.DrillId, expectedDrillId, "drillId", "a drill record is named after its drill");
            c.Name(d.Host, "host");
            if (d.Plan.Length > 0) c.Name(d.Plan, "plan");
            c.Name(d.RunId, "runId");
            c.OneOf(d.Status, "status", CloudDrillRecord.Passed, CloudDrillRecord.Failed, CloudDrillRecord.ThawRequested);
            c.OneOf(d.Scope, "scope", "Full", "Sample");
            if (double.IsNaN(d.SamplePercent) || d.SamplePercent < 0 || d.SamplePercent > 100) throw c.Error("samplePercent", $"is {d.SamplePercent}, not 0 to 100");
            c.Range(d.SampleMinBytes, 0, long.MaxValue, "sampleMinBytes");
            if (d.StartedUtc == default) throw c.Error("startedUtc", "is missing");
            if (d.FinishedUtc < d.StartedUtc) throw c.Error("finishedUtc", "is before startedUtc");
            c.Range(d.FilesInRun, 0, MaxFiles, "filesInRun");
            c.Range(d.FilesSelected, 0, d.FilesInRun, "filesSelected");
            c.Range(d.FilesVerified, 0, d.FilesSelected, "filesVerified");
            c.Range(d.BytesInRun, 0, long.MaxValue, "bytesInRun");
            c.Range(d.BytesSelected, 0, d.BytesInRun, "bytesSelected");
            c.Range(d.BytesVerified, 0, d.BytesSelected, "bytesVerified");
            c.Range(d.Errors, 0, long.MaxValue, "errors");
            c.Range(d.ThawRequestedFiles, 0, d.FilesSelected, "thawRequested");
            if (d.ThawTier != null) c.OneOf(d.ThawTier, "thawTier", ColdStorage.Tiers);
            if (d.ExpectedWaitHours is double w && (double.IsNaN(w) || w < 0 || w > 24 * 30)) throw c.Error("expectedWaitHours", $"is {w}, not 0 to 720");
            d.Problems = new List<string>(c.Strings(d.Problems, "problems", CloudDrillRecord.MaxProblems + 1));
            // A passed drill verified everything it selected and found nothing wrong.
            if (d.Status == CloudDrillRecord.Passed && (d.Errors != 0 || d.FilesVerified != d.FilesSelected || d.ThawRequestedFiles != 0 || d.Problems.Count != 0))
                throw c.Error("status", "is Passed, but the counts say otherwise");
            return d;
        }

        /// <summary>The usable files of an archive manifest (inside the tar, safe paths, real hashes) and the error of every other one.</summary>
        public static (List<ArchiveManifestEntry> Good, List<(string Item, NekkBackupException Error)> Bad) SortArchiveFiles(ArchiveManifest m, string key)
        {
            var c = Check(key, "the archive manifest");
            return Sort(m.Files, c, (e, f) =>
            {
                c.Relative(e.Path, f + ".path");
                c.Range(e.Size, 0, m.TarBytes, f + ".size");
                c.Range(e.Offset, 0, m.TarBytes - e.Size, f + ".offset");
                c.Hash(e.Hash, f + ".sha256");
                return e.Path;
            });
        }

        private static (List<T> Good, List<(string, NekkBackupException)> Bad) Sort<T>(IReadOnlyList<T?> items, StoredCheck c, Func<T, string, string> check) where T : class
        {
            var good = new List<T>(items.Count);
            var paths = new List<string>(items.Count);
            var bad = new List<(string, NekkBackupException)>();
            var count = new Dictionary<string, int>(RecordedPath.Comparer);
            for (int i = 0; i < items.Count; i++)
            {
                var f = $"files[{i}]";
                try
                {
                    var e = items[i] ?? throw c.Error(f, "is null");
                    var p = check(e, f);
                    count[p] = count.TryGetValue(p, out var n) ? n + 1 : 1;
                    good.Add(e);
                    paths.Add(p);
                }
                catch (NekkBackupException ex) { bad.Add((f, ex)); }
            }
            if (count.Count == good.Count) return (good, bad);
            var unique = new List<T>(count.Count);
            var reported = new HashSet<string>(RecordedPath.Comparer);
            for (int i = 0; i < good.Count; i++)
            {
                int n = count[paths[i]];
                if (n == 1) unique.Add(good[i]);
                else if (reported.Add(paths[i])) bad.Add((paths[i], c.Error("files", $"lists '{paths[i]}' {n} times (a path is recorded once; none of the copies is used)")));
            }
            return (unique, bad);
        }

        /// <summary>
        /// A <c>formatVersion</c> at the document's top level (written since the storage redesign) is checked before
        /// anything else is read: a newer major is NekkBackup.UnsupportedFormatVersion. Older documents have none.
        /// </summary>
        internal static void CheckVersion(byte[] json, StoredCheck c, Primitives.FormatVersion supported, string document, string key)
        {
            try
            {
                var reader = new Utf8JsonReader(json, new JsonReaderOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 64 });
                if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return; // the parse names the problem
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    bool version = reader.ValueTextEquals(Primitives.FormatVersion.PropertyName);
                    if (!reader.Read()) return;
                    if (!version) { reader.Skip(); continue; }
                    using var value = JsonDocument.ParseValue(ref reader);
                    if (!Primitives.FormatVersion.TryParse(value.RootElement, out var found))
                        throw c.Error(Primitives.FormatVersion.PropertyName, $"is {value.RootElement.GetRawText()}, not a version");
                    Primitives.FormatVersion.Check(found, document, supported, key);
                    return;
                }
            }
            catch (JsonException) { } // the parse names the problem
        }

        /// <summary>A resumable upload's journal entry, or null when it cannot be one (then the upload starts over).</summary>
        internal static JournalEntry? CheckJournal(JournalEntry? j, string file)
        {
            if (j == null) return null;
            var c = new StoredCheck(file, "UploadJournalCorrupt", "the upload journal");
            try
            {
                c.Text(j.Scope, "Scope", 4096, allowEmpty: false);
                c.Text(j.Key, "Key", 1024, allowEmpty: false);
                c.Text(j.UploadId, "UploadId", 4096, allowEmpty: false);
                c.Range(j.TotalSize, 0, long.MaxValue, "TotalSize");
                c.Range(j.PartSize, 1, int.MaxValue, "PartSize");
                c.OptionalText(j.SourcePath, "SourcePath");
                if (j.ContentHash != null) c.Hash(j.ContentHash, "ContentHash");
                if (j.CipherSalt != null && !IsHex(j.CipherSalt, 32)) throw c.Error("CipherSalt", "is not 16 bytes of hex");
                if (j.CipherNonce != null && !IsHex(j.CipherNonce, 2, 64)) throw c.Error("CipherNonce", "is not hex");
                c.List(j.Parts, "Parts", 10_000);
                foreach (var p in j.Parts)
                {
                    c.Range(p.PartNumber, 1, 10_000, "Parts.PartNumber");
                    c.Text(p.ETag, "Parts.ETag", 256);
                    c.Range(p.Size, 0, long.MaxValue, "Parts.Size");
                }
                return j;
            }
            catch (NekkBackupException) { return null; }
        }

        private static bool IsHex(string s, int minLength, int maxLength = -1)
        {
            if (s.Length < minLength || s.Length % 2 != 0 || (maxLength >= 0 ? s.Length > maxLength : s.Length != minLength)) return false;
            foreach (var ch in s) if (!Uri.IsHexDigit(ch)) return false;
            return true;
        }
    }
}
