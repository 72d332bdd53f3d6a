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

        /// <summary>
        /// Starts writing <paramref name="file"/>'s dirty pages to disk without waiting (Linux sync_file_range WRITE), so
        /// a later flush of the whole file system finds them written rather than writing them all at once; best effort.
        /// </summary>
        public static void StartWriteBack(Microsoft.Win32.SafeHandles.SafeFileHandle file)
        {
            if (!OperatingSystemInfo.IsLinux || !s_writeBack) return;
            bool added = false;
            try
            {
                file.DangerousAddRef(ref added);
                sync_file_range(file.DangerousGetHandle().ToInt32(), 0, 0, 2 /* SYNC_FILE_RANGE_WRITE */);
            }
            catch (Exception e) when (e is EntryPointNotFoundException || e is DllNotFoundException) { s_writeBack = false; }
            finally
            {
                if (added) file.DangerousRelease();
            }
        }

        private static bool s_writeBack = true;

        /// <summary>How this folder can make "rename unless the name exists" one atomic step.</summary>
        internal enum NoReplace
        {
            /// <summary>Windows: MoveFileEx without MOVEFILE_REPLACE_EXISTING is atomic.</summary>
            Platform,
            /// <summary>link(2) fails with EEXIST, then the temp name is unlinked (ext4, btrfs, xfs, ntfs-3g).</summary>
            Link,
            /// <summary>renameat2(RENAME_NOREPLACE), for file systems without hard links that support it.</summary>
            RenameNoReplace,
            /// <summary>Neither: a check then a rename (racy; the target then declares no ConditionalCreate).</summary>
            CheckThenRename,
        }

        /// <summary>
        /// Finds the atomic no-replace rename this folder supports. .NET's File.Move(overwrite: false) on Unix
        /// checks and then renames, so two racing creators can both "win" (seen on ntfs-3g by the conformance suite).
        /// </summary>
        public static NoReplace ProbeNoReplace(string tempDir)
        {
            if (!OperatingSystemInfo.IsLinux) return NoReplace.Platform;
            var a = Path.Combine(tempDir, "probe-" + Guid.NewGuid().ToString("N").Substring(0, 12));
            var b = a + "-l";
            File.WriteAllBytes(a, Array.Empty<byte>());
            try
            {
                try
                {
                    if (link(a, b) == 0) return NoReplace.Link;
                    if (renameat2(AtFdCwd, a, AtFdCwd, b, RenameNoReplaceFlag) == 0) return NoReplace.RenameNoReplace;
                }
                catch (EntryPointNotFoundException) { }
                return NoReplace.CheckThenRename;
            }
            finally
            {
                try { File.Delete(a); } catch (IOException) { }
                try { File.Delete(b); } catch (IOException) { }
            }
        }

        /// <summary>Renames <paramref name="from"/> to <paramref name="to"/> unless <paramref name="to"/> exists (then false, nothing changed).</summary>
        public static bool MoveNoReplace(string from, string to, NoReplace method)
        {
            switch (method)
            {
                case NoReplace.Link:
                    if (link(from, to) != 0)
                    {
                        int errno = Marshal.GetLastWin32Error();
                        if (errno == 17) return false; // EEXIST
                        throw new IOException($"Cannot link '{from}' to '{to}' (errno {errno}).", errno);
                    }
                    try { File.Delete(from); } catch (IOException) { } // a leftover temp name is swept later
                    return true;
                case NoReplace.RenameNoReplace:
                    if (renameat2(AtFdCwd, from, AtFdCwd, to, RenameNoReplaceFlag) != 0)
                    {
                        int errno = Marshal.GetLastWin32Error();
                        if (errno == 17) return false;
                        throw new IOException($"Cannot rename '{from}' to '{to}' (errno {errno}).", errno);
                    }
                    return true;
                default:
                    try
                    {
                        File.Move(from, to);
                        return true;
                    }
                    catch (IOException) when (Probe(to, out _, out _) != LocalEntryKind.Missing) { return false; }
            }
        }

        private const uint RenameNoReplaceFlag = 1;

        [DllImport("libc", SetLastError = true)]
        private static extern int link(string oldpath, string newpath);

        [DllImport("libc", SetLastError = true)]
        private static extern int renameat2(int olddirfd, string oldpath, int newdirfd, string newpath, uint flags);

        [DllImport("libc", SetLastError = true)]
        private static extern unsafe int statx(int dirfd, string path, int flags, uint mask, byte* buffer);

        [DllImport("libc", SetLastError = true)]
        private static extern int open(string path, int flags);

        [DllImport("libc", SetLastError = true)]
        private static extern int fsync(int fd);

        [DllImport("libc", SetLastError = true)]
        private static extern int sync_file_range(int fd, long offset, long nbytes, uint flags);

        [DllImport("libc", SetLastError = true)]
        private static extern int close(int fd);
    }
}
