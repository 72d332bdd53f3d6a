using System;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;

namespace NekkBackup.Core.Snapshots
{
    /// <summary>
    /// The mount holding a path, read from /proc/self/mountinfo (proc(5)) instead of spawning findmnt: the snapshot
    /// providers ask on every run, and on a small run the processes cost more than the work. Answers what
    /// `findmnt --target` does (the path's real path; the last mount on the longest mount point that holds it; a source
    /// shown as "device[root]" when the mount is not of its file system's root, as for a btrfs subvolume or a bind
    /// mount). Null when it cannot tell; the caller then asks findmnt.
    /// </summary>
    public static class MountTable
    {
        public const string MountInfoPath = "/proc/self/mountinfo";

        /// <summary>The mount holding <paramref name="path"/> on this Linux machine, or null.</summary>
        public static MountInfo? Find(string path)
        {
            if (!OperatingSystemInfo.IsLinux) return null;
            try
            {
                var real = RealPath(path);
                return real == null ? null : FindIn(File.ReadAllText(MountInfoPath), real);
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is DllNotFoundException || e is EntryPointNotFoundException)
            {
                return null;
            }
        }

        /// <summary>The mount holding <paramref name="realPath"/> (absolute, no links) in a mountinfo text, or null.</summary>
        public static MountInfo? FindIn(string mountInfo, string realPath)
        {
            if (!realPath.StartsWith("/", StringComparison.Ordinal)) return null;
            MountInfo? best = null;
            int bestLength = -1;
            foreach (var raw in mountInfo.Split('\n'))
            {
                // "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue"
                var f = raw.Split(' ');
                if (f.Length < 10) continue;
                int dash = Array.IndexOf(f, "-", 6);
                if (dash < 6 || dash + 2 >= f.Length) continue;
                var target = Unescape(f[4]);
                if (!Holds(target, realPath) || target.Length < bestLength) continue;
                var root = Unescape(f[3]);
                var source = Unescape(f[dash + 2]);
                best = new MountInfo(root == "/" ? source : source + "[" + root + "]", target, Unescape(f[dash + 1]), f[2]);
                bestLength = target.Length; // equal length: a later line is mounted over the earlier one
            }
            return best;
        }

        private static bool Holds(string mountPoint, string path) =>
            mountPoint == "/" || path == mountPoint || path.StartsWith(mountPoint + "/", StringComparison.Ordinal);

        /// <summary>Decodes the kernel's octal escapes (\040 space, \011 tab, \012 newline, \134 backslash).</summary>
        public static string Unescape(string s)
        {
            if (s.IndexOf('\\') < 0) return s;
            var bytes = new System.Collections.Generic.List<byte>(s.Length);
            for (int i = 0; i < s.Length; i++)
            {
                if (s[i] == '\\' && i + 3 < s.Length && IsOctal(s[i + 1]) && IsOctal(s[i + 2]) && IsOctal(s[i + 3]))
                {
                    bytes.Add((byte)(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) | (s[i + 3] - '0')));
                    i += 3;
                }
                else bytes.AddRange(Encoding.UTF8.GetBytes(s[i].ToString()));
            }
            return Encoding.UTF8.GetString(bytes.ToArray());
        }

        private static bool IsOctal(char c) => c >= '0' && c <= '7';

        /// <summary>True when the block device "major:minor" is a device-mapper device (every LVM logical volume is one).</summary>
        public static bool IsDeviceMapper(string majMin) => Directory.Exists("/sys/dev/block/" + majMin + "/dm");

        [DllImport("libc", SetLastError = true, EntryPoint = "realpath")]
        private static extern IntPtr RealPathNative(string path, IntPtr resolved);

        [DllImport("libc", EntryPoint = "free")]
        private static extern void Free(IntPtr p);

        private static string? RealPath(string path)
        {
#if NET
            var p = RealPathNative(path, IntPtr.Zero);
            if (p == IntPtr.Zero) return null;
            try { return Marshal.PtrToStringUTF8(p); }
            finally { Free(p); }
#else
            return null;
#endif
        }
    }
}
