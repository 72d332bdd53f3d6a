using System;
using NekkBackup.Core.Imaging;

namespace NekkBackup.Core.Tests.Imaging.Allocation
{
    /// <summary>An in-memory volume (tests mutate <see cref="Bytes"/> between reads); counts reads and bytes read.</summary>
    internal sealed class MemorySource : IBlockSource
    {
        public MemorySource(byte[] bytes, string path = "memory")
        {
            Bytes = bytes;
            Path = path;
        }

        public byte[] Bytes { get; }
        public string Path { get; }
        public long Length => Bytes.Length;
        public int Reads { get; private set; }
        public long BytesRead { get; private set; }

        public int Read(long offset, byte[] buffer, int count)
        {
            Reads++;
            int n = (int)Math.Max(0, Math.Min(count, Bytes.Length - offset));
            Buffer.BlockCopy(Bytes, (int)offset, buffer, 0, n);
            BytesRead += n;
            return n;
        }

        public void Dispose() { }
    }
}
