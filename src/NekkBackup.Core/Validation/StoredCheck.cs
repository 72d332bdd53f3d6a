using System;
using System.Collections.Generic;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Validation
{
    /// <summary>
    /// Checks the values of one document read back from a store (a manifest, a config, a journal line…). Every
    /// violation is a <see cref="NekkBackupException"/> with the document's reason (CorruptCatalog, ManifestCorrupt,
    /// …) that names the file or object key and the field: <c>'…/runs/x.json': field 'RunId' holds a path separator.</c>
    /// Paths that would leave their root are always <c>NekkBackup.UnsafePath</c> (a SecurityError).
    /// </summary>
    internal sealed class StoredCheck
    {
        public StoredCheck(string source, string reason, string what)
        {
            Source = source;
            Reason = reason;
            What = what;
        }

        /// <summary>The file or object key the document was read from.</summary>
        public string Source { get; }

        /// <summary>The error reason of this format's damage (CorruptCatalog, ManifestCorrupt, …).</summary>
        public string Reason { get; }

        /// <summary>What the document is, for messages ("the run manifest").</summary>
        public string What { get; }

        public NekkBackupException Error(string field, string problem, Exception? inner = null) =>
            Damage(Reason, Source, What, field, problem, inner);

        public static NekkBackupException Damage(string reason, string source, string what, string field, string problem, Exception? inner = null)
        {
            var msg = field.Length == 0
                ? $"{Capital(what)} '{source}' {problem}."
                : $"{Capital(what)} '{source}' is damaged: field '{field}' {problem}.";
            return reason == Reasons.UnsafePath
                ? new NekkBackupException(reason, FailureKind.SecurityError, msg, source, inner)
                : Fail.InvalidData(reason, msg, source, inner);
        }

        private static string Capital(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s.Substring(1);

        public T Present<T>(T? value, string field) where T : class =>
            value ?? throw Error(field, "is missing (null)");

        /// <summary>An id or host name: <see cref="SafeName"/>.</summary>
        public string Name(string? value, string field)
        {
            var p = SafeName.Problem(value);
            if (p != null) throw Error(field, p + $" ({Quote(value)})");
            return value!;
        }

        /// <summary>A relative '/' path (UnsafePath when it would leave its root).</summary>
        public string Relative(string? value, string field)
        {
            var p = RecordedPath.Problem(value);
            if (p != null) throw Damage(Reasons.UnsafePath, Source, What, field, p + $" ({Quote(value)})");
            return value!;
        }

        public string Hash(string? value, string field)
        {
            if (!ContentHash.IsSha256Hex(value)) throw Error(field, $"is not a SHA-256 (64 lower-case hex digits) ({Quote(value)})");
            return value!;
        }

        public string HashOrEmpty(string? value, string field) =>
            string.IsNullOrEmpty(value) ? "" : Hash(value, field);

        public long Range(long value, long min, long max, string field)
        {
            if (value < min || value > max) throw Error(field, $"is {value}, outside {min}..{max}");
            return value;
        }

        public int Range(int value, int min, int max, string field)
        {
            if (value < min || value > max) throw Error(field, $"is {value}, outside {min}..{max}");
            return value;
        }

        /// <summary>Free text (a label, a message): present, at most <paramref name="maxLength"/> characters, no NUL.</summary>
        public string Text(string? value, string field, int maxLength = 4096, bool allowEmpty = true)
        {
            if (value == null) throw Error(field, "is missing (null)");
            if (!allowEmpty && value.Length == 0) throw Error(field, "is empty");
            if (value.Length > maxLength) throw Error(field, $"is {value.Length} characters long (at most {maxLength})");
            if (value.IndexOf('\0') >= 0) throw Error(field, "holds a NUL character");
            return value;
        }

        public string? OptionalText(string? value, string field, int maxLength = 4096) =>
            value == null ? null : Text(value, field, maxLength);

        public string OneOf(string? value, string field, params string[] allowed)
        {
            foreach (var a in allowed) if (string.Equals(a, value, StringComparison.Ordinal)) return value!;
            throw Error(field, $"is {Quote(value)}; expected one of {string.Join(", ", allowed)}");
        }

        public void Equal(string? actual, string expected, string field, string why)
        {
            if (!string.Equals(actual, expected, StringComparison.Ordinal)) throw Error(field, $"is {Quote(actual)}, but {why} ('{expected}')");
        }

        public IReadOnlyList<T> List<T>(IReadOnlyList<T>? value, string field, int maxCount) where T : class
        {
            if (value == null) throw Error(field, "is missing (null)");
            if (value.Count > maxCount) throw Error(field, $"holds {value.Count} items (at most {maxCount})");
            for (int i = 0; i < value.Count; i++) if (value[i] == null) throw Error($"{field}[{i}]", "is null");
            return value;
        }

        public string[] Strings(IReadOnlyList<string>? value, string field, int maxCount, int maxLength = 4096)
        {
            List(value, field, maxCount);
            var result = new string[value!.Count];
            for (int i = 0; i < value.Count; i++) result[i] = Text(value[i], $"{field}[{i}]", maxLength);
            return result;
        }

        internal static string Quote(string? v)
        {
            if (v == null) return "null";
            var s = v.Length > 80 ? v.Substring(0, 80) + "…" : v;
            return "'" + s.Replace("\0", "\\0") + "'";
        }
    }

    /// <summary>The error reasons the validation layer raises (NekkBackup.&lt;Reason&gt;).</summary>
    public static class Reasons
    {
        public const string UnsafePath = "UnsafePath";
        public const string CorruptCatalog = "CorruptCatalog";
        /// <summary>Something no backup made sits in a folder destination's mirror (a FIFO or a file where a folder belongs).</summary>
        public const string MirrorDamaged = "MirrorDamaged";
        public const string ManifestCorrupt = "ManifestCorrupt";
        public const string RepositoryCorrupt = "RepositoryCorrupt";
        public const string IndexCorrupt = "IndexCorrupt";
        public const string CloudManifestInvalid = "CloudManifestInvalid";
        public const string InvalidPlan = "InvalidPlan";
        public const string SnapshotStateCorrupt = "SnapshotStateCorrupt";
        public const string StatusCorrupt = "StatusCorrupt";
        public const string HistoryCorrupt = "HistoryCorrupt";
    }
}
