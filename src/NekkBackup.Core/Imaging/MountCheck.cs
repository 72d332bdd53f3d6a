using System;
using System.Collections.Generic;
using System.IO;

namespace NekkBackup.Core.Imaging
{
    /// <summary>
    /// Is a restore target in use? Linux: the device (or one of its partitions) appears in
    /// /proc/self/mountinfo by major:minor or by source path, or is an active swap; an image FILE counts as
    /// mounted when a loop device backed by it is mounted, or a FUSE mount (ntfs-3g) names it as source.
    /// </summary>
    internal static class MountCheck
    {
        /// <summary>Where the target is mounted, or null. Never throws (no /proc = unknown = not mounted).</summary>
        public static string? FindMount(string target)
        {
            if (!OperatingSystemInfo.IsLinux) return null;
            try
            {
                var full = LinuxBlockDevice.RealPath(target);
                var devices = new List<string>(); // device paths (/dev/x) whose mount means "in use"
                if (LinuxBlockDevice.IsBlockDevice(full)) devices.Add(full);
                else devices.AddRange(LoopDevicesBackedBy(full));

                var majmins = new HashSet<string>(StringComparer.Ordinal);
                var names = new HashSet<string>(StringComparer.Ordinal) { full };
                foreach (var dev in new List<string>(devices))
                {
                    names.Add(dev);
                    var mm = LinuxBlockDevice.MajorMinor(dev);
                    if (mm != null) majmins.Add(mm);
                    foreach (var part in Partitions(dev))
                    {
                        names.Add(part);
                        var pm = LinuxBlockDevice.MajorMinor(part);
                        if (pm != null) majmins.Add(pm);
                    }
                }
                return FindInMountInfo(File.ReadAllLines("/proc/self/mountinfo"), majmins, names)
                    ?? FindInSwaps(names);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                return null;
            }
        }

        /// <summary>Whether a file system is mounted exactly at <paramref name="dir"/> (Linux mountinfo; Windows: a volume mount folder is a reparse point).</summary>
        public static bool FindMountAt(string dir)
        {
            try
            {
                if (OperatingSystemInfo.IsLinux)
                {
                    var d = dir.TrimEnd('/');
                    foreach (var line in File.ReadAllLines("/proc/self/mountinfo"))
                    {
                        var f = line.Split(' ');
                        if (f.Length > 4 && Unescape(f[4]) == d) return true;
                    }
                    return false;
                }
                return OperatingSystemInfo.IsWindows && Directory.Exists(dir) && (File.GetAttributes(dir) & FileAttributes.ReparsePoint) != 0;
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException)
            {
                return false;
            }
        }

        /// <summary>Parses mountinfo lines: "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw".</summary>
        internal static string? FindInMountInfo(IEnumerable<string> lines, ICollection<string> majmins, ICollection<string> sources)
        {
            foreach (var line in lines)
            {
                var f = line.Split(' ');
                if (f.Length < 7) continue;
                int dash = Array.IndexOf(f, "-", 6);
                string? source = dash > 0 && dash + 2 < f.Length ? Unescape(f[dash + 2]) : null;
                if (majmins.Contains(f[2]) || (source != null && sources.Contains(source)))
                    return Unescape(f[4]);
            }
            return null;
        }

        private static string? FindInSwaps(ICollection<string> names)
        {
            if (!File.Exists("/proc/swaps")) return null;
            foreach (var line in File.ReadAllLines("/proc/swaps"))
            {
                var first = line.Split(new[] { ' ', '\t' }, StringSplitOptions.RemoveEmptyEntries);
                if (first.Length > 0 && names.Contains(first[0])) return "[swap]";
            }
            return null;
        }

        // mountinfo escapes space, tab, newline and backslash as \040 \011 \012 \134.
        internal static string Unescape(string s) =>
            s.IndexOf('\\') < 0 ? s : s.Replace("\\040", " ").Replace("\\011", "\t").Replace("\\012", "\n").Replace("\\134", "\\");

        internal static IEnumerable<string> LoopDevicesBackedBy(string file)
        {
            if (!Directory.Exists("/sys/class/block")) yield break;
            foreach (var dir in Directory.GetDirectories("/sys/class/block", "loop*"))
            {
                var bf = Path.Combine(dir, "loop", "backing_file");
                string backing;
                try { backing = File.Exists(bf) ? File.ReadAllText(bf).Trim() : ""; } catch (IOException) { continue; }
                if (backing.EndsWith(" (deleted)", StringComparison.Ordinal)) continue;
                if (backing == file) yield return "/dev/" + Path.GetFileName(dir);
            }
        }

        private static IEnumerable<string> Partitions(string device)
        {
            var sys = "/sys/class/block/" + Path.GetFileName(device);
            if (!Directory.Exists(sys)) yield break;
            foreach (var d in Directory.GetDirectories(sys))
                if (File.Exists(Path.Combine(d, "partition"))) yield return "/dev/" + Path.GetFileName(d);
        }
    }
}
