using System;
using System.IO;
using System.Security.Cryptography;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Imaging
{
    /// <summary>
    /// images/&lt;id&gt;.idx — the image's chunk list, streamed to disk during capture so memory stays flat:
    /// a 32-byte header ("NKIX", version u32, chunk size u32, reserved u32, volume size i64, chunk count i64,
    /// little-endian) then one 32-byte SHA-256 per chunk in volume order; 32 zero bytes = an all-zero chunk
    /// (stored as nothing). Its SHA-256 is recorded in the manifest.
    /// </summary>
    internal sealed class ImageIndexWriter : IDisposable
    {
        public const int HeaderSize = 32;
        private readonly FileStream _fs;
        private readonly SHA256 _sha = SHA256.Create();
        private static readonly byte[] Zero = new byte[32];

        public ImageIndexWriter(string path, int chunkSize, long sizeBytes)
        {
            Path = path;
            _fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
            var h = new byte[HeaderSize];
            h[0] = (byte)'N'; h[1] = (byte)'K'; h[2] = (byte)'I'; h[3] = (byte)'X';
            WriteLe(h, 4, 1, 4);
            WriteLe(h, 8, chunkSize, 4);
            WriteLe(h, 16, sizeBytes, 8);
            WriteLe(h, 24, ChunkCount(sizeBytes, chunkSize), 8);
            Append(h);
        }

        public string Path { get; }

        public static long ChunkCount(long size, int chunkSize) => (size + chunkSize - 1) / chunkSize;

        private static void WriteLe(byte[] b, int at, long v, int n)
        {
            unchecked { for (int i = 0; i < n; i++) b[at + i] = (byte)(v >> (8 * i)); }
        }

        private void Append(byte[] b)
        {
            _fs.Write(b, 0, b.Length);
            _sha.TransformBlock(b, 0, b.Length, null, 0);
        }

        public void Add(byte[]? hash) => Append(hash ?? Zero);

        /// <summary>Flushes, closes and returns the SHA-256 of the file.</summary>
        public string Complete()
        {
            _fs.Flush(true);
            _fs.Dispose();
            _sha.TransformFinalBlock(Array.Empty<byte>(), 0, 0);
            return Hex.Encode(_sha.Hash!);
        }

        public void Dispose()
        {
            _fs.Dispose();
            _sha.Dispose();
        }
    }

    internal sealed class ImageIndexReader : IDisposable
    {
        private readonly FileStream _fs;
        private long _next;

        private ImageIndexReader(FileStream fs, int chunkSize, long sizeBytes, long count)
        {
            _fs = fs;
            ChunkSize = chunkSize;
            SizeBytes = sizeBytes;
            Count = count;
        }

        public int ChunkSize { get; }
        public long SizeBytes { get; }
        public long Count { get; }

        /// <summary>
        /// Opens and checks the index against the manifest (a regular file inside the repository, its length, digest
        /// and header) before anything uses it. The manifest was validated: its IndexFile is &lt;ImageId&gt;.idx.
        /// </summary>
        public static ImageIndexReader Open(RepositoryLayout repo, ImageManifest m)
        {
            var path = repo.IndexPath(m.ImageId);
            var fs = repo.Store.OpenRead(path, Validation.Reasons.IndexCorrupt, "the chunk list")
                ?? throw Fail.InvalidData("IndexCorrupt", $"The chunk list of image '{m.ImageId}' is missing ({m.IndexFile}).", m.ImageId);
            try
            {
                long expected = ImageIndexWriter.HeaderSize + m.Chunks * 32;
                if (fs.Length != expected)
                    throw Fail.InvalidData("IndexCorrupt", $"The chunk list of image '{m.ImageId}' is {fs.Length} bytes; {m.Chunks} chunks make {expected}.", m.ImageId);
                using (var sha = SHA256.Create())
                {
                    if (!string.Equals(Hex.Encode(sha.ComputeHash(fs)), m.IndexSha256, StringComparison.Ordinal))
                        throw Fail.InvalidData("IndexCorrupt", $"The chunk list of image '{m.ImageId}' does not match its manifest digest.", m.ImageId);
                }
                fs.Position = 0;
                var h = new byte[ImageIndexWriter.HeaderSize];
                if (fs.Read(h, 0, h.Length) != h.Length || h[0] != 'N' || h[1] != 'K' || h[2] != 'I' || h[3] != 'X')
                    throw Fail.InvalidData("IndexCorrupt", $"The chunk list of image '{m.ImageId}' has a bad header.", m.ImageId);
                int chunkSize = BitConverter.ToInt32(h, 8);
                long size = BitConverter.ToInt64(h, 16);
                long count = BitConverter.ToInt64(h, 24);
                if (chunkSize != m.ChunkSize || size != m.SizeBytes || count != m.Chunks)
                    throw Fail.InvalidData("IndexCorrupt", $"The chunk list of image '{m.ImageId}' is inconsistent with its manifest.", m.ImageId);
                return new ImageIndexReader(fs, chunkSize, size, count);
            }
            catch
            {
                fs.Dispose();
                throw;
            }
        }

        /// <summary>Next entry into <paramref name="hash"/> (32 bytes); returns false at the end. isZero for an all-zero chunk.</summary>
        public bool Next(byte[] hash, out long index, out bool isZero)
        {
            index = _next;
            isZero = false;
            if (_next >= Count) return false;
            int got = 0;
            while (got < 32)
            {
                int n = _fs.Read(hash, got, 32 - got);
                if (n <= 0) throw new EndOfStreamException("chunk list truncated");
                got += n;
            }
            _next++;
            isZero = true;
            for (int i = 0; i < 32; i++) if (hash[i] != 0) { isZero = false; break; }
            return true;
        }

        /// <summary>Entry <paramref name="index"/> into <paramref name="hash"/> (random access; moves the sequential position). True for an all-zero chunk.</summary>
        public bool HashAt(long index, byte[] hash)
        {
            if (index < 0 || index >= Count) throw new ArgumentOutOfRangeException(nameof(index));
            _fs.Position = ImageIndexWriter.HeaderSize + index * 32;
            _next = index;
            Next(hash, out _, out bool zero);
            return zero;
        }

        public int LengthOf(long index) => (int)Math.Min(ChunkSize, SizeBytes - index * ChunkSize);

        public void Dispose() => _fs.Dispose();
    }
}
