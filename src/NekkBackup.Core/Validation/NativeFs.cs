using System;
using System.IO;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace NekkBackup.Core.Validation
{
    /// <summary>A path that is not a regular file where one belongs (found by lstat or by fstat after opening).</summary>
    internal sealed class NotRegularFileException : IOException
    {
        public NotRegularFileException(string path, StoredKind kind) : base($"'{path}' {StoredKindText.Describe(kind)}.") => Kind = kind;

        public StoredKind Kind { get; }
    }

    /// <summary>
    /// The platform calls the validation layer stands on: lstat without following links, and an open that never
    /// follows a final link and never blocks on a FIFO or device (Unix: O_NOFOLLOW|O_NONBLOCK, then fstat; Windows:
    /// FILE_FLAG_OPEN_REPARSE_POINT, then the handle's type and attributes), and the real path of what was opened
    /// (/proc/self/fd, GetFinalPathNameByHandle) so it can be re-confined after links were resolved.
    /// </summary>
    internal static partial class NativeFs
    {
        private const int S_IFMT = 0xF000, S_IFIFO = 0x1000, S_IFCHR = 0x2000, S_IFDIR = 0x4000, S_IFBLK = 0x6000,
            S_IFREG = 0x8000, S_IFLNK = 0xA000, S_IFSOCK = 0xC000;

        /// <summary>What <paramref name="path"/> is, without following a final link.</summary>
        public static StoredKind KindOf(string path)
        {
            if (OperatingSystemInfo.IsWindows) return WindowsKindOf(path);
            int? mode = UnixLStatMode(path);
            if (mode == null) return StoredKind.Missing;
            return FromMode(mode.Value);
        }

        internal static StoredKind FromMode(int mode) => (mode & S_IFMT) switch
        {
            S_IFREG => StoredKind.File,
            S_IFDIR => StoredKind.Directory,
            S_IFLNK => StoredKind.Link,
            S_IFIFO => StoredKind.Fifo,
            S_IFCHR => StoredKind.Device,
            S_IFBLK => StoredKind.Device,
            S_IFSOCK => StoredKind.Socket,
            _ => StoredKind.Other,
        };

        /// <summary>Windows attributes → kind (pure; unit-tested on every platform).</summary>
        internal static StoredKind FromAttributes(FileAttributes a)
        {
            if ((a & FileAttributes.ReparsePoint) != 0) return StoredKind.Link;
            if ((a & FileAttributes.Directory) != 0) return StoredKind.Directory;
            if ((a & FileAttributes.Device) != 0) return StoredKind.Device;
            return StoredKind.File;
        }

        /// <summary>
        /// Opens a regular file: for reading (<paramref name="append"/> false) or for appending, created when missing.
        /// Returns null when the path (or a folder on the way) does not exist; throws <see cref="NotRegularFileException"/>
        /// when it is a link, FIFO, device, socket or folder — found before any byte is read, without blocking.
        /// </summary>
        public static FileStream? OpenRegular(string path, bool append)
        {
            if (OperatingSystemInfo.IsWindows) return WindowsOpen(path, append);
            var kind = KindOf(path);
            if (kind == StoredKind.Missing && !append) return null;
            if (kind != StoredKind.Missing && kind != StoredKind.File) throw new NotRegularFileException(path, kind);
            var flags = UnixFlags.Current;
            if (flags == null || !UnixNativeWorks)
            {
                // No native open on this platform: the lstat above is the check (a swap in between is not caught).
                try { return append ? new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read) : new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1); }
                catch (FileNotFoundException) when (!append) { return null; }
                catch (DirectoryNotFoundException) { return null; }
            }
            var f = flags.Value;
            int oflags = f.CloExec | f.NoFollow | f.NonBlock | (append ? f.WriteOnly | f.Append | f.Create : 0);
            int fd = append ? open_mode(path, oflags, 0x1A4 /* 0644 */) : open_ro(path, oflags);
            if (fd < 0)
            {
                int errno = Marshal.GetLastWin32Error();
                if (errno == 2 || errno == 20) return null; // ENOENT, ENOTDIR
                if (errno == f.ELoop) throw new NotRegularFileException(path, StoredKind.Link);
                if (errno == 21) throw new NotRegularFileException(path, StoredKind.Directory); // EISDIR
                if (errno == 6) throw new NotRegularFileException(path, StoredKind.Fifo);      // ENXIO: a FIFO without reader
                if (errno == 13 || errno == 1) throw new UnauthorizedAccessException($"Access to '{path}' is denied (errno {errno}).");
                throw new IOException($"Cannot open '{path}' (errno {errno}).", errno);
            }
            var handle = new SafeFileHandle(new IntPtr(fd), ownsHandle: true);
            try
            {
                int? mode = UnixFStatMode(handle);
                if (mode != null && FromMode(mode.Value) != StoredKind.File) throw new NotRegularFileException(path, FromMode(mode.Value));
                var fs = new FileStream(handle, append ? FileAccess.Write : FileAccess.Read, 1);
                if (append) fs.Seek(0, SeekOrigin.End);
                return fs;
            }
            catch
            {
                handle.Dispose();
                throw;
            }
        }

        /// <summary>The real (link-free) path of an open file, or null when the platform cannot tell.</summary>
        public static string? RealPath(SafeFileHandle handle)
        {
            if (OperatingSystemInfo.IsWindows) return WindowsFinalPath(handle);
            if (!OperatingSystemInfo.IsLinux) return null;
            try
            {
                var fd = handle.DangerousGetHandle().ToInt64();
                var target = ReadLink("/proc/self/fd/" + fd);
                return target != null && target.StartsWith("/", StringComparison.Ordinal) ? target : null;
            }
            catch (IOException) { return null; }
            catch (UnauthorizedAccessException) { return null; }
        }

        /// <summary>The real path of an existing folder (links resolved), or null when it cannot be found out.</summary>
        public static string? RealDirectoryPath(string dir)
        {
            if (OperatingSystemInfo.IsWindows) return WindowsFinalDirectoryPath(dir);
            var flags = UnixFlags.Current;
            if (!OperatingSystemInfo.IsLinux || flags == null || !UnixNativeWorks) return null;
            int fd = open_ro(dir, flags.Value.CloExec | flags.Value.NonBlock | flags.Value.Directory);
            if (fd < 0) return null;
            using var h = new SafeFileHandle(new IntPtr(fd), ownsHandle: true);
            return RealPath(h);
        }

        private static string? ReadLink(string path)
        {
#if NET
            return new FileInfo(path).LinkTarget;
#else
            return null;
#endif
        }

        // ------------------------------------------------------------------ Unix

        /// <summary>open(2) flag values differ by OS and CPU (Linux arm/arm64 number O_NOFOLLOW/O_DIRECTORY differently).</summary>
        internal readonly struct UnixFlags
        {
            public UnixFlags(int nonBlock, int noFollow, int cloExec, int append, int create, int directory, int eloop)
            {
                NonBlock = nonBlock; NoFollow = noFollow; CloExec = cloExec; Append = append; Create = create; Directory = directory; ELoop = eloop;
            }

            public int NonBlock { get; }
            public int NoFollow { get; }
            public int CloExec { get; }
            public int WriteOnly => 1;
            public int Append { get; }
            public int Create { get; }
            public int Directory { get; }
            public int ELoop { get; }

            public static readonly UnixFlags? Current = For(OperatingSystemInfo.IsLinux, OperatingSystemInfo.IsMacOS, RuntimeInformation.ProcessArchitecture);

            internal static UnixFlags? For(bool linux, bool mac, Architecture arch)
            {
                if (linux && (arch == Architecture.X64 || arch == Architecture.X86))
                    return new UnixFlags(0x800, 0x20000, 0x80000, 0x400, 0x40, 0x10000, 40);
                if (linux && (arch == Architecture.Arm64 || arch == Architecture.Arm))
                    return new UnixFlags(0x800, 0x8000, 0x80000, 0x400, 0x40, 0x4000, 40);
                // macOS: O_CREAT needs open's variadic mode, which arm64 passes on the stack; only read-only opens are native there.
                if (mac && arch == Architecture.X64)
                    return new UnixFlags(0x4, 0x100, 0x1000000, 0x8, 0x200, 0x100000, 62);
                return null;
            }
        }

        private static bool? _nativeWorks;

        /// <summary>True when libSystem.Native's stat calls are reachable (always on .NET on Linux/macOS).</summary>
        private static bool UnixNativeWorks
        {
            get
            {
                if (_nativeWorks is bool b) return b;
                try { UnixLStatMode("/"); _nativeWorks = true; }
                catch (Exception e) when (e is DllNotFoundException || e is EntryPointNotFoundException || e is BadImageFormatException) { _nativeWorks = false; }
                return _nativeWorks.Value;
            }
        }

        private static unsafe int? UnixLStatMode(string path)
        {
            if (_nativeWorks == false) return ManagedMode(path);
            byte* buf = stackalloc byte[512];
            try
            {
                if (SystemNative_LStat(path, buf) != 0) return null;
            }
            catch (Exception e) when (e is DllNotFoundException || e is EntryPointNotFoundException || e is BadImageFormatException)
            {
                _nativeWorks = false;
                return ManagedMode(path);
            }
            // libSystem.Native's FileStatus starts { int32 Flags; int32 Mode; … } in every .NET version.
            return *(int*)(buf + 4);
        }

        private static unsafe int? UnixFStatMode(SafeFileHandle handle)
        {
            byte* buf = stackalloc byte[512];
            try
            {
                if (SystemNative_FStat(handle, buf) != 0) return null;
            }
            catch (Exception e) when (e is DllNotFoundException || e is EntryPointNotFoundException) { return null; }
            return *(int*)(buf + 4);
        }

        /// <summary>Best effort without native calls: links and folders are told apart, FIFOs and devices are not.</summary>
        private static int? ManagedMode(string path)
        {
            var fi = new FileInfo(path);
            FileAttributes a;
            try { a = fi.Attributes; }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException) { return null; }
            if ((int)a == -1) return null;
            if ((a & FileAttributes.ReparsePoint) != 0) return S_IFLNK;
            if ((a & FileAttributes.Directory) != 0) return S_IFDIR;
            return S_IFREG;
        }

        [DllImport("libSystem.Native", EntryPoint = "SystemNative_LStat", SetLastError = true)]
        private static extern unsafe int SystemNative_LStat(string path, byte* output);

        [DllImport("libSystem.Native", EntryPoint = "SystemNative_FStat", SetLastError = true)]
        private static extern unsafe int SystemNative_FStat(SafeHandle fd, byte* output);

        [DllImport("libc", EntryPoint = "open", SetLastError = true)]
        private static extern int open_ro(string path, int flags);

        [DllImport("libc", EntryPoint = "open", SetLastError = true)]
        private static extern int open_mode(string path, int flags, int mode);
    }
}
