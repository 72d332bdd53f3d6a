using System;

namespace NekkBackup.Core.Imaging.Allocation
{
    /// <summary>
    /// A used-block view of a volume: a read of a range the allocation map marks wholly free touches no disk
    /// and returns zeros; any other read reads the range and zeroes the parts the map marks free. So a chunk
    /// of free space becomes an all-zero chunk (stored as nothing), and a partly used chunk's content depends
    /// only on its used blocks — stable across captures, whatever deleted data or TRIM leaves in the free blocks.
    /// Does not own the source it wraps.
    /// </summary>
    internal sealed class UsedBlockSource : IBlockSource, IHoleMap, IRangeReader
    {
        private readonly IBlockSource _inner;
        private readonly IAllocationMap _map;

        public UsedBlockSource(IBlockSource inner, IAllocationMap map)
        {
            _inner = inner;
            _map = map;
        }

        public string Path => _inner.Path;
        public long Length => _inner.Length;

        /// <summary>Bytes actually read from the volume so far.</summary>
        public long BytesRead { get; private set; }

        public int Read(long offset, byte[] buffer, int count) => Read(offset, buffer, 0, count);

        /// <summary>Uncached when the volume below reads uncached (the capture then hands aligned buffers through).</summary>
        public bool ReadsUncached => _inner is IRangeReader r && r.ReadsUncached;

        public int Read(long offset, byte[] buffer, int bufferOffset, int count)
        {
            if (!_map.IsUsed(offset, count))
            {
                int n = (int)Math.Max(0, Math.Min(count, Length - offset));
                Array.Clear(buffer, bufferOffset, n);
                return n;
            }
            int got = bufferOffset == 0 ? _inner.Read(offset, buffer, count)
                : _inner is IRangeReader ranged ? ranged.Read(offset, buffer, bufferOffset, count)
                : throw new InvalidOperationException("The volume below reads only into the start of a buffer.");
            BytesRead += got;
            long pos = offset;
            foreach (var run in _map.UsedRuns(offset, got))
            {
                if (run.Offset > pos) Array.Clear(buffer, bufferOffset + (int)(pos - offset), (int)(run.Offset - pos));
                pos = run.End;
            }
            if (offset + got > pos) Array.Clear(buffer, bufferOffset + (int)(pos - offset), (int)(offset + got - pos));
            return got;
        }

        /// <summary>Free space, or a hole of the file below: zeros without a read.</summary>
        public bool IsHole(long offset, int count) => !_map.IsUsed(offset, count) || (_inner is IHoleMap h && h.IsHole(offset, count));

        public void Dispose() { }
    }
}
