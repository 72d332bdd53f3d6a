using System;
using System.IO;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace NekkBackup.Core.Imaging
{
    /// <summary>Linux block-device facts: detection, size (BLKGETSIZE64), sysfs major:minor.</summary>
    internal static class LinuxBlockDevice
    {
        // _IOR(0x12, 114, size_t): "return device size in bytes (u64 *arg)" — include/uapi/linux/fs.h
        internal const ulong BLKGETSIZE64 = 0x80081272;

        [DllImport("libc", SetLastError = true, EntryPoint = "ioctl")]
        private static extern int IoctlU64(int fd, ulong request, out ulong value);

        // open/lseek/close: the Imaging code's one set of declarations (FileHoles, DirectIo use them too).
        [DllImport("libc", SetLastError = true, EntryPoint = "lseek")]
        internal static extern long LSeek(int fd, long offset, int whence);

        [DllImport("libc", SetLastError = true, EntryPoint = "syncfs")]
        private static extern int SyncFs(int fd);

        [DllImport("libc", SetLastError = true, EntryPoint = "open")]
        internal static extern int Open(string path, int flags);

        [DllImport("libc", SetLastError = true, EntryPoint = "close")]
        internal static extern int Close(int fd);

        /// <summary>Resolves symlinks (/dev/mapper/x → /dev/dm-0, /dev/disk/by-id/… → /dev/sda).</summary>
        public static string RealPath(string path)
        {
            var full = System.IO.Path.GetFullPath(path);
#if NET
            try
            {
                var target = new FileInfo(full).ResolveLinkTarget(true);
                if (target != null) return target.FullName;
            }
            catch (IOException) { }
#endif
            return full;
        }

        /// <summary>True when <paramref name="path"/> is a block device (it has a /sys/class/block entry).</summary>
        public static bool IsBlockDevice(string path)
        {
            if (!OperatingSystemInfo.IsLinux) return false;
            var real = RealPath(path);
            if (!real.StartsWith("/dev/", StringComparison.Ordinal)) return false;
            return Directory.Exists("/sys/class/block/" + System.IO.Path.GetFileName(real));
        }

        /// <summary>"major:minor" of a block device from sysfs, or null.</summary>
        public static string? MajorMinor(string devicePath)
        {
            var f = "/sys/class/block/" + System.IO.Path.GetFileName(RealPath(devicePath)) + "/dev";
            try { return File.Exists(f) ? File.ReadAllText(f).Trim() : null; } catch (IOException) { return null; }
        }

        /// <summary>Size of the device or file behind <paramref name="handle"/>: BLKGETSIZE64, else lseek(SEEK_END).</summary>
        public static long GetSize(SafeFileHandle handle)
        {
            bool added = false;
            try
            {
                handle.DangerousAddRef(ref added);
                int fd = handle.DangerousGetHandle().ToInt32();
                if (IoctlU64(fd, BLKGETSIZE64, out var size) == 0) return checked((long)size);
                long end = LSeek(fd, 0, 2);
                if (end < 0) throw new IOException($"Cannot determine the size of the device (errno {Marshal.GetLastWin32Error()}).");
                return end;
            }
            finally
            {
                if (added) handle.DangerousRelease();
            }
        }

        /// <summary>Flushes the file system holding <paramref name="directory"/> (syncfs); best effort.</summary>
        public static void SyncFileSystem(string directory)
        {
            if (!OperatingSystemInfo.IsLinux) return;
            try
            {
                int fd = Open(directory, 0 /* O_RDONLY */);
                if (fd < 0) return;
                try { SyncFs(fd); } finally { Close(fd); }
            }
            catch (Exception e) when (e is DllNotFoundException || e is EntryPointNotFoundException) { }
        }
    }
}
