using System;
using System.IO;

namespace NekkBackup.Core.Imaging
{
    /// <summary>A disk-image file, or a Linux/macOS block device read through a plain FileStream.</summary>
    internal sealed class FileBlockSource : IBlockSource
    {
        private readonly FileStream _stream;

        public FileBlockSource(string path)
        {
            Path = path;
            // bufferSize 0/1: no FileStream buffer — the engine reads whole chunks.
            _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.SequentialScan);
            IsBlockDevice = LinuxBlockDevice.IsBlockDevice(path);
            Length = IsBlockDevice ? LinuxBlockDevice.GetSize(_stream.SafeFileHandle) : _stream.Length;
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

        public void Dispose() => _stream.Dispose();
    }
}
