using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace NekkBackup.Core.Plans
{
    /// <summary>
    /// Which storage a path lives on, to tell whether two destinations share a volume/share. Windows and any UNC
    /// path: the share root (\\server\share) or the drive root, case-insensitive. Linux: the mount holding the path
    /// (device id major:minor and mount point from /proc/self/mountinfo, the st_dev the kernel reports).
    /// </summary>
    public sealed class VolumeIdentity
    {
        public string Key { get; init; } = "";
        public string Description { get; init; } = "";

        public static VolumeIdentity Of(string path)
        {
            var unc = UncRoot(path);
            if (unc != null) return new VolumeIdentity { Key = "unc:" + unc.ToLowerInvariant(), Description = unc };
            if (OperatingSystemInfo.IsWindows || (path.Length >= 2 && path[1] == ':'))
            {
                var root = (Path.GetPathRoot(path) ?? path).ToUpperInvariant();
                return new VolumeIdentity { Key = "drive:" + root, Description = root };
            }
            if (OperatingSystemInfo.IsLinux)
            {
                var existing = NearestExisting(path);
                var mount = MountOf(existing, ReadMountInfo());
                if (mount != null)
                    return new VolumeIdentity { Key = "dev:" + mount.Value.Device, Description = $"{mount.Value.MountPoint} (device {mount.Value.Device}, {mount.Value.FsType})" };
            }
            return new VolumeIdentity { Key = "root:" + (Path.GetPathRoot(path) ?? "/"), Description = Path.GetPathRoot(path) ?? "/" };
        }

        /// <summary>
        /// \\server\share of a UNC path (either slash, and the long form \\?\UNC\server\share: the same share, review W8),
        /// or null.
        /// </summary>
        public static string? UncRoot(string path) => PathIdentity.UncShare(path);

        private static string NearestExisting(string path)
        {
            var p = Path.GetFullPath(path);
            while (!Directory.Exists(p) && !File.Exists(p))
            {
                var parent = Path.GetDirectoryName(p);
                if (parent == null) break;
                p = parent;
            }
#if NET
            try
            {
                // Resolve symlinked folders so the mount that really holds the data is found.
                var info = new DirectoryInfo(p);
                if (info.LinkTarget != null) p = info.ResolveLinkTarget(true)?.FullName ?? p;
            }
            catch (IOException) { }
#endif
            return p;
        }

        public readonly struct MountEntry
        {
            public MountEntry(string device, string mountPoint, string fsType)
            {
                Device = device;
                MountPoint = mountPoint;
                FsType = fsType;
            }

            public string Device { get; }
            public string MountPoint { get; }
            public string FsType { get; }
        }

        /// <summary>Parses /proc/self/mountinfo (proc(5)): field 3 major:minor, field 5 mount point, after " - " the fs type.</summary>
        public static List<MountEntry> ParseMountInfo(IEnumerable<string> lines)
        {
            var list = new List<MountEntry>();
            foreach (var line in lines)
            {
                var sep = line.IndexOf(" - ", StringComparison.Ordinal);
                if (sep < 0) continue;
                var f = line.Substring(0, sep).Split(' ');
                if (f.Length < 5) continue;
                var fs = line.Substring(sep + 3).Split(' ');
                list.Add(new MountEntry(f[2], Unescape(f[4]), fs.Length > 0 ? fs[0] : ""));
            }
            return list;
        }

        private static List<MountEntry> ReadMountInfo()
        {
            try { return ParseMountInfo(File.ReadAllLines("/proc/self/mountinfo")); }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { return new List<MountEntry>(); }
        }

        /// <summary>The last-mounted entry with the longest mount point that contains the path.</summary>
        public static MountEntry? MountOf(string path, IReadOnlyList<MountEntry> mounts)
        {
            MountEntry? best = null;
            foreach (var m in mounts)
            {
                var mp = m.MountPoint == "/" ? "/" : m.MountPoint.TrimEnd('/');
                bool inside = mp == "/" || path == mp || path.StartsWith(mp + "/", StringComparison.Ordinal);
                if (!inside) continue;
                if (best == null || mp.Length >= best.Value.MountPoint.TrimEnd('/').Length) best = m;
            }
            return best;
        }

        private static string Unescape(string s) =>
            s.Replace("\\040", " ").Replace("\\011", "\t").Replace("\\012", "\n").Replace("\\134", "\\");
    }
}
