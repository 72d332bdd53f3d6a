using System;
using System.Buffers;
using System.IO;
using System.Security.Cryptography;
using ZstdSharp;

namespace NekkBackup.Core.Imaging
{
    /// <summary>
    /// Chunk files: chunks/&lt;2 hex&gt;/&lt;sha256 hex of the raw bytes&gt;, each a 12-byte header
    /// ("NKC", version 1, compression 0=none/1=zstd, 3 reserved, raw length int32 LE) and the payload.
    /// Written to a temp name and renamed, so a chunk file is either whole or absent.
    /// </summary>
    internal static class ChunkStore
    {
        public const int HeaderSize = 12;
        private const byte CompressionNone = 0;
        private const byte CompressionZstd = 1;

        [ThreadStatic] private static SHA256? t_sha;
        [ThreadStatic] private static Compressor? t_compressor;
        [ThreadStatic] private static int t_level;
        [ThreadStatic] private static Decompressor? t_decompressor;

        public static byte[] Hash(byte[] buffer, int count)
        {
            var sha = t_sha ??= SHA256.Create();
            return sha.ComputeHash(buffer, 0, count);
        }

        /// <summary>
        /// Stores a chunk unless it exists. Zstd output is kept only when it saves at least 3 %
        /// (studio audio barely compresses; raw chunks restore faster). Returns whether this call created
        /// the file and the file's length.
        /// </summary>
        public static (bool created, long length) Write(string path, byte[] data, int count, bool compress, int level)
        {
            byte[]? rented = null;
            try
            {
                byte method = CompressionNone;
                byte[] payload = data;
                int payloadLength = count;
                if (compress)
                {
                    if (t_compressor == null || t_level != level)
                    {
                        t_compressor?.Dispose();
                        t_compressor = new Compressor(level);
                        t_level = level;
                    }
                    rented = ArrayPool<byte>.Shared.Rent(Compressor.GetCompressBound(count));
                    if (!LooksIncompressible(t_compressor, data, count, rented))
                    {
                        int c = t_compressor.Wrap(new ReadOnlySpan<byte>(data, 0, count), new Span<byte>(rented));
                        if (c < count - count / 32)
                        {
                            method = CompressionZstd;
                            payload = rented;
                            payloadLength = c;
                        }
                    }
                }
                var header = new byte[HeaderSize];
                header[0] = (byte)'N'; header[1] = (byte)'K'; header[2] = (byte)'C'; header[3] = 1;
                header[4] = method;
                unchecked { header[8] = (byte)count; header[9] = (byte)(count >> 8); header[10] = (byte)(count >> 16); header[11] = (byte)(count >> 24); }

                var dir = Path.GetDirectoryName(path)!;
                var tmp = Path.Combine(dir, ".tmp-" + Guid.NewGuid().ToString("N"));
                try
                {
                    using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1))
                    {
                        fs.Write(header, 0, HeaderSize);
                        fs.Write(payload, 0, payloadLength);
                    }
                    try
                    {
#if NET
                        // rename(2): atomic; if another capture stored the same content meanwhile, replacing
                        // identical bytes is harmless and cheaper than link+unlink.
                        bool existed = File.Exists(path);
                        File.Move(tmp, path, overwrite: true);
                        return (!existed, HeaderSize + payloadLength);
#else
                        File.Move(tmp, path);
                        return (true, HeaderSize + payloadLength);
#endif
                    }
                    catch (IOException) when (File.Exists(path))
                    {
                        // Another capture (or host) stored the same content first: identical bytes, keep theirs.
                        return (false, new FileInfo(path).Length);
                    }
                }
                finally
                {
                    try { if (File.Exists(tmp)) File.Delete(tmp); } catch (IOException) { }
                }
            }
            finally
            {
                if (rented != null) ArrayPool<byte>.Shared.Return(rented);
            }
        }

        private const int ProbeSize = 16 * 1024;

        /// <summary>
        /// Two 16 KiB samples (start and middle) that zstd cannot shrink by 3 % mark the chunk as
        /// incompressible (PCM audio, already-compressed media): it is stored raw without paying for a
        /// full compression attempt. Measured in docs/ghost-repository.md.
        /// </summary>
        private static bool LooksIncompressible(Compressor z, byte[] data, int count, byte[] scratch)
        {
            if (count < 4 * ProbeSize) return false;
            foreach (int at in new[] { 0, count / 2 })
            {
                int c = z.Wrap(new ReadOnlySpan<byte>(data, at, ProbeSize), new Span<byte>(scratch));
                if (c < ProbeSize - ProbeSize / 32) return false;
            }
            return true;
        }

        /// <summary>
        /// Reads a chunk into <paramref name="buffer"/>, decompresses it and checks its SHA-256 against its name.
        /// Returns the raw length; throws <see cref="ChunkException"/> (Missing / Corrupt / Unreadable).
        /// </summary>
        public static int Read(RepositoryLayout repo, string path, byte[] expectedHash, byte[] buffer, int expectedLength)
        {
            byte[]? file;
            try
            {
                // A regular file inside the repository, never followed or blocked on; never more than a chunk can be.
                file = repo.Store.ReadAllBytes(path, HeaderSize + 2L * expectedLength + 4096, "ChunkCorrupt", "the chunk file");
            }
            catch (Errors.NekkBackupException e) { throw new ChunkException("Corrupt", e.Message); }
            catch (FileNotFoundException) { throw new ChunkException("Missing", "the chunk file is missing"); }
            catch (DirectoryNotFoundException) { throw new ChunkException("Missing", "the chunk file is missing"); }
            catch (IOException e) { throw new ChunkException("Unreadable", e.Message); }
            catch (UnauthorizedAccessException e) { throw new ChunkException("Unreadable", e.Message); }
            if (file == null) throw new ChunkException("Missing", "the chunk file is missing");
            if (file.Length < HeaderSize || file[0] != 'N' || file[1] != 'K' || file[2] != 'C' || file[3] != 1)
                throw new ChunkException("Corrupt", "bad chunk header");
            int raw = file[8] | (file[9] << 8) | (file[10] << 16) | (file[11] << 24);
            if (raw != expectedLength || raw > buffer.Length)
                throw new ChunkException("Corrupt", $"chunk holds {raw} bytes, the image expects {expectedLength}");
            int n;
            if (file[4] == CompressionNone)
            {
                n = file.Length - HeaderSize;
                if (n != raw) throw new ChunkException("Corrupt", "chunk is truncated");
                Buffer.BlockCopy(file, HeaderSize, buffer, 0, n);
            }
            else if (file[4] == CompressionZstd)
            {
                try
                {
                    var d = t_decompressor ??= new Decompressor();
                    n = d.Unwrap(new ReadOnlySpan<byte>(file, HeaderSize, file.Length - HeaderSize), new Span<byte>(buffer, 0, raw));
                }
                catch (Exception e) when (!(e is OutOfMemoryException))
                {
                    throw new ChunkException("Corrupt", "zstd payload does not decompress: " + e.Message);
                }
                if (n != raw) throw new ChunkException("Corrupt", "zstd payload has the wrong length");
            }
            else throw new ChunkException("Corrupt", "unknown compression method " + file[4]);

            var actual = Hash(buffer, n);
            for (int i = 0; i < 32; i++)
                if (actual[i] != expectedHash[i]) throw new ChunkException("Corrupt", "content does not match its SHA-256");
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
