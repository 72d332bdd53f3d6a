using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace NekkBackup.Core.Snapshots
{
    /// <summary>One line of findmnt: the mount that holds a path.</summary>
    public sealed class MountInfo
    {
        public MountInfo(string source, string target, string fsType, string majMin)
        {
            Source = source;
            Target = target;
            FsType = fsType;
            MajMin = majMin;
        }

        /// <summary>Device (for btrfs possibly "/dev/loop0[/subvol]").</summary>
        public string Source { get; }
        public string Target { get; }
        public string FsType { get; }
        /// <summary>"254:0".</summary>
        public string MajMin { get; }
    }

    /// <summary>findmnt / stat helpers shared by the Linux providers (command building + parsing).</summary>
    public static class LinuxMounts
    {
        public static IReadOnlyList<string> FindMountArgs(string path) =>
            new[] { "--noheadings", "--raw", "--output", "SOURCE,TARGET,FSTYPE,MAJ:MIN", "--target", path };

        public static async Task<MountInfo> FindMountAsync(IProcessRunner runner, string path, CancellationToken ct)
        {
            // The real machine: its mount table, without a process (MountTable); a runner a test hands in is asked.
            if (runner is ProcessRunner && MountTable.Find(path) is MountInfo fromTable) return fromTable;
            var r = await runner.RunCheckedAsync("SnapshotToolFailed", "findmnt", FindMountArgs(path), path, ct).ConfigureAwait(false);
            return ParseFindMnt(r.StdOut) ?? throw SnapshotErrors.Unsupported($"findmnt found no mount holding '{path}'.", path);
        }

        /// <summary>Parses `findmnt --raw` output (first line; fields separated by spaces, "\x20"-style escapes).</summary>
        public static MountInfo? ParseFindMnt(string output)
        {
            foreach (var raw in output.Split('\n'))
            {
                var line = raw.Trim();
                if (line.Length == 0) continue;
                var f = line.Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries);
                if (f.Length < 4) continue;
                return new MountInfo(Unescape(f[0]), Unescape(f[1]), Unescape(f[2]), f[3]);
            }
            return null;
        }

        /// <summary>Decodes util-linux raw escapes (\x20 for space, \x5c for backslash…).</summary>
        public static string Unescape(string s)
        {
            if (s.IndexOf("\\x", StringComparison.Ordinal) < 0) return s;
            var bytes = new List<byte>();
            for (int i = 0; i < s.Length; i++)
            {
                if (s[i] == '\\' && i + 3 < s.Length && s[i + 1] == 'x'
                    && byte.TryParse(s.Substring(i + 2, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var b))
                {
                    bytes.Add(b);
                    i += 3;
                }
                else
                {
                    bytes.AddRange(Encoding.UTF8.GetBytes(s[i].ToString()));
                }
            }
            return Encoding.UTF8.GetString(bytes.ToArray());
        }

        /// <summary>
        /// "major:minor" of a block device (symlinks such as /dev/vg/lv or /dev/mapper/x resolved to /dev/dm-N),
        /// read from /sys/class/block/NAME/dev; null when it is not a block device.
        /// </summary>
        public static string? DeviceNumber(string devicePath)
        {
            if (!OperatingSystemInfo.IsLinux) return null;
            try
            {
                var real = System.IO.Path.GetFullPath(devicePath);
#if NET
                var target = new System.IO.FileInfo(real).ResolveLinkTarget(true);
                if (target != null) real = target.FullName;
#endif
                var f = "/sys/class/block/" + System.IO.Path.GetFileName(real) + "/dev";
                return System.IO.File.Exists(f) ? System.IO.File.ReadAllText(f).Trim() : null;
            }
            catch (Exception ex) when (ex is System.IO.IOException || ex is UnauthorizedAccessException)
            {
                return null;
            }
        }

        /// <summary>Path of <paramref name="fullPath"/> relative to <paramref name="root"/> ("" when equal), '/'-separated.</summary>
        public static string RelativeTo(string root, string fullPath)
        {
            root = TrimSlash(root);
            fullPath = TrimSlash(fullPath);
            if (fullPath == root) return "";
            var prefix = root == "/" ? "/" : root + "/";
            if (!fullPath.StartsWith(prefix, StringComparison.Ordinal))
                throw new ArgumentException($"'{fullPath}' is not under '{root}'.");
            return fullPath.Substring(prefix.Length);
        }

        public static string Join(string root, string relative) =>
            relative.Length == 0 ? TrimSlash(root) : TrimSlash(root) + "/" + relative;

        public static string TrimSlash(string p) => p.Length > 1 ? p.TrimEnd('/') : p;

        /// <summary>The path and each of its ancestors up to "/".</summary>
        public static List<string> SelfAndAncestors(string fullPath)
        {
            var list = new List<string>();
            var p = TrimSlash(fullPath);
            while (true)
            {
                list.Add(p);
                if (p == "/") break;
                int i = p.LastIndexOf('/');
                p = i <= 0 ? "/" : p.Substring(0, i);
            }
            return list;
        }
    }
}
