using System;
using System.IO;

namespace NekkBackup.Core.Imaging
{
    /// <summary>A disk-image file, or a Linux/macOS block device read through a plain FileStream.</summary>
    internal sealed class FileBlockSource : IBlockSource, IHoleMap
    {
        private readonly FileStream _stream;
        private readonly FileHoles? _holes;

        public FileBlockSource(string path)
        {
            Path = path;
            // bufferSize 0/1: no FileStream buffer — the engine reads whole chunks.
            _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.SequentialScan);
            IsBlockDevice = LinuxBlockDevice.IsBlockDevice(path);
            Length = IsBlockDevice ? LinuxBlockDevice.GetSize(_stream.SafeFileHandle) : _stream.Length;
            if (!IsBlockDevice) _holes = FileHoles.TryOpen(path, Length);
        }

        public string Path { get; }
        public long Length { get; }
        public bool IsBlockDevice { get; }

        public int Read(long offset, byte[] buffer, int count)
        {
            if (_stream.Position != offset) _stream.Position = offset;
            int total = 0;
            while (total < count)
            {
                int n = _stream.Read(buffer, total, count - total);
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
            _stream.Dispose();
        }
    }
}
