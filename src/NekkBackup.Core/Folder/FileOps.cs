using System;
using System.IO;
using System.Runtime.InteropServices;

namespace NekkBackup.Core.Folder
{
    /// <summary>Small file-system helpers that work on net472 and net8.0.</summary>
    internal static class FileOps
    {
        public const int BufferSize = 1 << 20;
        private const int SparseBlock = 4096;

        public static void CreateSymlink(string path, string target, bool directoryHint)
        {
#if NET
            if (directoryHint) Directory.CreateSymbolicLink(path, target);
            else File.CreateSymbolicLink(path, target);
#else
            if (OperatingSystemInfo.IsWindows)
            {
                if (!CreateSymbolicLinkW(path, target, (directoryHint ? 1 : 0) | 2))
                    throw new IOException($"Cannot create the symbolic link '{path}'", Marshal.GetHRForLastWin32Error());
            }
            else if (symlink(target, path) != 0)
                throw new IOException($"Cannot create the symbolic link '{path}'", Marshal.GetLastWin32Error());
#endif
        }

#if !NET
        // BOOLEAN (one byte), not BOOL: without U1 the upper bytes of the return register are read too.
        [DllImport("kernel32.dll", CharSet = CharSet.Unicode, SetLastError = true)]
        [return: MarshalAs(UnmanagedType.U1)]
        private static extern bool CreateSymbolicLinkW(string lpSymlinkFileName, string lpTargetFileName, int dwFlags);

        [DllImport("libc", SetLastError = true)]
        private static extern int symlink(string target, string linkpath);
#endif

        /// <summary>Removes a file or symbolic link (not a directory) if present.</summary>
        public static void DeleteItem(string path)
        {
            var fi = new FileInfo(path);
            if (fi.Exists || FileLinks.TargetOf(fi) != null) { fi.Attributes = FileAttributes.Normal; File.Delete(path); return; }
            var di = new DirectoryInfo(path);
            if (di.Exists && FileLinks.IsLink(di)) Directory.Delete(path);
        }

        public static bool IsAllZero(byte[] buf, int offset, int count)
        {
#if NET
            return new ReadOnlySpan<byte>(buf, offset, count).IndexOfAnyExcept((byte)0) < 0;
#else
            int i = offset, end = offset + count;
            for (; i + 8 <= end; i += 8)
                if (BitConverter.ToInt64(buf, i) != 0) return false;
            for (; i < end; i++)
                if (buf[i] != 0) return false;
            return true;
#endif
        }

        /// <summary>
        /// Writes <paramref name="count"/> bytes at the stream's position, seeking over all-zero 4 KiB
        /// blocks instead of writing them, so holes stay holes. The caller sets the final length.
        /// </summary>
        public static void WriteSparse(FileStream fs, byte[] buf, int count)
        {
            int i = 0;
            while (i < count)
            {
                int n = Math.Min(SparseBlock, count - i);
                if (IsAllZero(buf, i, n))
                {
                    int z = i + n;
                    while (z < count)
                    {
                        int m = Math.Min(SparseBlock, count - z);
                        if (!IsAllZero(buf, z, m)) break;
                        z += m;
                    }
                    fs.Seek(z - i, SeekOrigin.Current);
                    i = z;
                }
                else
                {
                    int e = i + n;
                    while (e < count)
                    {
                        int m = Math.Min(SparseBlock, count - e);
                        if (IsAllZero(buf, e, m)) break;
                        e += m;
                    }
                    fs.Write(buf, i, e - i);
                    i = e;
                }
            }
        }

        private const FileAttributes KeptAttributes = FileAttributes.ReadOnly | FileAttributes.Hidden | FileAttributes.System;

        /// <summary>On Windows, the attributes a backup keeps (ReadOnly, Hidden, System), or null.</summary>
        public static int? KeptAttributesOf(FileAttributes attributes)
        {
            if (!OperatingSystemInfo.IsWindows) return null;
            var a = attributes & KeptAttributes;
            return a == 0 ? null : (int)a;
        }

        /// <summary>Applies recorded attributes (Windows only); the mirror never gets ReadOnly so it stays replaceable.</summary>
        public static void ApplyAttributes(string path, int? attrs, bool includeReadOnly)
        {
            if (!OperatingSystemInfo.IsWindows || attrs == null) return;
            var a = (FileAttributes)attrs.Value & KeptAttributes;
            if (!includeReadOnly) a &= ~FileAttributes.ReadOnly;
            if (a != 0) File.SetAttributes(path, File.GetAttributes(path) | a);
        }

        /// <summary>Clears ReadOnly on an existing file (Windows refuses to replace or delete it otherwise).</summary>
        public static void ClearReadOnly(string path)
        {
            if (!OperatingSystemInfo.IsWindows) return;
            try
            {
                var a = File.GetAttributes(path);
                if ((a & FileAttributes.ReadOnly) != 0) File.SetAttributes(path, a & ~FileAttributes.ReadOnly);
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }

        public static void SetMTime(string path, long ticksUtc)
        {
            var t = new DateTime(ticksUtc, DateTimeKind.Utc);
            File.SetLastWriteTimeUtc(path, t);
        }
    }
}
