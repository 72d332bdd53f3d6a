using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Amazon.Runtime;
using Amazon.S3.Model;

namespace NekkBackup.Core.Storage
{
    /// <summary>
    /// The body of one GetObject. It ends only after the SDK's integrity check of the body (MD5 against the
    /// ETag of a single-part object) has passed: that check runs when the SDK stream is closed, so this stream
    /// closes it as soon as the last byte is read and turns a failed check (a body torn by a concurrent
    /// overwrite on a store that is not atomic, or damaged in transit) into a transient ContentMismatch
    /// instead of a silent end of stream. A body shorter than announced is a transient error too.
    /// </summary>
    internal sealed class S3ReadStream : Stream
    {
        private readonly GetObjectResponse _response;
        private readonly string _key;
        private long _remaining;
        private bool _closed;

        public S3ReadStream(GetObjectResponse response, string key)
        {
            _response = response;
            _key = key;
            _remaining = response.ContentLength;
        }

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        /// <summary>The length the server announced (known before the body is read, so a caller can refuse a huge object unread).</summary>
        public override long Length => _response.ContentLength;
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            if (_remaining <= 0)
            {
                Close(true);
                return 0;
            }
            int n;
            try { n = await _response.ResponseStream.ReadAsync(buffer, offset, (int)Math.Min(count, _remaining), cancellationToken).ConfigureAwait(false); }
            catch (Exception ex) when (ex is IOException || ex is AmazonClientException || ex is System.Net.Http.HttpRequestException)
            {
                throw new TargetException(TargetErrorKind.Io, $"The body of '{_key}' was cut short with {_remaining} bytes to go: {ex.Message}", _key, ex, transient: true);
            }
            if (n == 0)
                throw new TargetException(TargetErrorKind.Io, $"The body of '{_key}' ended {_remaining} bytes early.", _key, transient: true);
            _remaining -= n;
            if (_remaining == 0) Close(true);
            return n;
        }

        private void Close(bool check)
        {
            if (_closed) return;
            _closed = true;
            try { _response.Dispose(); }
            catch (AmazonClientException ex) when (check)
            {
                throw new TargetException(TargetErrorKind.ContentMismatch, $"The body of '{_key}' failed the integrity check ({ex.Message}); it changed while it was read or was damaged on the way. Read it again.", _key, ex, transient: true);
            }
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                try { Close(false); } catch (Exception ex) when (!(ex is OutOfMemoryException)) { }
            }
            base.Dispose(disposing);
        }
    }
}
