using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Folder;
using NekkBackup.Core.Primitives;

namespace NekkBackup.Core.Validation
{
    /// <summary>
    /// What a folder destination's catalog (<c>.nekkbackup/</c>: format.json, runs/*.json, journal/*.jsonl, locks) must
    /// look like before the folder engine uses it. Both format.json and run manifests carry <c>formatVersion</c> (files
    /// from 0.1.0 carry only the older field: <c>version</c>, <c>Format</c>); a newer major is refused with
    /// <c>NekkBackup.UnsupportedFormatVersion</c> before anything else in the document is trusted. A run manifest is checked in two tiers: its header (RunId equal to
    /// the file name, counts in range, lists present) is the whole document — damage there is one terminating
    /// <c>NekkBackup.CorruptCatalog</c>; its entries are items — a damaged, unsafe or repeated entry is an error for that
    /// item alone (CorruptCatalog or UnsafePath) and every other entry goes on.
    /// </summary>
    internal static class FolderRules
    {
        public const long MaxSmallFile = 1 << 20;
        public const long MaxManifestBytes = 32L << 30;
        public const long MaxJournalBytes = 4L << 30;
        public const int MaxEntries = 100_000_000;
        public const long MaxFileSize = 1L << 52;
        public const int MaxLinkTarget = 4096;

        public static StoredCheck Manifest(string file) => new(file, Reasons.CorruptCatalog, "the run manifest");

        public static void CheckHeader(RunHeader h, string runId, StoredCheck c)
        {
            Version(h.FormatVersionValue, h.Format, "Format", c);
            c.Name(h.RunId, "RunId");
            c.Equal(h.RunId, runId, "RunId", "a manifest is named after its run");
            c.Strings(h.Sources, "Sources", 100_000);
            c.Strings(h.SourceNames, "SourceNames", 100_000, 1024);
            c.OptionalText(h.SnapshotUsed, "SnapshotUsed");
            c.Text(h.Status, "Status", 64);
            c.Range(h.FilesScanned, 0, long.MaxValue, "FilesScanned");
            c.Range(h.FilesCopied, 0, long.MaxValue, "FilesCopied");
            c.Range(h.FilesVersioned, 0, long.MaxValue, "FilesVersioned");
            c.Range(h.FilesDeleted, 0, long.MaxValue, "FilesDeleted");
            c.Range(h.BytesCopied, 0, long.MaxValue, "BytesCopied");
            c.Range(h.Errors, 0, int.MaxValue, "Errors");
        }

        public static void CheckManifest(RunManifest m, string runId, StoredCheck c)
        {
            CheckHeader(m, runId, c);
            if (!string.IsNullOrEmpty(m.Host)) c.Name(m.Host, "Host");
            if (m.Entries == null) throw c.Error("Entries", "is missing (null)");
            if (m.Entries.Count > MaxEntries) throw c.Error("Entries", $"holds {m.Entries.Count} entries (at most {MaxEntries})");
        }

        /// <summary>Null when the entry is usable, else the item error (UnsafePath for a path that would leave its root).</summary>
        public static NekkBackupException? EntryProblem(ManifestEntry? e, string field, StoredCheck c)
        {
            try
            {
                if (e == null) throw c.Error(field, "is null");
                c.Relative(e.Path, field + ".p");
                if (e.Kind != null && e.Kind != "d") throw c.Error(field + ".k", $"is {StoredCheck.Quote(e.Kind)}; an entry is a file (no k), a link (l) or a folder (k = 'd')");
                if (e.Kind != null && e.Link != null) throw c.Error(field + ".l", "is set on a folder entry");
                c.Range(e.MTime, 0, DateTime.MaxValue.Ticks, field + ".m");
                if (e.IsLink)
                {
                    if (e.Link!.Length == 0) throw c.Error(field + ".l", "is an empty link target");
                    if (e.Link.Length > MaxLinkTarget) throw c.Error(field + ".l", $"is {e.Link.Length} characters long (at most {MaxLinkTarget})");
                    if (e.Link.IndexOf('\0') >= 0) throw c.Error(field + ".l", "holds a NUL character");
                }
                else if (e.IsFile)
                {
                    c.Range(e.Size, 0, MaxFileSize, field + ".s");
                    c.Hash(e.Hash, field + ".h");
                }
                return null;
            }
            catch (NekkBackupException ex)
            {
                return ex;
            }
        }

