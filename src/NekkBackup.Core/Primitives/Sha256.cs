using System;
using System.Buffers;
using System.IO;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;

namespace NekkBackup.Core.Primitives
{
    /// <summary>The one SHA-256 helper for files and streams: lower-case hex, cancellable, with a byte callback for progress.</summary>
    public static class Sha256
    {
        public const string EmptyHex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        public const int HexLength = 64;
        private const int BufferSize = 1 << 20;

        public static bool IsHex(string? s) => Hex.IsLowerHex(s, HexLength);

        public static string Of(byte[] data) => Of(data, 0, data.Length);

        public static string Of(byte[] data, int offset, int count) => Hex.Encode(Digest(data, offset, count));

        /// <summary>The 32-byte digest of a buffer's range (chunk names, hashed per chunk: no hex round trip, no hasher per call).</summary>
        public static byte[] Digest(byte[] data, int offset, int count)
        {
#if NET
            return SHA256.HashData(new ReadOnlySpan<byte>(data, offset, count));
#else
            var sha = t_sha ??= SHA256.Create();
            return sha.ComputeHash(data, offset, count);
#endif
        }

#if !NET
        [ThreadStatic] private static SHA256? t_sha;
#endif

        /// <summary>Hashes <paramref name="stream"/> from its position to its end; returns (hex, bytes read).</summary>
        public static async Task<(string Hash, long Length)> OfStreamAsync(Stream stream, CancellationToken cancellationToken, Action<int>? onBytes = null)
        {
            if (stream == null) throw new ArgumentNullException(nameof(stream));
            using var sha = SHA256.Create();
            var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
            try
            {
                long total = 0;
                int n;
                while ((n = await stream.ReadAsync(buffer, 0, BufferSize, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    sha.TransformBlock(buffer, 0, n, null, 0);
                    total += n;
                    onBytes?.Invoke(n);
                }
                sha.TransformFinalBlock(buffer, 0, 0);
                return (Hex.Encode(sha.Hash!), total);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        /// <summary>
        /// Hashes <paramref name="stream"/> from its position to its end on the calling thread, reading into the caller's
        /// <paramref name="buffer"/> (worker threads that keep one pooled buffer); returns (hex, bytes read).
        /// </summary>
        public static (string Hash, long Length) OfStream(Stream stream, byte[] buffer, CancellationToken cancellationToken, Action<int>? onBytes = null)
        {
            if (stream == null) throw new ArgumentNullException(nameof(stream));
            if (buffer == null || buffer.Length == 0) throw new ArgumentException("A buffer is needed.", nameof(buffer));
            using var sha = SHA256.Create();
            long total = 0;
            int n;
            while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                sha.TransformBlock(buffer, 0, n, null, 0);
                total += n;
                onBytes?.Invoke(n);
            }
            sha.TransformFinalBlock(buffer, 0, 0);
            return (Hex.Encode(sha.Hash!), total);
        }

        /// <summary>Hashes a whole file (opened for sequential reading, sharing read/write/delete with other processes).</summary>
        public static async Task<(string Hash, long Length)> OfFileAsync(string path, CancellationToken cancellationToken, Action<int>? onBytes = null)
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan);
            return await OfStreamAsync(fs, cancellationToken, onBytes).ConfigureAwait(false);
        }
    }
}
