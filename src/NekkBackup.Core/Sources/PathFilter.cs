using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;

namespace NekkBackup.Core.Sources
{
    /// <summary>
    /// A set of globs on '/'-separated relative paths. A pattern with a '/' matches the whole relative path (or a
    /// folder prefix of it, so "Sessions/Old" covers everything below); a pattern without '/' matches the file name
    /// or any folder name on the way. * = any run within a name, ? = one character, ** = any depth. Letter case
    /// follows the <see cref="PathIdentity"/> (case-insensitive with Windows rules).
    /// </summary>
    public sealed class GlobSet
    {
        private readonly List<(Regex Re, bool HasSlash)> _patterns = new();

        public GlobSet(IEnumerable<string>? patterns, PathIdentity? identity = null)
        {
            var id = identity ?? PathIdentity.Platform;
            if (patterns == null) return;
            foreach (var raw in patterns)
            {
                var p = Normalize(raw);
                if (p.Length == 0) continue;
                _patterns.Add((ToRegex(p, id), p.IndexOf('/') >= 0));
            }
        }

        public bool IsEmpty => _patterns.Count == 0;

        /// <summary>A user's pattern as it is matched: '\' read as '/', trimmed, no "./" or leading/trailing '/'; "" when nothing is left.</summary>
        public static string Normalize(string? raw)
        {
            if (string.IsNullOrWhiteSpace(raw)) return "";
            var p = raw!.Replace('\\', '/').Trim();
            while (p.StartsWith("./", StringComparison.Ordinal)) p = p.Substring(2);
            return p.TrimStart('/').TrimEnd('/');
        }

        internal static Regex ToRegex(string glob, PathIdentity identity)
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
            var opts = RegexOptions.CultureInvariant | (identity.IgnoreCase ? RegexOptions.IgnoreCase : RegexOptions.None);
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

    public enum FilterAction
    {
        /// <summary>Only files (and links) matching some include rule are selected; folders are still entered.</summary>
        Include,

        /// <summary>Anything matching an exclude rule is left out, a folder with everything below it.</summary>
        Exclude,
    }

    /// <summary>One rule of a <see cref="PathFilter"/>: data, so a plan, a cmdlet and a test state the same thing.</summary>
    public sealed record FilterRule(FilterAction Action, string Pattern)
    {
        public override string ToString() => (Action == FilterAction.Include ? "+ " : "- ") + Pattern;
    }

    /// <summary>
    /// Include/exclude selection of relative paths (the one filter every leg uses; rclone's filter is the model, with
    /// the rule NekkBackup has always had: an exclude wins over any include, whatever the order). With no include rule
    /// everything not excluded is selected; with include rules a file or link is selected only when one matches.
    /// </summary>
    public sealed class PathFilter
    {
        /// <summary>Selects everything.</summary>
        public static PathFilter None { get; } = new(Array.Empty<FilterRule>());

        private readonly GlobSet _include;
        private readonly GlobSet _exclude;

        public PathFilter(IEnumerable<FilterRule> rules, PathIdentity? identity = null)
        {
            Identity = identity ?? PathIdentity.Platform;
            var list = new List<FilterRule>();
            foreach (var r in rules ?? throw new ArgumentNullException(nameof(rules)))
            {
                var p = GlobSet.Normalize(r.Pattern);
                if (p.Length > 0) list.Add(new FilterRule(r.Action, p));
            }
            Rules = list;
            _include = new GlobSet(list.Where(r => r.Action == FilterAction.Include).Select(r => r.Pattern), Identity);
            _exclude = new GlobSet(list.Where(r => r.Action == FilterAction.Exclude).Select(r => r.Pattern), Identity);
        }

        /// <summary>The filter of a cmdlet's or a plan's -Include / -Exclude lists (null or empty: no rule).</summary>
        public static PathFilter From(IEnumerable<string>? include, IEnumerable<string>? exclude, PathIdentity? identity = null) =>
            new((include ?? Array.Empty<string>()).Select(p => new FilterRule(FilterAction.Include, p))
                .Concat((exclude ?? Array.Empty<string>()).Select(p => new FilterRule(FilterAction.Exclude, p))), identity);

        /// <summary>The rules, normalised (empty patterns dropped).</summary>
        public IReadOnlyList<FilterRule> Rules { get; }

        public PathIdentity Identity { get; }

        public bool HasIncludes => !_include.IsEmpty;

        /// <summary>True when an exclude rule matches <paramref name="relPath"/> (or a folder on its way).</summary>
        public bool IsExcluded(string relPath) => _exclude.Matches(relPath);

        /// <summary>True when there is no include rule, or one matches <paramref name="relPath"/>.</summary>
        public bool IsIncluded(string relPath) => _include.IsEmpty || _include.Matches(relPath);

        /// <summary>Whether a file or link at <paramref name="relPath"/> is backed up.</summary>
        public bool Selects(string relPath) => !IsExcluded(relPath) && IsIncluded(relPath);

        public override string ToString() => Rules.Count == 0 ? "(everything)" : string.Join(", ", Rules);
    }
}
