using System;
using System.Buffers.Binary;

namespace NekkBackup.Core.Imaging.Allocation
{
    /// <summary>
    /// Bounds-checked reads of file-system metadata from an <see cref="IBlockSource"/>: every read is checked
    /// against the volume's length and a size cap before anything is allocated, and a short read is an
    /// <see cref="AllocationUnsupportedException"/>, never a silently zero-filled buffer.
    /// </summary>
    internal sealed class VolumeReader
    {
        /// <summary>Largest single metadata read (an NTFS $Bitmap of a 256 TiB volume of 4 KiB clusters is 8 GiB; reads are chunked below this).</summary>
        public const int MaxRead = 16 << 20;

        private readonly IBlockSource _source;

        public VolumeReader(IBlockSource source)
        {
            _source = source;
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
            int got = _source.Read(offset, buffer, count);
            if (got != count)
                throw new AllocationUnsupportedException($"{what} could not be read whole ({got} of {count} bytes at {offset})");
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
