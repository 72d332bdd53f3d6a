using System;
using System.IO;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Primitives;

namespace NekkBackup.Core.Cloud
{
    /// <summary>
    /// A read-through hash (SHA-256 unless told otherwise) of exactly the bytes read, to prove that the bytes sent are
    /// the bytes hashed (uploads) and that the bytes written are the bytes recorded (restores).
    /// </summary>
    internal sealed class HashingReadStream : Stream
    {
        private readonly Stream _inner;
        private readonly HashAlgorithm _hash;
        private byte[]? _digest;

        public HashingReadStream(Stream inner, HashAlgorithm? algorithm = null)
        {
            _inner = inner;
            _hash = algorithm ?? SHA256.Create();
        }

        public long BytesRead { get; private set; }

        /// <summary>The digest of everything read so far (reading stops counting once this is asked).</summary>
        public byte[] Digest()
        {
            if (_digest == null)
            {
                _hash.TransformFinalBlock(Array.Empty<byte>(), 0, 0);
                _digest = _hash.Hash!;
            }
            return _digest;
        }

        public string HashHex() => Hex.Encode(Digest());

        public override int Read(byte[] buffer, int offset, int count) => Took(buffer, offset, _inner.Read(buffer, offset, count));

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Took(buffer, offset, await _inner.ReadAsync(buffer, offset, count, cancellationToken).ConfigureAwait(false));

        private int Took(byte[] buffer, int offset, int n)
        {
            if (n > 0)
            {
                _hash.TransformBlock(buffer, offset, n, null, 0);
                BytesRead += n;
            }
            return n;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => _inner.Length;
        public override long Position { get => BytesRead; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing) _hash.Dispose();
            base.Dispose(disposing);
        }
    }
}
