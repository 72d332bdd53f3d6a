using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;

namespace NekkBackup.Core.Plans
{
    /// <summary>A running process that matched a DAW pattern.</summary>
    public sealed class DawProcess
    {
        public int Id { get; init; }
        /// <summary>The executable's name without extension (what the pattern matched).</summary>
        public string Name { get; init; } = "";
        public string Pattern { get; init; } = "";
        public string? ExecutablePath { get; init; }

        public override string ToString() => $"{Name} (pid {Id})";
    }

    /// <summary>
    /// Finds running DAWs (PRODUCT.md §3.7): patterns are case-insensitive wildcards (* and ?) matched against
    /// the executable's name without extension. Linux reads /proc/PID/exe (comm is cut at 15 characters);
    /// Windows and macOS use the process name, which is the executable name without extension.
    /// </summary>
    public static class DawDetector
    {
        public static Regex ToRegex(string pattern)
        {
            var sb = new StringBuilder("^");
            foreach (var c in pattern.Trim())
            {
                if (c == '*') sb.Append(".*");
                else if (c == '?') sb.Append('.');
                else sb.Append(Regex.Escape(c.ToString()));
            }
            sb.Append('$');
            return new Regex(sb.ToString(), RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
        }

        public static string? Match(string executableName, IEnumerable<string> patterns)
        {
            foreach (var p in patterns)
                if (!string.IsNullOrWhiteSpace(p) && ToRegex(p).IsMatch(executableName)) return p;
            return null;
        }

        /// <summary>The executable name without extension: "ProTools.exe" → "ProTools", "/opt/REAPER/reaper" → "reaper".</summary>
        public static string NameWithoutExtension(string pathOrName)
        {
            var leaf = pathOrName;
            int slash = Math.Max(leaf.LastIndexOf('/'), leaf.LastIndexOf('\\'));
            if (slash >= 0) leaf = leaf.Substring(slash + 1);
            const string deleted = " (deleted)";
            if (leaf.EndsWith(deleted, StringComparison.Ordinal)) leaf = leaf.Substring(0, leaf.Length - deleted.Length);
            int dot = leaf.LastIndexOf('.');
            // Only a real extension (1-4 letters, as .exe/.app); "Studio One 6" or "python3.11" keep their name.
            if (dot > 0 && leaf.Length - dot - 1 is >= 1 and <= 4 && leaf.Substring(dot + 1).All(char.IsLetter))
                leaf = leaf.Substring(0, dot);
            return leaf;
        }

        public static IReadOnlyList<DawProcess> FindRunning(IReadOnlyList<string> patterns)
        {
            var found = new List<DawProcess>();
            if (patterns == null || patterns.Count == 0) return found;
            if (OperatingSystemInfo.IsLinux && Directory.Exists("/proc"))
            {
                foreach (var dir in Directory.EnumerateDirectories("/proc"))
                {
                    var leaf = Path.GetFileName(dir);
                    if (!int.TryParse(leaf, out var pid)) continue;
                    var exe = LinuxExecutable(pid);
                    if (exe == null) continue;
                    var name = NameWithoutExtension(exe);
                    var hit = Match(name, patterns);
                    if (hit != null) found.Add(new DawProcess { Id = pid, Name = name, Pattern = hit, ExecutablePath = exe });
                }
                return found;
            }
            foreach (var p in Process.GetProcesses())
            {
                using (p)
                {
                    string name;
                    try { name = p.ProcessName; }
                    catch (InvalidOperationException) { continue; }
                    var hit = Match(NameWithoutExtension(name), patterns);
                    if (hit != null) found.Add(new DawProcess { Id = p.Id, Name = name, Pattern = hit });
                }
            }
            return found;
        }

        /// <summary>
        /// The full executable path of a Linux process: readlink /proc/PID/exe; when that is not readable (another
        /// user's process without CAP_SYS_PTRACE, kernel threads) argv[0] from /proc/PID/cmdline; never comm.
        /// </summary>
        public static string? LinuxExecutable(int pid)
        {
            try
            {
#if NET
                var target = new FileInfo($"/proc/{pid}/exe").LinkTarget;
                if (!string.IsNullOrEmpty(target)) return target;
#endif
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException) { }
            try
            {
                var cmd = File.ReadAllText($"/proc/{pid}/cmdline");
                int nul = cmd.IndexOf('\0');
                var argv0 = nul >= 0 ? cmd.Substring(0, nul) : cmd;
                return string.IsNullOrEmpty(argv0) ? null : argv0;
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException) { return null; }
        }
    }
}
