using System;
using System.Collections.Generic;
#if NET
using System.Numerics;
#endif

namespace NekkBackup.Core.Imaging.Allocation
{
    /// <summary>
    /// An <see cref="IAllocationMap"/> held as one bit per unit (1 = used). Readers mark file-system units
    /// (ext blocks/clusters, NTFS clusters); on volumes with more than <see cref="MaxUnits"/> of them the map
    /// coarsens — one bit stands for 2, 4, … file-system units and is set when any of them is used — so memory
    /// stays under 32 MiB whatever the volume (a 4 TiB volume of 4 KiB clusters: 16 KiB units).
    /// </summary>
    public sealed class AllocationBitmap : IAllocationMap
    {
        /// <summary>Most bits a map holds (2^28 bits = 32 MiB).</summary>
        public const long MaxUnits = 1L << 28;

        private readonly ulong[] _bits;
        private readonly int _shift;
        private readonly long _fsUnits;
        private readonly long _covered;
        private long _used = -1;

        /// <param name="fileSystem">Name reported by the map.</param>
        /// <param name="fsUnitSize">Bytes per file-system unit (block or cluster).</param>
        /// <param name="fsUnits">Units the file system's bitmap covers, from byte 0.</param>
        /// <param name="coveredBytes">Bytes the file system spans (≤ fsUnits × fsUnitSize); the rest of the volume counts as used.</param>
        /// <param name="length">Length of the volume.</param>
        internal AllocationBitmap(string fileSystem, int fsUnitSize, long fsUnits, long coveredBytes, long length)
        {
            if (fsUnitSize <= 0 || fsUnits <= 0 || coveredBytes <= 0 || coveredBytes > length || (coveredBytes - 1) / fsUnitSize >= fsUnits)
                throw new AllocationUnsupportedException($"inconsistent sizes ({fsUnits} units of {fsUnitSize} bytes, {coveredBytes} bytes of a {length}-byte volume)");
            int shift = 0;
            while (((fsUnits - 1) >> shift) + 1 > MaxUnits) shift++;
            if (((long)fsUnitSize << shift) > int.MaxValue)
                throw new AllocationUnsupportedException($"{fsUnits} units of {fsUnitSize} bytes is more than a map can hold");
            FileSystem = fileSystem;
            _shift = shift;
            _fsUnits = fsUnits;
            _covered = coveredBytes;
            Length = length;
            BlockSize = fsUnitSize << shift;
            TotalBlocks = ((fsUnits - 1) >> shift) + 1;
            _bits = new ulong[(TotalBlocks + 63) >> 6];
        }

        public string FileSystem { get; }
        public int BlockSize { get; }
        public long TotalBlocks { get; }
        public long Length { get; }

        /// <summary>Bytes the file system spans; bytes past it count as used.</summary>
        public long FileSystemBytes => _covered;

        public long UsedBlocks
        {
            get
            {
                if (_used < 0)
                {
                    long n = 0;
                    foreach (var w in _bits) n += PopCount(w);
                    _used = n;
                }
                return _used;
            }
        }

        public long UsedBytes
        {
            get
            {
                long bytes = 0;
                foreach (var r in UsedRuns(0, Length)) bytes += r.Length;
                return bytes;
            }
        }

        // ------------------------------------------------------------------ building (readers)

        /// <summary>Marks one file-system unit used (ignored past the end).</summary>
        internal void Mark(long fsUnit) => MarkRange(fsUnit, 1);

        /// <summary>Marks file-system units [first, first + count) used, clipped to the map.</summary>
        internal void MarkRange(long first, long count)
        {
            if (count <= 0 || first >= _fsUnits) return;
            if (first < 0) { count += first; first = 0; if (count <= 0) return; }
            long last = Math.Min(_fsUnits - 1, first + (count - 1));
            SetBits(first >> _shift, last >> _shift);
            _used = -1;
        }

        /// <summary>Are all file-system units [first, first + count) marked (their map units, when coarsened)?</summary>
        internal bool AllMarked(long first, long count)
        {
            if (count <= 0) return true;
            if (first < 0 || first >= _fsUnits || count > _fsUnits - first) return false;
            long u0 = first >> _shift, u1 = (first + count - 1) >> _shift;
            return NextClear(u0, u1 + 1) > u1;
        }

        /// <summary>Is this file-system unit marked (its map unit, when coarsened)?</summary>
        internal bool IsMarked(long fsUnit) => fsUnit >= 0 && fsUnit < _fsUnits && Get(fsUnit >> _shift);