        /// <summary>
        /// The usable entries of a manifest and the problem of every other one. A path listed more than once is one
        /// problem and none of its copies is used (which copy would be right?).
        /// </summary>
        public static (List<ManifestEntry> Good, List<(string Item, NekkBackupException Error)> Bad) Sort(IReadOnlyList<ManifestEntry?> entries, StoredCheck c)
        {
            var good = new List<ManifestEntry>(entries.Count);
            var bad = new List<(string, NekkBackupException)>();
            var count = new Dictionary<string, int>(RecordedPath.Comparer);
            for (int i = 0; i < entries.Count; i++)
            {
                var e = entries[i];
                var err = EntryProblem(e, $"Entries[{i}]", c);
                if (err != null) { bad.Add((Item(e, i), err)); continue; }
                count[e!.Path] = count.TryGetValue(e.Path, out var n) ? n + 1 : 1;
                good.Add(e);
            }
            if (count.Count == good.Count) return (good, bad);
            var reported = new HashSet<string>(RecordedPath.Comparer);
            var unique = new List<ManifestEntry>(count.Count);
            foreach (var e in good)
            {
                int n = count[e.Path];
                if (n == 1) { unique.Add(e); continue; }
                if (reported.Add(e.Path))
                    bad.Add((e.Path, c.Error("Entries", $"lists '{e.Path}' {n} times (a path is recorded once; none of the copies is used)")));
            }
            return (unique, bad);
        }

        private static string Item(ManifestEntry? e, int i) =>
            e != null && !string.IsNullOrEmpty(e.Path) && e.Path.IndexOf('\0') < 0 ? e.Path : $"Entries[{i}]";

        /// <summary>format.json: {"formatVersion": n, "format": "nekkbackup-folder", "version": n (0.1.0's field), …}.</summary>
        public static (string Format, FormatVersion Version) CheckFormat(byte[] json, string file)
        {
            var c = new StoredCheck(file, Reasons.CorruptCatalog, "the format file");
            var o = StoredJson.ParseObject(json, c);
            JsonElement? v = o.TryGetProperty(FormatVersion.PropertyName, out var fv) && fv.ValueKind != JsonValueKind.Null ? fv : null;
            var version = Version(v, v == null ? StoredJson.Int(o, "version", c) ?? 0 : 0, "version", c);
            var name = StoredJson.String(o, "format", c) ?? throw c.Error("format", "is missing");
            return (name, version);
        }

        /// <summary>
        /// The version a document declares (<c>formatVersion</c>, else 0.1.0's <paramref name="legacyName"/>): damage when
        /// missing or unreadable, NekkBackup.UnsupportedFormatVersion when its major is newer than this version reads.
        /// </summary>
        public static FormatVersion Version(JsonElement? formatVersion, int legacy, string legacyName, StoredCheck c)
        {
            FormatVersion v;
            if (formatVersion is JsonElement e)
            {
                if (!FormatVersion.TryParse(e, out v) || v.Major < 1) throw c.Error(FormatVersion.PropertyName, $"is {e.GetRawText()}, not a version (a whole number or \"major.minor\")");
            }
            else if (legacy >= 1) v = new FormatVersion(legacy);
            else throw c.Error(legacyName, legacy == 0 ? "is missing (and so is formatVersion)" : $"is {legacy}, not a version");
            FormatVersion.Check(v, Document(c), FolderRepository.Version, c.Source);
            return v;
        }

        private static bool TryParseText(string? text, out FormatVersion v)
        {
            v = default;
            var parts = (text ?? "").Split('.');
            int minor = 0;
            if (parts.Length > 2 || !int.TryParse(parts[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var major)
                || (parts.Length == 2 && !int.TryParse(parts[1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out minor))) return false;
            v = new FormatVersion(major, minor);
            return true;
        }

        private static string Document(StoredCheck c) => $"{char.ToUpperInvariant(c.What[0])}{c.What.Substring(1)} '{c.Source}'";

        /// <summary>
        /// After a manifest failed to parse: refuses it as a newer format when the start of the document says so (this
        /// version writes <c>formatVersion</c> first), so a newer layout is not reported as damage. Returns when it is not.
        /// </summary>
        public static void RefuseNewer(Stream json, StoredCheck c)
        {
            var prefix = new byte[64 * 1024];
            int got = 0, n;
            try
            {
                json.Position = 0;
                while (got < prefix.Length && (n = json.Read(prefix, got, prefix.Length - got)) > 0) got += n;
            }
            catch (IOException) { return; }
            var reader = new Utf8JsonReader(new ReadOnlySpan<byte>(prefix, 0, got), isFinalBlock: got < prefix.Length, state: default);
            try
            {
                while (reader.Read())
                {
                    if (reader.TokenType != JsonTokenType.PropertyName || reader.CurrentDepth != 1) continue;
                    bool current = reader.ValueTextEquals(FormatVersion.PropertyName);
                    bool legacy = reader.ValueTextEquals("Format");
                    if (!current && !legacy) { if (!reader.TrySkip()) return; continue; }
                    if (!reader.Read()) return;
                    FormatVersion v;
                    if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var major) && major >= 0) v = new FormatVersion(major);
                    else if (reader.TokenType != JsonTokenType.String || !TryParseText(reader.GetString(), out v)) return;
                    FormatVersion.Check(v, Document(c), FolderRepository.Version, c.Source);
                    return;
                }
            }
            catch (JsonException) { }
            catch (InvalidOperationException) { }
        }
    }
}
