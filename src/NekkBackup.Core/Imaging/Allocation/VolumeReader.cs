using System;
using System.Buffers.Binary;
using System.Threading;

namespace NekkBackup.Core.Imaging.Allocation
{
    /// <summary>
    /// Bounds-checked reads of file-system metadata from an <see cref="IBlockSource"/>: every read is checked
    /// against the volume's length and a size cap before anything is allocated, and a short read is an
    /// <see cref="AllocationUnsupportedException"/>, never a silently zero-filled buffer.
    /// </summary>
    internal sealed class VolumeReader
    {
        /// <summary>Largest single metadata read; larger structures (an NTFS $Bitmap) are streamed in pieces.</summary>
        public const int MaxRead = 16 << 20;

        private const long Align = 4096;
        private const int PieceSize = 256 << 10;
        private readonly IBlockSource _source;
        private readonly CancellationToken _ct;
        private byte[]? _piece;

        public VolumeReader(IBlockSource source, CancellationToken ct = default)
        {
            _source = source;
            _ct = ct;
            Length = source.Length;
        }

        public long Length { get; }

        public byte[] Read(long offset, int count, string what)
        {
            var buffer = new byte[CheckRange(offset, count, what)];
            ReadInto(offset, buffer, count, what);
            return buffer;
        }

        public void ReadInto(long offset, byte[] buffer, int count, string what)
        {
            CheckRange(offset, count, what);
            if (count > buffer.Length) throw new ArgumentOutOfRangeException(nameof(count));
            _ct.ThrowIfCancellationRequested(); // every metadata read is a stop point (a 16 TiB NTFS volume has a 512 MiB $Bitmap)
            // Whole 4 KiB-aligned pieces: a Windows volume opened unbuffered reads only whole sectors (512 or 4096 bytes),
            // and at most its transfer buffer at a time. A volume's length is a multiple of its sector size, so clipping
            // the last piece to it stays aligned.
            long start = offset & ~(Align - 1);
            long end = Math.Min(Length, (offset + count + Align - 1) & ~(Align - 1));
            var piece = _piece ??= new byte[PieceSize];
            for (long at = start; at < end;)
            {
                int n = (int)Math.Min(PieceSize, end - at);
                int got = _source.Read(at, piece, n);
                if (got != n)
                    throw new AllocationUnsupportedException($"{what} could not be read whole ({got} of {n} bytes at {at})");
                long a = Math.Max(at, offset), b = Math.Min(at + n, offset + count);
                if (b > a) Buffer.BlockCopy(piece, (int)(a - at), buffer, (int)(a - offset), (int)(b - a));
                at += n;
            }
        }

        private int CheckRange(long offset, int count, string what)
        {
            if (count <= 0 || count > MaxRead || offset < 0 || offset > Length - count)
                throw new AllocationUnsupportedException($"{what} lies outside the volume ({count} bytes at {offset} of {Length})");
            return count;
        }

        public static ushort U16(byte[] b, int at) => BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(at, 2));
        public static uint U32(byte[] b, int at) => BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(at, 4));
        public static ulong U64(byte[] b, int at) => BinaryPrimitives.ReadUInt64LittleEndian(b.AsSpan(at, 8));
        /// <summary>A 64-bit field as signed (callers range-check it; no OverflowException for values ≥ 2^63).</summary>
        public static long I64(byte[] b, int at) => BinaryPrimitives.ReadInt64LittleEndian(b.AsSpan(at, 8));
    }
}
