using System;
using System.Runtime.InteropServices;

namespace NekkBackup.Core.Imaging
{
    /// <summary>A source that can tell, without reading, that a range reads as zeros (a hole of a sparse file, free space).</summary>
    internal interface IHoleMap
    {
        /// <summary>True only when every byte of the range is known to read as zero; false when unsure.</summary>
        bool IsHole(long offset, int count);
    }

    /// <summary>
    /// The holes of a sparse disk-image file on Linux, by lseek(SEEK_DATA / SEEK_HOLE) on a descriptor of its own (so it
    /// never moves the reader's position): a capture turns a chunk that lies wholly in a hole into a zero chunk without
    /// reading it. Unwritten (fallocated) extents count as holes too; they read as zeros. Any doubt — a file system without
    /// SEEK_DATA, an error — answers "not a hole", and the chunk is read as before. One range of each kind is cached, so a
    /// sequential capture makes about two calls per extent, not one per chunk. Not thread-safe (the capture's reader asks).
    /// </summary>
    internal sealed class FileHoles : IDisposable
    {
        private const int SeekData = 3, SeekHole = 4, ENXIO = 6;
        private int _fd;
        private readonly long _length;
        private long _holeFrom, _holeTo, _dataFrom, _dataTo;

        private FileHoles(int fd, long length)
        {
            _fd = fd;
            _length = length;
        }

        /// <summary>For a regular file on Linux; null elsewhere or when it cannot be opened.</summary>
        public static FileHoles? TryOpen(string path, long length)
        {
            if (!OperatingSystemInfo.IsLinux) return null;
            try
            {
                int fd = LinuxBlockDevice.Open(path, 0 /* O_RDONLY */);
                return fd < 0 ? null : new FileHoles(fd, length);
            }
            catch (Exception e) when (e is DllNotFoundException || e is EntryPointNotFoundException) { return null; }
        }

        public bool IsHole(long offset, int count)
        {
            if (_fd < 0 || count <= 0) return false;
            long end = offset + count;
            if (offset >= _holeFrom && end <= _holeTo) return true;
            if (offset >= _dataFrom && offset < _dataTo) return false;
            long data = LinuxBlockDevice.LSeek(_fd, offset, SeekData);
            if (data < 0)
            {
                // ENXIO: no data at or after offset (a hole to the end); anything else: no SEEK_DATA here, stop asking.
                if (Marshal.GetLastWin32Error() == ENXIO && offset < _length) { (_holeFrom, _holeTo) = (offset, _length); return end <= _length; }
                Disable();
                return false;
            }
            if (data >= end) { (_holeFrom, _holeTo) = (offset, data); return true; }
            long hole = LinuxBlockDevice.LSeek(_fd, data, SeekHole);
            if (hole < 0) { Disable(); return false; }
            (_dataFrom, _dataTo) = (data, hole);
            return false;
        }

        private void Disable()
        {
            LinuxBlockDevice.Close(_fd);
            _fd = -1;
        }

        public void Dispose()
        {
            if (_fd >= 0) Disable();
        }
    }
}
