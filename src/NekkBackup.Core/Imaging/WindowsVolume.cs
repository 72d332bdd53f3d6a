using System;
using System.ComponentModel;
using System.IO;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace NekkBackup.Core.Imaging
{
    /// <summary>
    /// Raw volume / VSS shadow device I/O on Windows: CreateFile + IOCTL_DISK_GET_LENGTH_INFO +
    /// FSCTL_ALLOW_EXTENDED_DASD_IO, unbuffered reads into a page-aligned buffer (windows-notes.md §2.1),
    /// and for restore FSCTL_LOCK_VOLUME + FSCTL_DISMOUNT_VOLUME first (§2.2).
    /// Compiled everywhere, exercised only on Windows.
    /// </summary>
    internal sealed class WindowsVolume : IBlockSource, IBlockTarget
    {
        private readonly SafeFileHandle _handle;
        private readonly IntPtr _raw;
        private readonly IntPtr _aligned;
        private readonly int _bufferSize;

        private WindowsVolume(string path, SafeFileHandle handle, long length, int bufferSize)
        {
            Path = path;
            _handle = handle;
            Length = length;
            _bufferSize = bufferSize;
            _raw = Marshal.AllocHGlobal(bufferSize + 4096);
            _aligned = new IntPtr((_raw.ToInt64() + 4095) & ~4095L);
        }

        public string Path { get; }
        public long Length { get; }
        public long? Capacity => Length;

        public static WindowsVolume Open(string devicePath, bool write, int maxTransfer)
        {
            var (access, share, creation, flags) = WindowsDevicePath.OpenArguments(write);
            var h = CreateFileW(devicePath, access, share, IntPtr.Zero, creation, flags, IntPtr.Zero);
            if (h.IsInvalid)
            {
                int err = Marshal.GetLastWin32Error();
                if (err == 2 || err == 3) throw new FileNotFoundException($"The volume '{devicePath}' does not exist.", devicePath);
                if (err == 5) throw new UnauthorizedAccessException($"Opening '{devicePath}' needs an elevated (administrator) session.");
                throw new IOException($"CreateFile('{devicePath}') failed: {new Win32Exception(err).Message}", err);
            }
            try
            {
                if (write)
                {
                    // Lock fails when files are open (or on the system volume): C: cannot be restored in place.
                    Ioctl(h, WindowsDevicePath.FSCTL_LOCK_VOLUME, "lock the volume (close programs using it; the system volume needs WinPE)");
                    Ioctl(h, WindowsDevicePath.FSCTL_DISMOUNT_VOLUME, "dismount the volume");
                }
                DeviceIoControl(h, WindowsDevicePath.FSCTL_ALLOW_EXTENDED_DASD_IO, IntPtr.Zero, 0, IntPtr.Zero, 0, out _, IntPtr.Zero);
                long length;
                var buf = Marshal.AllocHGlobal(8);
                try
                {
                    if (!DeviceIoControl(h, WindowsDevicePath.IOCTL_DISK_GET_LENGTH_INFO, IntPtr.Zero, 0, buf, 8, out _, IntPtr.Zero))
                        throw new IOException($"IOCTL_DISK_GET_LENGTH_INFO on '{devicePath}' failed: {new Win32Exception(Marshal.GetLastWin32Error()).Message}");
                    length = Marshal.ReadInt64(buf);
                }
                finally { Marshal.FreeHGlobal(buf); }
                return new WindowsVolume(devicePath, h, length, maxTransfer);
            }
            catch
            {
                h.Dispose();
                throw;
            }
        }

        private static void Ioctl(SafeFileHandle h, uint code, string what)
        {
            if (!DeviceIoControl(h, code, IntPtr.Zero, 0, IntPtr.Zero, 0, out _, IntPtr.Zero))
                throw new IOException($"Could not {what}: {new Win32Exception(Marshal.GetLastWin32Error()).Message}");
        }

        public int Read(long offset, byte[] buffer, int count)
        {
            if (count > _bufferSize) throw new ArgumentOutOfRangeException(nameof(count));
            if (offset >= Length) return 0;
            count = (int)Math.Min(count, Length - offset);
            if (!SetFilePointerEx(_handle, offset, out _, 0))
                throw new IOException($"Seek on '{Path}' failed: {new Win32Exception(Marshal.GetLastWin32Error()).Message}");
            if (!ReadFile(_handle, _aligned, (uint)count, out var read, IntPtr.Zero))
                throw new IOException($"Read at {offset} on '{Path}' failed: {new Win32Exception(Marshal.GetLastWin32Error()).Message}");
            Marshal.Copy(_aligned, buffer, 0, (int)read);
            return (int)read;
        }

        public void Write(long offset, byte[] buffer, int count)
        {
            if (count > _bufferSize) throw new ArgumentOutOfRangeException(nameof(count));
            Marshal.Copy(buffer, 0, _aligned, count);
            if (!SetFilePointerEx(_handle, offset, out _, 0))
                throw new IOException($"Seek on '{Path}' failed: {new Win32Exception(Marshal.GetLastWin32Error()).Message}");
            if (!WriteFile(_handle, _aligned, (uint)count, out var written, IntPtr.Zero) || written != count)
                throw new IOException($"Write at {offset} on '{Path}' failed: {new Win32Exception(Marshal.GetLastWin32Error()).Message}");
        }

        public bool WritesZeros => true;

        public void Complete() => FlushFileBuffers(_handle);

        public void Dispose()
        {
            _handle.Dispose();
            Marshal.FreeHGlobal(_raw);
        }

        [DllImport("kernel32.dll", SetLastError = true, CharSet = CharSet.Unicode)]
        private static extern SafeFileHandle CreateFileW(string name, uint access, uint share, IntPtr security, uint creation, uint flags, IntPtr template);

        [DllImport("kernel32.dll", SetLastError = true)]
        private static extern bool DeviceIoControl(SafeFileHandle h, uint code, IntPtr inBuf, int inSize, IntPtr outBuf, int outSize, out int returned, IntPtr overlapped);

        [DllImport("kernel32.dll", SetLastError = true)]
        private static extern bool SetFilePointerEx(SafeFileHandle h, long distance, out long newPointer, int method);

        [DllImport("kernel32.dll", SetLastError = true)]
        private static extern bool ReadFile(SafeFileHandle h, IntPtr buffer, uint count, out uint read, IntPtr overlapped);

        [DllImport("kernel32.dll", SetLastError = true)]
        private static extern bool WriteFile(SafeFileHandle h, IntPtr buffer, uint count, out uint written, IntPtr overlapped);

        [DllImport("kernel32.dll", SetLastError = true)]
        private static extern bool FlushFileBuffers(SafeFileHandle h);
    }
}
