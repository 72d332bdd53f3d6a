using System;
using System.IO;
using System.Runtime.InteropServices;

namespace NekkBackup.Core.Storage
{
    internal enum LocalEntryKind
    {
        Missing,
        File,
        Directory,
        /// <summary>A symbolic link, junction or other reparse point.</summary>
        Link,
        /// <summary>A FIFO, socket or device: never opened (a FIFO would block a reader forever).</summary>
        Special,
    }

    /// <summary>
    /// Confinement of keys to a local target's root, in one place so the validation layer
    /// (Core/Validation) can take it over: the resolved path must lie under the root, no folder on the way
    /// may be a link, and only a regular file is ever read where an object belongs. Uses lstat semantics
    /// (statx with AT_SYMLINK_NOFOLLOW) on Linux, where .NET reports a FIFO as a plain file.
    /// </summary>
    internal static class LocalPathGuard
    {
        private static readonly StringComparison PathComparison =
            OperatingSystemInfo.IsWindows ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

        /// <summary>The absolute path of a validated key; refuses anything that resolves outside <paramref name="root"/>.</summary>
        public static string Resolve(string root, string key)
        {
            var full = Path.GetFullPath(Path.Combine(root, key.Replace('/', Path.DirectorySeparatorChar)));
            var rootWithSep = root.EndsWith(Path.DirectorySeparatorChar.ToString(), StringComparison.Ordinal) ? root : root + Path.DirectorySeparatorChar;
            if (!full.StartsWith(rootWithSep, PathComparison))
                throw new TargetException(TargetErrorKind.InvalidKey, $"The key '{StorageKeys.Printable(key)}' resolves outside the target folder '{root}'.", key);
            return full;
        }

        /// <summary>Refuses a link, device or file where a folder between the root and <paramref name="full"/> belongs.</summary>
        public static void CheckAncestors(string root, string full, string key)
        {
            var dir = Path.GetDirectoryName(full);
            while (dir != null && dir.Length > root.Length)
            {
                var kind = Probe(dir, out _, out _);
                if (kind == LocalEntryKind.Link || kind == LocalEntryKind.Special)
                    throw Unsafe(key, dir, kind);
                if (kind == LocalEntryKind.File)
                    throw new TargetException(TargetErrorKind.AlreadyExists, $"The key '{StorageKeys.Printable(key)}' needs a folder where the file '{dir}' stands.", key);
                dir = Path.GetDirectoryName(dir);
            }
        }

        public static TargetException Unsafe(string key, string path, LocalEntryKind kind) =>
            new(TargetErrorKind.UnsafeEntry,
                $"'{path}' is a {(kind == LocalEntryKind.Link ? "link" : kind == LocalEntryKind.Directory ? "folder" : "FIFO, socket or device")} where a regular file belongs (key '{StorageKeys.Printable(key)}'); NekkBackup does not follow or open it.",
                key);

        /// <summary>What stands at <paramref name="path"/>, without following a final link.</summary>
        public static LocalEntryKind Probe(string path, out long size, out DateTime lastWriteUtc)
        {
            size = 0;
            lastWriteUtc = default;
            if (OperatingSystemInfo.IsLinux && s_statx)
            {
                try { return ProbeLinux(path, out size, out lastWriteUtc); }
                catch (EntryPointNotFoundException) { s_statx = false; }
                catch (DllNotFoundException) { s_statx = false; }
            }
            return ProbePortable(path, out size, out lastWriteUtc);
        }

        private static bool s_statx = true;

        private static LocalEntryKind ProbePortable(string path, out long size, out DateTime lastWriteUtc)
        {
            size = 0;
            lastWriteUtc = default;
            FileAttributes attrs;
            try { attrs = File.GetAttributes(path); }
            catch (FileNotFoundException) { return LocalEntryKind.Missing; }
            catch (DirectoryNotFoundException) { return LocalEntryKind.Missing; }
            if ((attrs & FileAttributes.ReparsePoint) != 0) return LocalEntryKind.Link;
            if ((attrs & FileAttributes.Directory) != 0) return LocalEntryKind.Directory;
            if ((attrs & FileAttributes.Device) != 0) return LocalEntryKind.Special;
            var fi = new FileInfo(path);
            size = fi.Length;
            lastWriteUtc = fi.LastWriteTimeUtc;
            return LocalEntryKind.File;
        }

        private const int AtFdCwd = -100;
        private const int AtSymlinkNoFollow = 0x100;
        private const uint StatxBasicStats = 0x7ff;

        private static unsafe LocalEntryKind ProbeLinux(string path, out long size, out DateTime lastWriteUtc)
        {
            size = 0;
            lastWriteUtc = default;
            byte* buf = stackalloc byte[256];
            if (statx(AtFdCwd, path, AtSymlinkNoFollow, StatxBasicStats, buf) != 0)
            {
                int errno = Marshal.GetLastWin32Error();
                if (errno == 2 || errno == 20) return LocalEntryKind.Missing; // ENOENT, ENOTDIR
                if (errno == 38) { s_statx = false; return ProbePortable(path, out size, out lastWriteUtc); } // ENOSYS
                if (errno == 13 || errno == 1) throw new UnauthorizedAccessException($"Access to '{path}' is denied (errno {errno}).");
                throw new IOException($"Cannot inspect '{path}' (errno {errno}).", errno);
            }
            int mode = *(ushort*)(buf + 28) & 0xF000;
            size = *(long*)(buf + 40);
            long sec = *(long*)(buf + 112);
            uint nsec = *(uint*)(buf + 120);
            lastWriteUtc = DateTimeOffset.FromUnixTimeSeconds(sec).UtcDateTime.AddTicks(nsec / 100);
            return mode switch
            {
                0x8000 => LocalEntryKind.File,
                0x4000 => LocalEntryKind.Directory,
                0xA000 => LocalEntryKind.Link,
                _ => LocalEntryKind.Special,
            };
        }

        /// <summary>Makes a rename in <paramref name="directory"/> durable (Linux: fsync of the folder); best effort.</summary>
        public static void SyncDirectory(string directory)
        {
            if (!OperatingSystemInfo.IsLinux) return; // NTFS/SMB journal the rename with the file's flush.
            try
            {
                int fd = open(directory, 0x10000 /* O_RDONLY | O_DIRECTORY */);
                if (fd < 0) return;
                fsync(fd);
                close(fd);
            }
            catch (EntryPointNotFoundException) { }
            catch (DllNotFoundException) { }
        }

        [DllImport("libc", SetLastError = true)]
        private static extern unsafe int statx(int dirfd, string path, int flags, uint mask, byte* buffer);

        [DllImport("libc", SetLastError = true)]
        private static extern int open(string path, int flags);

        [DllImport("libc", SetLastError = true)]
        private static extern int fsync(int fd);

        [DllImport("libc", SetLastError = true)]
        private static extern int close(int fd);
    }
}
