using System;
using System.ComponentModel;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace NekkBackup.Core.Validation
{
    /// <summary>
    /// Windows half of <see cref="NativeFs"/>: GetFileAttributes does not follow a final reparse point (symlink or
    /// junction); CreateFileW with FILE_FLAG_OPEN_REPARSE_POINT opens the link itself instead of its target, and the
    /// handle's type (GetFileType = FILE_TYPE_DISK) and attributes (GetFileInformationByHandle) are checked before
    /// a byte is read. Compiled on every build, exercised on Windows; the decisions are in pure functions
    /// (<see cref="NativeFs.FromAttributes"/>, <see cref="WindowsHandleVerdict"/>) tested everywhere.
    /// </summary>
    internal static partial class NativeFs
    {
        private const uint GENERIC_READ = 0x80000000, GENERIC_WRITE = 0x40000000, FILE_READ_ATTRIBUTES = 0x80;
        private const uint FILE_SHARE_READ = 1, FILE_SHARE_WRITE = 2, FILE_SHARE_DELETE = 4;
        private const uint OPEN_EXISTING = 3, OPEN_ALWAYS = 4;
        private const uint FILE_FLAG_OPEN_REPARSE_POINT = 0x00200000, FILE_FLAG_BACKUP_SEMANTICS = 0x02000000;
        internal const uint FILE_TYPE_DISK = 1;

        private static StoredKind WindowsKindOf(string path)
        {
            try { return FromAttributes(File.GetAttributes(path)); }
            catch (FileNotFoundException) { return StoredKind.Missing; }
            catch (DirectoryNotFoundException) { return StoredKind.Missing; }
        }

        /// <summary>What an opened handle is, from GetFileType and its attributes; null when it is a regular file.</summary>
        internal static StoredKind? WindowsHandleVerdict(uint fileType, FileAttributes attributes)
        {
            if (fileType != FILE_TYPE_DISK) return fileType == 3 ? StoredKind.Fifo : StoredKind.Device; // 3 = FILE_TYPE_PIPE
            var k = FromAttributes(attributes);
            return k == StoredKind.File ? null : k;
        }

        private static FileStream? WindowsOpen(string path, bool append)
        {
            var kind = WindowsKindOf(path);
            if (kind == StoredKind.Missing && !append) return null;
            if (kind != StoredKind.Missing && kind != StoredKind.File) throw new NotRegularFileException(path, kind);
            var h = CreateFileW(path, append ? GENERIC_WRITE : GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, IntPtr.Zero,
                append ? OPEN_ALWAYS : OPEN_EXISTING, FILE_FLAG_OPEN_REPARSE_POINT, IntPtr.Zero);
            if (h.IsInvalid)
            {
                int err = Marshal.GetLastWin32Error();
                h.Dispose();
                if (err == 2 || err == 3) return null;
                if (err == 5) throw new UnauthorizedAccessException($"Access to '{path}' is denied.");
                throw new IOException($"Cannot open '{path}': {new Win32Exception(err).Message}", err);
            }
            try
            {
                uint type = GetFileType(h);
                FileAttributes attrs = 0;
                if (type == FILE_TYPE_DISK && GetFileInformationByHandle(h, out var info)) attrs = (FileAttributes)info.FileAttributes;
                var verdict = WindowsHandleVerdict(type, attrs);
                if (verdict != null) throw new NotRegularFileException(path, verdict.Value);
                var fs = new FileStream(h, append ? FileAccess.Write : FileAccess.Read, 1);
                if (append) fs.Seek(0, SeekOrigin.End);
                return fs;
            }
            catch
            {
                h.Dispose();
                throw;
            }
        }

        private static string? WindowsFinalPath(SafeFileHandle handle)
        {
            var sb = new StringBuilder(1024);
            uint n = GetFinalPathNameByHandleW(handle, sb, (uint)sb.Capacity, 0);
            if (n == 0) return null;
            if (n >= sb.Capacity)
            {
                sb = new StringBuilder((int)n + 1);
                n = GetFinalPathNameByHandleW(handle, sb, (uint)sb.Capacity, 0);
                if (n == 0 || n >= sb.Capacity) return null;
            }
            return FromFinalPath(sb.ToString());
        }

        /// <summary>\\?\C:\x → C:\x; \\?\UNC\server\share\x → \\server\share\x.</summary>
        internal static string FromFinalPath(string p)
        {
            if (p.StartsWith(@"\\?\UNC\", StringComparison.OrdinalIgnoreCase)) return @"\\" + p.Substring(8);
            if (p.StartsWith(@"\\?\", StringComparison.Ordinal)) return p.Substring(4);
            return p;
        }

        private static string? WindowsFinalDirectoryPath(string dir)
        {
            using var h = CreateFileW(dir, FILE_READ_ATTRIBUTES, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, IntPtr.Zero,
                OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, IntPtr.Zero);
            return h.IsInvalid ? null : WindowsFinalPath(h);
        }

        [StructLayout(LayoutKind.Sequential)]
        private struct ByHandleFileInformation
        {
            public uint FileAttributes;
            public uint CreationLow, CreationHigh, AccessLow, AccessHigh, WriteLow, WriteHigh; // three FILETIMEs (no padding)
            public uint VolumeSerialNumber, FileSizeHigh, FileSizeLow, NumberOfLinks, FileIndexHigh, FileIndexLow;
        }

        [DllImport("kernel32.dll", SetLastError = true, CharSet = CharSet.Unicode)]
        private static extern SafeFileHandle CreateFileW(string name, uint access, uint share, IntPtr security, uint creation, uint flags, IntPtr template);

        [DllImport("kernel32.dll", SetLastError = true)]
        private static extern uint GetFileType(SafeFileHandle handle);

        [DllImport("kernel32.dll", SetLastError = true)]
        private static extern bool GetFileInformationByHandle(SafeFileHandle handle, out ByHandleFileInformation info);

        [DllImport("kernel32.dll", SetLastError = true, CharSet = CharSet.Unicode)]
        private static extern uint GetFinalPathNameByHandleW(SafeFileHandle handle, StringBuilder path, uint length, uint flags);
    }
}
