using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using NekkBackup.Core.Sources;

namespace NekkBackup.Core.Cloud
{
    /// <summary>Audio a DAW session references, resolved against the session's folder (PRODUCT.md §3.7).</summary>
    public sealed class SessionMediaReference
    {
        public string Session { get; init; } = "";
        public string Referenced { get; init; } = "";
        public string ResolvedPath { get; init; } = "";
        public bool Exists { get; init; }
        public bool OutsideFolder { get; init; }
    }

    /// <summary>
    /// Reads REAPER .rpp (text: FILE "…" lines inside SOURCE blocks) and Ableton .als (gzipped XML:
    /// FileRef/Path Value="…", or RelativePath for older sets) and reports referenced media that lies outside
    /// the project folder, or is missing. Sessions are found with the one <see cref="SourceWalker"/> (links not followed).
    /// </summary>
    public static class SessionMedia
    {
        private static readonly Regex RppFile = new(@"^\s*FILE\s+(?:""([^""]*)""|(\S+))", RegexOptions.Multiline | RegexOptions.CultureInvariant);
        private static readonly Regex AlsPath = new(@"<Path\s+Value=""([^""]*)""", RegexOptions.CultureInvariant);
        private static readonly Regex AlsRelative = new(@"<RelativePath\s+Value=""([^""]*)""", RegexOptions.CultureInvariant);

        public static IReadOnlyList<SessionMediaReference> Scan(string projectDir)
        {
            var root = Path.GetFullPath(projectDir).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
            var result = new List<SessionMediaReference>();
            // The one walker: links are not followed out of the project, a folder that cannot be listed is passed over.
            var sessions = new SourceWalker(new WalkOptions { Links = LinkPolicy.Record })
                .Walk(projectDir, CancellationToken.None).Where(e => e.IsFile).Select(e => e.FullPath);
            foreach (var file in sessions)
            {
                var ext = Path.GetExtension(file).ToLowerInvariant();
                if (ext != ".rpp" && ext != ".als") continue;
                IEnumerable<string> refs;
                try
                {
                    refs = ext == ".rpp" ? ReadRpp(file) : ReadAls(file);
                }
                catch (Exception ex) when (ex is IOException or InvalidDataException or UnauthorizedAccessException)
                {
                    continue;
                }
                var dir = Path.GetDirectoryName(file)!;
                foreach (var r in refs.Where(r => r.Length > 0).Distinct())
                {
                    var norm = r.Replace('\\', Path.DirectorySeparatorChar).Replace('/', Path.DirectorySeparatorChar);
                    bool windowsAbs = r.Length > 2 && r[1] == ':' && (r[2] == '\\' || r[2] == '/');
                    string resolved = windowsAbs && !OperatingSystemInfo.IsWindows ? r : Path.GetFullPath(Path.Combine(dir, norm));
                    bool exists = File.Exists(resolved);
                    bool outside = !resolved.StartsWith(root, OperatingSystemInfo.IsWindows ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);
                    result.Add(new SessionMediaReference { Session = file, Referenced = r, ResolvedPath = resolved, Exists = exists, OutsideFolder = outside });
                }
            }
            return result;
        }

        private static IEnumerable<string> ReadRpp(string file)
        {
            var text = File.ReadAllText(file);
            return RppFile.Matches(text).Cast<Match>().Select(m => m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value);
        }

        private static IEnumerable<string> ReadAls(string file)
        {
            using var fs = File.OpenRead(file);
            using var gz = new GZipStream(fs, CompressionMode.Decompress);
            using var reader = new StreamReader(gz, Encoding.UTF8);
            var xml = reader.ReadToEnd();
            var abs = AlsPath.Matches(xml).Cast<Match>().Select(m => m.Groups[1].Value).ToList();
            return abs.Count > 0 ? abs : AlsRelative.Matches(xml).Cast<Match>().Select(m => m.Groups[1].Value).ToList();
        }
    }
}
