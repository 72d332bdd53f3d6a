using System;

namespace NekkBackup.Core.Validation
{
    /// <summary>
    /// A relative path a store recorded ('/'-separated, e.g. "Sessions/Take 1/kick.wav"): every segment is a real
    /// name — no empty segment, no '.' or '..', no NUL, not rooted, and on Windows no '\' or drive colon — so joined
    /// to its root it stays below the root. Recorded paths may hold anything else a file system allows.
    /// </summary>
    public static class RecordedPath
    {
        public const int MaxLength = 32767;

        /// <summary>How recorded paths compare here: case-insensitively on Windows (one file there), ordinally elsewhere.</summary>
        public static StringComparer Comparer { get; } = OperatingSystemInfo.IsWindows ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal;

        public static bool IsSafe(string? path) => Problem(path) == null;

        public static string? Problem(string? path)
        {
            if (path == null) return "is missing (null)";
            if (path.Length == 0) return "is empty";
            if (path.Length > MaxLength) return $"is {path.Length} characters long";
            if (path[0] == '/' || path[0] == '\\') return "is an absolute path";
            if (path.IndexOf('\0') >= 0) return "holds a NUL character";
            foreach (var s in path.Split('/'))
            {
                if (s.Length == 0) return "has an empty segment";
                if (s == "." || s == "..") return "has a '.' or '..' segment";
                if (OperatingSystemInfo.IsWindows && (s.IndexOf('\\') >= 0 || s.IndexOf(':') >= 0)) return "holds '\\' or ':', which leave the folder on Windows";
            }
            return null;
        }
    }
}
