using System;

namespace NekkBackup.Core.Imaging
{
    /// <summary>
    /// Pure path/argument logic for raw Windows volume I/O (windows-notes.md §2.1), kept apart from the
    /// P/Invoke so it is unit-tested on any OS.
    /// </summary>
    public static class WindowsDevicePath
    {
        public const uint GENERIC_READ = 0x80000000;
        public const uint GENERIC_WRITE = 0x40000000;
        public const uint FILE_SHARE_READ = 0x1;
        public const uint FILE_SHARE_WRITE = 0x2;
        public const uint OPEN_EXISTING = 3;
        public const uint FILE_FLAG_NO_BUFFERING = 0x20000000;
        public const uint FILE_FLAG_WRITE_THROUGH = 0x80000000;

        /// <summary>CTL_CODE(IOCTL_DISK_BASE=7, 0x17, METHOD_BUFFERED, FILE_READ_ACCESS) → GET_LENGTH_INFORMATION.</summary>
        public const uint IOCTL_DISK_GET_LENGTH_INFO = 0x0007405C;
        /// <summary>CTL_CODE(FILE_DEVICE_FILE_SYSTEM=9, 32, METHOD_NEITHER, FILE_ANY_ACCESS): read/write the last sectors.</summary>
        public const uint FSCTL_ALLOW_EXTENDED_DASD_IO = 0x00090083;
        /// <summary>CTL_CODE(9, 6, METHOD_BUFFERED, FILE_ANY_ACCESS).</summary>
        public const uint FSCTL_LOCK_VOLUME = 0x00090018;
        /// <summary>CTL_CODE(9, 8, METHOD_BUFFERED, FILE_ANY_ACCESS).</summary>
        public const uint FSCTL_DISMOUNT_VOLUME = 0x00090020;
        /// <summary>CTL_CODE(9, 7, METHOD_BUFFERED, FILE_ANY_ACCESS).</summary>
        public const uint FSCTL_UNLOCK_VOLUME = 0x0009001C;

        public static uint CtlCode(uint deviceType, uint function, uint method, uint access) =>
            (deviceType << 16) | (access << 14) | (function << 2) | method;

        /// <summary>
        /// The raw device path for a source a user named, or null when it is not a device (an image file).
        /// "C:", "C:\", "c", "\\.\C:\" → "\\.\C:" (no trailing backslash: that would open the file-system root);
        /// "\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy3" (VSS DeviceObject), "\\?\Volume{guid}\",
        /// "\\.\PhysicalDriveN" → as given without a trailing backslash.
        /// </summary>
        public static string? ToDevicePath(string source)
        {
            if (string.IsNullOrWhiteSpace(source)) return null;
            var s = source.Trim();
            if (s.Length == 1 && char.IsLetter(s[0])) return @"\\.\" + char.ToUpperInvariant(s[0]) + ":";
            if ((s.Length == 2 || (s.Length == 3 && (s[2] == '\\' || s[2] == '/'))) && char.IsLetter(s[0]) && s[1] == ':')
                return @"\\.\" + char.ToUpperInvariant(s[0]) + ":";
            if (s.StartsWith(@"\\.\", StringComparison.Ordinal) || s.StartsWith(@"\\?\", StringComparison.Ordinal))
            {
                var rest = s.Substring(4).TrimEnd('\\');
                if (rest.Length == 2 && char.IsLetter(rest[0]) && rest[1] == ':')
                    return @"\\.\" + char.ToUpperInvariant(rest[0]) + ":";
                if (rest.StartsWith("GLOBALROOT\\", StringComparison.OrdinalIgnoreCase)
                    || rest.StartsWith("Volume{", StringComparison.OrdinalIgnoreCase)
                    || rest.StartsWith("PhysicalDrive", StringComparison.OrdinalIgnoreCase)
                    || rest.StartsWith("HarddiskVolume", StringComparison.OrdinalIgnoreCase))
                    return s.Substring(0, 4) + rest;
                // \\?\C:\path\file.img is a long-path file name, not a device.
                return null;
            }
            return null;
        }

        /// <summary>The CreateFile arguments for reading (<paramref name="write"/> false) or restoring a volume.</summary>
        public static (uint access, uint share, uint creation, uint flags) OpenArguments(bool write) =>
            write
                ? (GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, OPEN_EXISTING, FILE_FLAG_NO_BUFFERING | FILE_FLAG_WRITE_THROUGH)
                : (GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, OPEN_EXISTING, FILE_FLAG_NO_BUFFERING);

        /// <summary>Unbuffered I/O needs offsets and lengths in whole sectors.</summary>
        public static bool IsAligned(long offset, long count, int sectorSize) =>
            sectorSize > 0 && offset % sectorSize == 0 && count % sectorSize == 0;
    }
}