        /// <summary>
        /// ORs an on-disk bitmap in: bit j of byte k (least significant first, as ext and NTFS store them) is
        /// unit <paramref name="firstFsUnit"/> + 8k + j; only the first <paramref name="bitCount"/> bits count.
        /// </summary>
        internal void MarkBits(long firstFsUnit, byte[] bitmap, int offset, long bitCount)
        {
            if (bitCount <= 0) return;
            if (offset < 0 || bitCount > (long)(bitmap.Length - offset) * 8)
                throw new AllocationUnsupportedException("bitmap shorter than its unit count");
            bitCount = Math.Min(bitCount, _fsUnits - firstFsUnit);
            if (bitCount <= 0) return;
            _used = -1;
            long bytes = (bitCount + 7) >> 3;
            if (_shift == 0 && (firstFsUnit & 7) == 0)
            {
                long k0 = firstFsUnit >> 3;
                for (long i = 0; i < bytes; i++)
                {
                    ulong b = bitmap[offset + i];
                    if (b == 0) continue;
                    if (i == bytes - 1 && (bitCount & 7) != 0) b &= (1UL << (int)(bitCount & 7)) - 1;
                    long k = k0 + i;
                    _bits[k >> 3] |= b << (int)((k & 7) * 8);
                }
                return;
            }
            for (long i = 0; i < bytes; i++)
            {
                int b = bitmap[offset + i];
                if (b == 0) continue;
                long unit = firstFsUnit + i * 8;
                int bitsHere = (int)Math.Min(8, bitCount - i * 8);
                if (b == 0xFF && bitsHere == 8) { MarkRange(unit, 8); continue; }
                for (int j = 0; j < bitsHere; j++)
                    if ((b & (1 << j)) != 0) MarkRange(unit + j, 1);
            }
        }

        private void SetBits(long first, long last)
        {
            long w0 = first >> 6, w1 = last >> 6;
            ulong m0 = ~0UL << (int)(first & 63);
            ulong m1 = ~0UL >> (63 - (int)(last & 63));
            if (w0 == w1) { _bits[w0] |= m0 & m1; return; }
            _bits[w0] |= m0;
            for (long w = w0 + 1; w < w1; w++) _bits[w] = ~0UL;
            _bits[w1] |= m1;
        }

        private bool Get(long unit) => (_bits[unit >> 6] & (1UL << (int)(unit & 63))) != 0;

        // ------------------------------------------------------------------ queries

        public bool IsUsed(long offset, long count)
        {
            if (!Clip(ref offset, ref count, out long end)) return false;
            if (end > _covered) return true;
            long first = offset / BlockSize, last = (end - 1) / BlockSize;
            return NextSet(first, last + 1) <= last;
        }

        public IEnumerable<AllocationRun> UsedRuns(long offset, long count)
        {
            if (!Clip(ref offset, ref count, out long end)) yield break;
            long runStart = -1, runEnd = -1;
            if (offset < _covered)
            {
                long limit = (Math.Min(end, _covered) - 1) / BlockSize + 1;
                long u = offset / BlockSize;
                while (u < limit)
                {
                    long s = NextSet(u, limit);
                    if (s >= limit) break;
                    long e = NextClear(s, limit);
                    long a = Math.Max(offset, s * BlockSize), b = Math.Min(Math.Min(end, _covered), e * BlockSize);
                    if (runStart >= 0) yield return new AllocationRun(runStart, runEnd - runStart);
                    runStart = a;
                    runEnd = b;
                    u = e;
                }
            }
            if (end > _covered)
            {
                long a = Math.Max(offset, _covered);
                if (runStart >= 0 && runEnd == a) { runEnd = end; }
                else
                {
                    if (runStart >= 0) yield return new AllocationRun(runStart, runEnd - runStart);
                    runStart = a;
                    runEnd = end;
                }
            }
            if (runStart >= 0) yield return new AllocationRun(runStart, runEnd - runStart);
        }

        private bool Clip(ref long offset, ref long count, out long end)
        {
            end = 0;
            if (count <= 0 || offset >= Length) return false;
            if (offset < 0) { count += offset; offset = 0; }
            end = count > Length - offset ? Length : offset + count;
            return end > offset;
        }

        private long NextSet(long from, long limit)
        {
            while (from < limit)
            {
                ulong word = _bits[from >> 6] >> (int)(from & 63);
                if (word != 0) return Math.Min(limit, from + TrailingZeros(word));
                from = ((from >> 6) + 1) << 6;
            }
            return limit;
        }

        private long NextClear(long from, long limit)
        {
            while (from < limit)
            {
                ulong word = ~_bits[from >> 6] >> (int)(from & 63);
                if (word != 0) return Math.Min(limit, from + TrailingZeros(word));
                from = ((from >> 6) + 1) << 6;
            }
            return limit;
        }

#if NET
        private static int TrailingZeros(ulong v) => BitOperations.TrailingZeroCount(v);
        private static int PopCount(ulong v) => BitOperations.PopCount(v);
#else
        private static int TrailingZeros(ulong v)
        {
            int n = 0;
            if ((v & 0xFFFFFFFF) == 0) { n += 32; v >>= 32; }
            if ((v & 0xFFFF) == 0) { n += 16; v >>= 16; }
            if ((v & 0xFF) == 0) { n += 8; v >>= 8; }
            if ((v & 0xF) == 0) { n += 4; v >>= 4; }
            if ((v & 0x3) == 0) { n += 2; v >>= 2; }
            if ((v & 0x1) == 0) n += 1;
            return n;
        }

        private static int PopCount(ulong v)
        {
            unchecked
            {
                v -= (v >> 1) & 0x5555555555555555UL;
                v = (v & 0x3333333333333333UL) + ((v >> 2) & 0x3333333333333333UL);
                v = (v + (v >> 4)) & 0x0F0F0F0F0F0F0F0FUL;
                return (int)((v * 0x0101010101010101UL) >> 56);
            }
        }
#endif
    }
}
