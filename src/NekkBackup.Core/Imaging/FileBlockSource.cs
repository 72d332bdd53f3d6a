using System;
using System.IO;

namespace NekkBackup.Core.Imaging
{
    /// <summary>
    /// A disk-image file, or a Linux/macOS block device read through a plain FileStream — and on Linux, aligned ranges
    /// through a second, O_DIRECT descriptor (<see cref="DirectIo"/>).
    /// </summary>
    internal sealed class FileBlockSource : IBlockSource, IHoleMap, IRangeReader
    {
        private readonly FileStream _stream;
        private readonly FileHoles? _holes;
        private Microsoft.Win32.SafeHandles.SafeFileHandle? _direct;

        public FileBlockSource(string path)
        {
            Path = path;
            // bufferSize 0/1: no FileStream buffer — the engine reads whole chunks.
            _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.SequentialScan);
            IsBlockDevice = LinuxBlockDevice.IsBlockDevice(path);
            Length = IsBlockDevice ? LinuxBlockDevice.GetSize(_stream.SafeFileHandle) : _stream.Length;
            if (!IsBlockDevice) _holes = FileHoles.TryOpen(path, Length);
            _direct = DirectIo.TryOpen(path);
        }

        public string Path { get; }
        public long Length { get; }
        public bool IsBlockDevice { get; }

        public int Read(long offset, byte[] buffer, int count) => Read(offset, buffer, 0, count);

        public bool ReadsUncached => _direct != null;

        public int Read(long offset, byte[] buffer, int bufferOffset, int count)
        {
            int total = 0;
            if (_direct != null)
            {
                try { total = Math.Max(0, DirectIo.TryRead(_direct, offset, buffer, bufferOffset, count)); }
                catch (IOException)
                {
                    // The file system refused an uncached read (EINVAL): read cached from now on.
                    _direct.Dispose();
                    _direct = null;
                    total = 0;
                }
                if (total == count) return total;
            }
            if (_stream.Position != offset + total) _stream.Position = offset + total;
            while (total < count)
            {
                int n = _stream.Read(buffer, bufferOffset + total, count - total);
                if (n <= 0) break;
                total += n;
            }
            return total;
        }

        /// <summary>A hole of a sparse image file reads as zeros: the capture need not read it.</summary>
        public bool IsHole(long offset, int count) => _holes != null && _holes.IsHole(offset, count);

        public void Dispose()
        {
            _holes?.Dispose();
            _direct?.Dispose();
            _stream.Dispose();
        }
    }
}
