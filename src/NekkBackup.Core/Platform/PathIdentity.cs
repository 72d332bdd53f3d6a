using System;

namespace NekkBackup.Core
{
    /// <summary>
    /// When two paths name the same file (PRODUCT.md §4, "Windows paths"): on Windows names compare
    /// case-insensitively (NTFS and SMB shares preserve case but do not tell "Sessions" from "SESSIONS"), elsewhere
    /// ordinally. The one place that decides it: engines take an instance through their options
    /// (<see cref="Platform"/> by default), so a test runs the Windows rules on Linux with <see cref="Windows"/>.
    /// Relative paths use '/' (as recorded in manifests); the UNC helpers below are platform-neutral.
    /// </summary>
    public sealed class PathIdentity
    {
        private PathIdentity(string name, bool ignoreCase)
        {
            Name = name;
            IgnoreCase = ignoreCase;
            Comparison = ignoreCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
            Comparer = ignoreCase ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal;
        }

        /// <summary>Windows rules: case-insensitive (ordinal, upper-case folding as NTFS does for ASCII and most scripts).</summary>
        public static PathIdentity Windows { get; } = new("Windows", true);

        /// <summary>POSIX rules: byte-for-byte (ordinal).</summary>
        public static PathIdentity Posix { get; } = new("Posix", false);

        /// <summary>The rules of the platform this process runs on.</summary>
        public static PathIdentity Platform { get; } = OperatingSystemInfo.IsWindows ? Windows : Posix;

        public string Name { get; }
        public bool IgnoreCase { get; }
        public StringComparison Comparison { get; }
        /// <summary>For dictionaries and sets keyed by path.</summary>
        public StringComparer Comparer { get; }

        public bool Same(string? a, string? b) => string.Equals(a, b, Comparison);

        /// <summary>True when <paramref name="inner"/> equals <paramref name="outer"/> or lies below it (separator <paramref name="separator"/>).</summary>
        public bool IsSameOrInside(string inner, string outer, char separator)
        {
            if (Same(inner, outer)) return true;
            var o = outer.Length > 0 && outer[outer.Length - 1] == separator ? outer : outer + separator;
            return inner.StartsWith(o, Comparison);
        }

        public override string ToString() => Name;

        /// <summary>
        /// \\server\share of a UNC path in any of its spellings — \\server\share\…, //server/share/…, and the
        /// long form \\?\UNC\server\share\… (also \\.\UNC\…) — or null for anything else (drive paths, device
        /// paths, POSIX paths). Case is kept; compare the result with <see cref="Windows"/> rules.
        /// </summary>
        public static string? UncShare(string path)
        {
            if (string.IsNullOrEmpty(path)) return null;
            var p = path.Replace('/', '\\');
            if (!p.StartsWith(@"\\", StringComparison.Ordinal)) return null;
            string rest;
            if (p.StartsWith(@"\\?\", StringComparison.Ordinal) || p.StartsWith(@"\\.\", StringComparison.Ordinal))
            {
                // Device/long paths: only \\?\UNC\server\share names a share; \\?\C:\, \\?\Volume{…} do not.
                if (!p.StartsWith(@"\\?\UNC\", StringComparison.OrdinalIgnoreCase) && !p.StartsWith(@"\\.\UNC\", StringComparison.OrdinalIgnoreCase)) return null;
                rest = p.Substring(8);
            }
            else rest = p.Substring(2);
            var parts = rest.Split(new[] { '\\' }, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 2 || parts[0] == "?" || parts[0] == ".") return null;
            return $@"\\{parts[0]}\{parts[1]}";
        }
    }
}
