using System;
using System.Collections.Concurrent;
using System.Threading;
using System.Threading.Tasks;

namespace NekkBackup.Core.Cloud
{
    /// <summary>
    /// A fixed number of part-sized buffers shared by the whole run: the bound on memory whatever the file
    /// sizes (count × part size). Every holder releases after its own I/O, so holders never wait on each other.
    /// </summary>
    public sealed class PartBufferPool : IDisposable
    {
        private readonly SemaphoreSlim _slots;
        private readonly ConcurrentBag<byte[]> _free = new();

        public PartBufferPool(int partSize, int count)
        {
            if (partSize <= 0) throw new ArgumentOutOfRangeException(nameof(partSize));
            PartSize = partSize;
            Count = Math.Max(2, count);
            _slots = new SemaphoreSlim(Count, Count);
        }

        public int PartSize { get; }
        public int Count { get; }

        public async Task<byte[]> RentAsync(CancellationToken ct)
        {
            await _slots.WaitAsync(ct).ConfigureAwait(false);
            return _free.TryTake(out var b) ? b : new byte[PartSize];
        }

        public void Return(byte[] buffer)
        {
            if (buffer.Length != PartSize) return;
            _free.Add(buffer);
            _slots.Release();
        }

        public void Dispose() => _slots.Dispose();
    }
}
