using System;
using System.Buffers;
using ZstdSharp;

namespace NekkBackup.Core.Imaging
{
    /// <summary>
    /// The chunk object format: a 12-byte header ("NKC", version 1, compression 0=none/1=zstd, 3 reserved, raw length
    /// int32 LE) and the payload. Zstd output is kept only when it saves at least 3 % (studio audio barely compresses;
    /// raw chunks restore faster). Decoding checks everything against the chunk's name: header, length, decompression,
    /// SHA-256.
    /// </summary>
    internal static class ChunkCodec
    {
        public const int HeaderSize = 12;
        private const byte CompressionNone = 0;
        private const byte CompressionZstd = 1;
        private const int ProbeSize = 16 * 1024;

        [ThreadStatic] private static Compressor? t_compressor;
        [ThreadStatic] private static int t_level;
        [ThreadStatic] private static Decompressor? t_decompressor;

        /// <summary>The largest object a chunk of <paramref name="rawLength"/> bytes may be (anything larger is damage, never read whole).</summary>
        public static long MaxStoredLength(int rawLength) => HeaderSize + 2L * rawLength + 4096;

        /// <summary>Header and payload in a buffer rented from <see cref="ArrayPool{T}.Shared"/> (the caller returns it).</summary>
        public static byte[] Encode(byte[] data, int offset, int count, bool compress, int level, out int length)
        {
            byte method = CompressionNone;
            byte[]? compressed = null;
            int payloadLength = count;
            try
            {
                if (compress)
                {
                    if (t_compressor == null || t_level != level)
                    {
                        t_compressor?.Dispose();
                        t_compressor = new Compressor(level);
                        t_level = level;
                    }
                    compressed = ArrayPool<byte>.Shared.Rent(Compressor.GetCompressBound(count));
                    if (!LooksIncompressible(t_compressor, data, offset, count, compressed))
                    {
                        int c = t_compressor.Wrap(new ReadOnlySpan<byte>(data, offset, count), new Span<byte>(compressed));
                        if (c < count - count / 32)
                        {
                            method = CompressionZstd;
                            payloadLength = c;
                        }
                    }
                }
                length = HeaderSize + payloadLength;
                var file = ArrayPool<byte>.Shared.Rent(length);
                Array.Clear(file, 0, HeaderSize);
                file[0] = (byte)'N'; file[1] = (byte)'K'; file[2] = (byte)'C'; file[3] = 1;
                file[4] = method;
                unchecked { file[8] = (byte)count; file[9] = (byte)(count >> 8); file[10] = (byte)(count >> 16); file[11] = (byte)(count >> 24); }
                if (method == CompressionZstd) Buffer.BlockCopy(compressed!, 0, file, HeaderSize, payloadLength);
                else Buffer.BlockCopy(data, offset, file, HeaderSize, payloadLength);
                return file;
            }
            finally
            {
                if (compressed != null) ArrayPool<byte>.Shared.Return(compressed);
            }
        }

        /// <summary>
        /// Two 16 KiB samples (start and middle) that zstd cannot shrink by 3 % mark the chunk as incompressible (PCM audio,
        /// already-compressed media): it is stored raw without paying for a full compression attempt. Measured in
        /// docs/ghost-repository.md.
        /// </summary>
        private static bool LooksIncompressible(Compressor z, byte[] data, int offset, int count, byte[] scratch)
        {
            if (count < 4 * ProbeSize) return false;
            foreach (int at in new[] { 0, count / 2 })
            {
                int c = z.Wrap(new ReadOnlySpan<byte>(data, offset + at, ProbeSize), new Span<byte>(scratch));
                if (c < ProbeSize - ProbeSize / 32) return false;
            }
            return true;
        }

        /// <summary>
        /// Decodes <paramref name="fileLength"/> bytes of a chunk object into <paramref name="buffer"/> and checks them
        /// against <paramref name="expected"/>. Returns the raw length; throws <see cref="ChunkException"/> (Corrupt).
        /// </summary>
        public static int Decode(byte[] file, int fileLength, ChunkId expected, byte[] buffer, int expectedLength)
        {
            if (fileLength < HeaderSize || file[0] != 'N' || file[1] != 'K' || file[2] != 'C' || file[3] != 1)
                throw new ChunkException("Corrupt", "bad chunk header");
            int raw = file[8] | (file[9] << 8) | (file[10] << 16) | (file[11] << 24);
            if (raw != expectedLength || raw > buffer.Length)
                throw new ChunkException("Corrupt", $"chunk holds {raw} bytes, the image expects {expectedLength}");
            int n;
            if (file[4] == CompressionNone)
            {
                n = fileLength - HeaderSize;
                if (n != raw) throw new ChunkException("Corrupt", "chunk is truncated");
                Buffer.BlockCopy(file, HeaderSize, buffer, 0, n);
            }
            else if (file[4] == CompressionZstd)
            {
                try
                {
                    var d = t_decompressor ??= new Decompressor();
                    n = d.Unwrap(new ReadOnlySpan<byte>(file, HeaderSize, fileLength - HeaderSize), new Span<byte>(buffer, 0, raw));
                }
                catch (Exception e) when (!(e is OutOfMemoryException))
                {
                    throw new ChunkException("Corrupt", "zstd payload does not decompress: " + e.Message);
                }
                if (n != raw) throw new ChunkException("Corrupt", "zstd payload has the wrong length");
            }
            else throw new ChunkException("Corrupt", "unknown compression method " + file[4]);

            if (!ChunkId.Of(buffer, n).Equals(expected)) throw new ChunkException("Corrupt", "content does not match its SHA-256");
            return n;
        }
    }

    internal sealed class ChunkException : Exception
    {
        public ChunkException(string problem, string message) : base(message) => Problem = problem;

        /// <summary>Missing, Corrupt or Unreadable.</summary>
        public string Problem { get; }
    }
}
