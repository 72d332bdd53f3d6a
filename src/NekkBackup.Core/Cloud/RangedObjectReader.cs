using System;
using System.IO;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using Amazon.S3;
using Amazon.S3.Model;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Cloud
{
    /// <summary>
    /// A read-only, seekable stream over one S3 object made of ranged GETs (one window of the object per
    /// request, read as it arrives: nothing is buffered beyond the caller's buffer). Every request carries
    /// If-Match with the object's ETag, so an object replaced mid-read is noticed (NekkBackup.ArchiveChanged).
    /// A connection that drops mid-window is reopened at the exact byte reached (the client's one retry pipeline), and a seek
    /// forward inside the open window reads through instead of opening a new request.
    /// </summary>
    internal sealed class RangedObjectReader : Stream
    {
        /// <summary>Forward seeks up to this many bytes inside an open window read through.</summary>
        private const long ReadThroughLimit = 1L << 20;

        private readonly CloudClient _client;
        private readonly string _key;
        private readonly string? _etag;
        private readonly long _length;
        private readonly long _window;
        private readonly BandwidthLimiter _limiter;
        private GetObjectResponse? _response;
        private Stream? _body;
        private long _bodyPos;
        private long _bodyEnd;
        private long _pos;
        private byte[]? _discard;

        public RangedObjectReader(CloudClient client, string key, long length, string? etag, BandwidthLimiter limiter, long window = 64L << 20)
        {
            _client = client;
            _key = key;
            _length = length;
            _etag = string.IsNullOrEmpty(etag) ? null : etag;
            _window = Math.Max(1 << 20, window);
            _limiter = limiter;
        }

        /// <summary>Bytes received from the server (what a resume saves shows here).</summary>
        public long BytesFetched { get; private set; }

        /// <summary>GET requests made (each window, reopen and seek costs one).</summary>
        public int Requests { get; private set; }

        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => _length;

        public override long Position
        {
            get => _pos;
            set
            {
                if (value < 0 || value > _length) throw new ArgumentOutOfRangeException(nameof(value));
                _pos = value;
            }
        }

        public override long Seek(long offset, SeekOrigin origin)
        {
            Position = origin switch
            {
                SeekOrigin.Begin => offset,
                SeekOrigin.Current => _pos + offset,
                _ => _length + offset,
            };
            return _pos;
        }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

        /// <summary>
        /// One read, retried under the client's pipeline (the one retry layer): a connection that drops mid-window is
        /// closed and the next attempt reopens at the exact byte reached.
        /// </summary>
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken ct)
        {
            if (count == 0 || _pos >= _length) return Task.FromResult(0);
            return _client.RunAsync($"GetObject '{_key}' from byte {_pos}", async t =>
            {
                try
                {
                    await AlignAsync(t).ConfigureAwait(false);
                    int want = (int)Math.Min(count, _bodyEnd - _bodyPos);
                    int n = await _body!.ReadAsync(buffer, offset, want, t).ConfigureAwait(false);
                    if (n <= 0) throw new IOException($"the connection closed {_bodyEnd - _bodyPos} bytes before the end of the requested range");
                    Advance(n);
                    await _limiter.AcquireAsync(n, t).ConfigureAwait(false);
                    return n;
                }
                catch (Exception ex) when (!(ex is OperationCanceledException && t.IsCancellationRequested) && !(ex is NekkBackupException))
                {
                    CloseWindow(); // the next attempt reopens at _pos
                    throw;
                }
            }, ct, _key);
        }

        private void Advance(int n)
        {
            _bodyPos += n;
            _pos += n;
            BytesFetched += n;
            if (_bodyPos >= _bodyEnd) CloseWindow();
        }

        /// <summary>Makes the open window start at the current position: read through a short gap, or reopen.</summary>
        private async Task AlignAsync(CancellationToken ct)
        {
            if (_body != null && _pos != _bodyPos)
            {
                long gap = _pos - _bodyPos;
                if (gap > 0 && gap <= ReadThroughLimit && _pos < _bodyEnd)
                {
                    _discard ??= new byte[1 << 16];
                    long target = _pos;
                    _pos = _bodyPos; // Advance moves both
                    try
                    {
                        while (_bodyPos < target)
                        {
                            int n = await _body.ReadAsync(_discard, 0, (int)Math.Min(_discard.Length, target - _bodyPos), ct).ConfigureAwait(false);
                            if (n <= 0) throw new IOException("the connection closed inside the requested range");
                            Advance(n);
                            if (_body == null) break;
                        }
                    }
                    finally
                    {
                        _pos = target; // also when the read-through fails: the retry reopens where the caller asked
                    }
                    if (_body != null && _bodyPos == _pos) return;
                }
                CloseWindow();
            }
            if (_body == null) await OpenAsync(ct).ConfigureAwait(false);
        }

        private async Task OpenAsync(CancellationToken ct)
        {
            long start = _pos;
            long end = Math.Min(_length, start + _window); // exclusive
            var req = new GetObjectRequest { BucketName = _client.Target.Bucket, Key = _key, ByteRange = new ByteRange(start, end - 1) };
            if (_etag != null) req.EtagToMatch = _etag;
            GetObjectResponse resp;
            try
            {
                resp = await _client.S3.GetObjectAsync(req, ct).ConfigureAwait(false);
            }
            catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.PreconditionFailed)
            {
                throw Fail.InvalidData("ArchiveChanged", $"'{_key}' was replaced while it was being read (its ETag is no longer {_etag}); start the restore again.", _key, ex);
            }
            catch (AmazonS3Exception ex) when (ex.ErrorCode == "InvalidObjectState")
            {
                throw new NekkBackupException("CloudObjectArchived", FailureKind.ResourceUnavailable, $"'{_key}' is in cold storage and must be thawed first.", _key, ex);
            }
            Requests++;
            bool whole = resp.HttpStatusCode == HttpStatusCode.OK;
            if (whole && start != 0)
            {
                resp.Dispose();
                throw Fail.InvalidOperation("CloudRangeNotSupported", $"The endpoint ignored the byte range of '{_key}' (it answered the whole object); ranged reads are needed to restore an archive.", _key);
            }
            long expected = whole ? _length : end - start;
            if (resp.ContentLength != expected)
            {
                resp.Dispose();
                throw Fail.InvalidData("ArchiveChanged", $"'{_key}' answered {resp.ContentLength} bytes for a range of {expected}; the object is not the one the manifest describes.", _key);
            }
            _response = resp;
            _body = resp.ResponseStream;
            _bodyPos = start;
            _bodyEnd = start + expected;
        }

        private void CloseWindow()
        {
            try { _body?.Dispose(); } catch (Exception) { }
            try { _response?.Dispose(); } catch (Exception) { }
            _body = null;
            _response = null;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) CloseWindow();
            base.Dispose(disposing);
        }

        public override void Flush() { }
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
