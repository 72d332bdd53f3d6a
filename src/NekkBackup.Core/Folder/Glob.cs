using System;
using System.Collections.Generic;
using System.Text;
using System.Text.RegularExpressions;

namespace NekkBackup.Core.Folder
{
    /// <summary>
    /// Include/exclude globs. A pattern with a '/' matches the whole relative path (or a folder
    /// prefix of it, so "Sessions/Old" covers everything below); a pattern without '/' matches the
    /// file name or any folder name on the way. * = any run within a name, ? = one char, ** = any depth.
    /// </summary>
    internal sealed class GlobSet
    {
        private readonly List<(Regex Re, bool HasSlash)> _patterns = new();

        public GlobSet(IEnumerable<string>? patterns)
        {
            if (patterns == null) return;
            foreach (var raw in patterns)
            {
                if (string.IsNullOrWhiteSpace(raw)) continue;
                var p = raw.Replace('\\', '/').Trim();
                while (p.StartsWith("./", StringComparison.Ordinal)) p = p.Substring(2);
                p = p.TrimStart('/').TrimEnd('/');
                if (p.Length == 0) continue;
                _patterns.Add((ToRegex(p), p.IndexOf('/') >= 0));
            }
        }

        public bool IsEmpty => _patterns.Count == 0;

        public static Regex ToRegex(string glob)
        {
            var sb = new StringBuilder("^");
            for (int i = 0; i < glob.Length; i++)
            {
                char c = glob[i];
                if (c == '*')
                {
                    if (i + 1 < glob.Length && glob[i + 1] == '*')
                    {
                        i++;
                        if (i + 1 < glob.Length && glob[i + 1] == '/') { i++; sb.Append("(?:.*/)?"); }
                        else sb.Append(".*");
                    }
                    else sb.Append("[^/]*");
                }
                else if (c == '?') sb.Append("[^/]");
                else sb.Append(Regex.Escape(c.ToString()));
            }
            sb.Append('$');
            var opts = RegexOptions.CultureInvariant | (OperatingSystemInfo.IsWindows ? RegexOptions.IgnoreCase : RegexOptions.None);
            return new Regex(sb.ToString(), opts);
        }

        /// <summary>True when a pattern matches <paramref name="relPath"/> ('/' separated).</summary>
        public bool Matches(string relPath)
        {
            if (_patterns.Count == 0) return false;
            foreach (var (re, hasSlash) in _patterns)
            {
                if (hasSlash)
                {
                    if (re.IsMatch(relPath)) return true;
                    for (int i = relPath.IndexOf('/'); i > 0; i = relPath.IndexOf('/', i + 1))
                        if (re.IsMatch(relPath.Substring(0, i))) return true;
                }
                else
                {
                    int start = 0;
                    while (true)
                    {
                        int slash = relPath.IndexOf('/', start);
                        var seg = slash < 0 ? relPath.Substring(start) : relPath.Substring(start, slash - start);
                        if (re.IsMatch(seg)) return true;
                        if (slash < 0) break;
                        start = slash + 1;
                    }
                }
            }
            return false;
        }
    }
}
