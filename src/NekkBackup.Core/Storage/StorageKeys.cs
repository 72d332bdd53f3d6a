using System;
using System.Text;

namespace NekkBackup.Core.Storage
{
    /// <summary>
    /// The key grammar every target shares, checked before a store is touched: '/'-separated segments,
    /// none empty, "." or ".."; no backslash, colon (drive letters, NTFS streams), control characters or
    /// unpaired surrogates; not absolute; within the target's length limits and <see cref="KeyNameRules"/>.
    /// A key that passes can never name something outside the target's root.
    /// </summary>
    public static class StorageKeys
    {
        /// <summary>First segment reserved for a local target's in-flight temp files.</summary>
        public const string TempSegment = ".nekk-tmp";

        private static readonly string[] WindowsDevices =
        {
            "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
            "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
        };

        /// <summary>Throws <see cref="TargetException"/> (InvalidKey, permanent) when <paramref name="key"/> breaks the grammar.</summary>
        public static void Validate(string key, TargetCapabilities capabilities)
        {
            var problem = Problem(key, capabilities);
            if (problem != null)
                throw new TargetException(TargetErrorKind.InvalidKey, $"The key '{Printable(key)}' cannot be stored: {problem}.", key);
        }

        /// <summary>Null when <paramref name="key"/> is valid for a target with <paramref name="capabilities"/>, else why not.</summary>
        public static string? Problem(string? key, TargetCapabilities capabilities)
        {
            if (string.IsNullOrEmpty(key)) return "it is empty";
            if (key![0] == '/') return "it is absolute (starts with '/')";
            if (key[key.Length - 1] == '/') return "it ends with '/'";
            if (capabilities.NameRules == KeyNameRules.ObjectStore ? Encoding.UTF8.GetByteCount(key) > capabilities.MaxKeyLength : key.Length > capabilities.MaxKeyLength)
                return $"it is longer than {capabilities.MaxKeyLength} characters";
            for (int i = 0; i < key.Length; i++)
            {
                char c = key[i];
                if (c == '\\') return "it contains a backslash";
                if (c == ':') return "it contains ':' (a drive letter or an NTFS stream)";
                if (c < 0x20 || c == 0x7F) return "it contains a control character";
                if (char.IsHighSurrogate(c))
                {
                    if (i + 1 >= key.Length || !char.IsLowSurrogate(key[i + 1])) return "it contains an unpaired surrogate";
                    i++;
                }
                else if (char.IsLowSurrogate(c)) return "it contains an unpaired surrogate";
            }
            var segments = key.Split('/');
            if (string.Equals(segments[0], TempSegment, StringComparison.OrdinalIgnoreCase)) return $"'{TempSegment}' is reserved";
            foreach (var s in segments)
            {
                if (s.Length == 0) return "it has an empty segment ('//')";
                if (s == "." || s == "..") return "it has a '.' or '..' segment";
                int length = capabilities.NameRules == KeyNameRules.Posix ? Encoding.UTF8.GetByteCount(s) : s.Length;
                if (length > capabilities.MaxSegmentLength) return $"the segment '{s}' is longer than {capabilities.MaxSegmentLength}";
                if (capabilities.NameRules == KeyNameRules.Windows)
                {
                    var w = WindowsProblem(s);
                    if (w != null) return w;
                }
            }
            return null;
        }

        private static string? WindowsProblem(string segment)
        {
            if (segment.IndexOfAny(new[] { '<', '>', '"', '|', '?', '*' }) >= 0) return $"the segment '{segment}' holds a character Windows forbids (< > \" | ? *)";
            char last = segment[segment.Length - 1];
            if (last == '.' || last == ' ') return $"the segment '{segment}' ends with a dot or a space, which Windows drops";
            int dot = segment.IndexOf('.');
            var stem = (dot < 0 ? segment : segment.Substring(0, dot)).TrimEnd(' ');
            foreach (var d in WindowsDevices)
                if (string.Equals(stem, d, StringComparison.OrdinalIgnoreCase)) return $"'{segment}' is a reserved Windows device name";
            return null;
        }

        /// <summary>
        /// Validates a listing prefix: "" (everything), a folder ("images/") or a partial key ("images/2024").
        /// </summary>
        public static void ValidatePrefix(string prefix, TargetCapabilities capabilities)
        {
            if (prefix == null) throw new ArgumentNullException(nameof(prefix));
            if (prefix.Length == 0) return;
            var probe = prefix[prefix.Length - 1] == '/' ? prefix.Substring(0, prefix.Length - 1) : prefix;
            // A partial last segment may legitimately end in '.' (e.g. "run."), so only the grammar is checked.
            var problem = Problem(probe, capabilities with { NameRules = KeyNameRules.ObjectStore, MaxKeyLength = int.MaxValue, MaxSegmentLength = int.MaxValue });
            if (problem != null)
                throw new TargetException(TargetErrorKind.InvalidKey, $"The prefix '{Printable(prefix)}' cannot be listed: {problem}.", prefix);
        }

        /// <summary>Joins segments with '/' (no validation; call <see cref="Validate"/> on the result).</summary>
        public static string Join(params string[] segments) => string.Join("/", segments);

        /// <summary>The key with control characters escaped, safe to print in a message.</summary>
        public static string Printable(string? key)
        {
            if (key == null) return "(null)";
            var sb = new StringBuilder(key.Length);
            foreach (var c in key) sb.Append(c < 0x20 || c == 0x7F ? $"\\x{(int)c:x2}" : c.ToString());
            return sb.ToString();
        }
    }
}
