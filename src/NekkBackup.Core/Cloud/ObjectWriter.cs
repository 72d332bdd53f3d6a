using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using Amazon.S3;
using Amazon.S3.Model;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Primitives;

namespace NekkBackup.Core.Cloud
{
    /// <summary>How one object is stored.</summary>
    public sealed class ObjectSpec
    {
        public string Key { get; init; } = "";
        public string? StorageClass { get; init; }
        /// <summary>GOVERNANCE or COMPLIANCE; with <see cref="RetainUntilUtc"/>.</summary>
        public string? ObjectLockMode { get; init; }
        public DateTime? RetainUntilUtc { get; init; }
        public IReadOnlyDictionary<string, string>? Metadata { get; init; }
        /// <summary>Total bytes when known (files): enables the resume journal.</summary>
        public long? ExpectedSize { get; init; }
        public bool UseJournal { get; init; }
        public string? SourcePath { get; init; }
        public string? ContentHash { get; init; }
        public string? CipherSalt { get; init; }
        public string? CipherNonce { get; init; }
        public string ContentType { get; init; } = "application/octet-stream";
    }

    public sealed class UploadOutcome
    {
        public long Bytes { get; init; }
        public long BytesSent { get; init; }
        public int PartsResumed { get; init; }
        public int Parts { get; init; }
        public string ETag { get; init; } = "";
    }

    /// <summary>Raised when a journaled UploadId is no longer known to the server: start over without it.</summary>
    public sealed class StaleUploadException : Exception
    {
        public StaleUploadException(string message, Exception inner) : base(message, inner) { }
    }

    /// <summary>
    /// Sink that turns a byte stream into one S3 object: a single PutObject when it fits in one part,
    /// otherwise a multipart upload whose parts go up in parallel from pooled buffers (bounded memory),
    /// each with Content-MD5 and its ETag checked, journaled so a killed upload resumes.
    /// Never uses aws-chunked framing (field-notes.md): the bytes stored are the bytes sent.
    /// </summary>
    public sealed class ObjectWriter
    {
        private readonly UploadContext _ctx;
        private readonly ObjectSpec _spec;
        private readonly CancellationToken _ct;
        private readonly int _partSize;
        private readonly List<Task> _inflight = new();
        private readonly List<JournalPart> _done = new();
        private readonly object _gate = new();
        private byte[]? _current;
        private int _fill;
        private int _nextPart = 1;
        private string? _uploadId;
        private JournalEntry? _journal;
        private Dictionary<int, JournalPart>? _resumable;
        private long _total;
        private long _sent;
        private int _resumed;
        private Exception? _failure;
        private bool _completed;

        public ObjectWriter(UploadContext ctx, ObjectSpec spec, CancellationToken ct)
        {
            _ctx = ctx;
            _spec = spec;
            _ct = ct;
            _partSize = ctx.PartSize;
            if (spec.ExpectedSize is long size && UploadContext.PartSizeFor(size, ctx.PartSize) > ctx.PartSize)
                throw Fail.Argument("CloudObjectTooLarge", $"'{spec.SourcePath ?? spec.Key}' ({size} bytes) needs parts larger than {ctx.PartSize} bytes; raise the part size.", spec.SourcePath);
        }

        private CloudClient Client => _ctx.Client;

        /// <summary>How this object is stored (a resumed encrypted upload reads its salt and nonce here).</summary>
        internal ObjectSpec Spec => _spec;
        private string Bucket => _ctx.Client.Target.Bucket;

        public long BytesWritten => _total;

        public async Task WriteAsync(byte[] data, int offset, int count)
        {
            while (count > 0)
            {
                ThrowIfFailed();
                if (_current != null && _fill == _partSize)
                    await DispatchCurrentAsync().ConfigureAwait(false);
                if (_current == null)
                {
                    _current = await _ctx.Pool.RentAsync(_ct).ConfigureAwait(false);
                    _fill = 0;
                }
                int n = Math.Min(count, _partSize - _fill);
                Buffer.BlockCopy(data, offset, _current, _fill, n);
                _fill += n;
                offset += n;
                count -= n;
                _total += n;
            }
        }

        /// <summary>Reads <paramref name="source"/> to its end into the object (no extra buffer: reads straight into part buffers).</summary>
        public async Task CopyFromAsync(Stream source, Action<long>? progress = null)
        {
            while (true)
            {
                ThrowIfFailed();
                if (_current != null && _fill == _partSize)
                    await DispatchCurrentAsync().ConfigureAwait(false);
                if (_current == null)
                {
                    _current = await _ctx.Pool.RentAsync(_ct).ConfigureAwait(false);
                    _fill = 0;
                }
                int n = await source.ReadAsync(_current, _fill, _partSize - _fill, _ct).ConfigureAwait(false);
                if (n == 0) break;
                _fill += n;
                _total += n;
                progress?.Invoke(n);
            }
        }

        private void ThrowIfFailed()
        {
            _ct.ThrowIfCancellationRequested();
            var f = Volatile.Read(ref _failure);
            if (f != null) throw f;
        }

        private async Task EnsureMultipartAsync()
        {
            if (_uploadId != null) return;
            var scope = Client.Target.JournalScope;
            if (_spec.UseJournal && _spec.ExpectedSize is long size)
            {
                var j = _ctx.Journal.Load(scope, _spec.Key);
                if (j != null && j.TotalSize == size && j.PartSize == _partSize && j.CipherSalt == _spec.CipherSalt && j.CipherNonce == _spec.CipherNonce)
                {
                    _journal = j;
                    _uploadId = j.UploadId;
                    _resumable = j.Parts.GroupBy(p => p.PartNumber).ToDictionary(g => g.Key, g => g.Last());
                    j.Parts = new List<JournalPart>();
                    return;
                }
                if (j != null)
                    await AbortQuietlyAsync(j.Key, j.UploadId).ConfigureAwait(false);
            }
            var req = new InitiateMultipartUploadRequest { BucketName = Bucket, Key = _spec.Key, ContentType = _spec.ContentType };
            ApplyCommon(req.Metadata, v => req.StorageClass = v, m => req.ObjectLockMode = m, d => req.ObjectLockRetainUntilDate = d);
            var resp = await Client.RunAsync("InitiateMultipartUpload", t => Client.S3.InitiateMultipartUploadAsync(req, t), _ct, _spec.SourcePath ?? _spec.Key).ConfigureAwait(false);
            _uploadId = resp.UploadId;
            if (_spec.UseJournal && _spec.ExpectedSize is long s2)
            {
                _journal = new JournalEntry
                {
                    Scope = scope, Key = _spec.Key, UploadId = _uploadId, TotalSize = s2, PartSize = _partSize,
                    SourcePath = _spec.SourcePath, ContentHash = _spec.ContentHash, CipherSalt = _spec.CipherSalt,
                    CipherNonce = _spec.CipherNonce, CreatedUtc = DateTime.UtcNow,
                };
                _ctx.Journal.Save(_journal);
            }
        }

        private void ApplyCommon(MetadataCollection meta, Action<S3StorageClass> setClass, Action<ObjectLockMode> setMode, Action<DateTime> setUntil)
        {
            if (!string.IsNullOrEmpty(_spec.StorageClass)) setClass(S3StorageClass.FindValue(_spec.StorageClass));
            if (!string.IsNullOrEmpty(_spec.ObjectLockMode) && _spec.RetainUntilUtc is DateTime until)
            {
                setMode(Amazon.S3.ObjectLockMode.FindValue(_spec.ObjectLockMode!.ToUpperInvariant()));
                setUntil(until);
            }
            if (_spec.Metadata != null)
                foreach (var kv in _spec.Metadata) meta[kv.Key] = kv.Value;
        }

        private async Task DispatchCurrentAsync()
        {
            var buffer = _current!;
            int length = _fill;
            _current = null;
            _fill = 0;
            int partNumber = _nextPart++;
            await EnsureMultipartAsync().ConfigureAwait(false);

            var md5 = Md5(buffer, length);
            var md5Hex = Hex.Encode(md5);
            if (_resumable != null && _resumable.TryGetValue(partNumber, out var prev) && prev.Size == length
                && string.Equals(prev.ETag.Trim('"'), md5Hex, StringComparison.OrdinalIgnoreCase))
            {
                _ctx.Pool.Return(buffer);
                _resumed++;
                _ctx.AddResumed(length);
                RecordPart(new JournalPart { PartNumber = partNumber, ETag = prev.ETag, Size = length });
                return;
            }

            await _ctx.UploadSlots.WaitAsync(_ct).ConfigureAwait(false);
            var task = Task.Run(async () =>
            {
                try
                {
                    await _ctx.Limiter.AcquireAsync(length, _ct).ConfigureAwait(false);
                    var resp = await Client.RunAsync($"UploadPart {partNumber} of '{_spec.Key}'", async t =>
                    {
                        var req = new UploadPartRequest
                        {
                            BucketName = Bucket, Key = _spec.Key, UploadId = _uploadId, PartNumber = partNumber,
                            InputStream = new MemoryStream(buffer, 0, length, false), PartSize = length,
                            MD5Digest = Convert.ToBase64String(md5), UseChunkEncoding = false,
                        };
                        try
                        {
                            return await Client.S3.UploadPartAsync(req, t).ConfigureAwait(false);
                        }
                        catch (AmazonS3Exception ex) when (ex.ErrorCode == "NoSuchUpload")
                        {
                            throw new StaleUploadException($"The multipart upload of '{_spec.Key}' is no longer known to the server.", ex);
                        }
                    }, _ct, _spec.SourcePath ?? _spec.Key).ConfigureAwait(false);
                    var etag = (resp.ETag ?? "").Trim('"');
                    if (IsHexMd5(etag) && !string.Equals(etag, md5Hex, StringComparison.OrdinalIgnoreCase))
                        throw Fail.InvalidData("CloudChecksumMismatch", $"Part {partNumber} of '{_spec.Key}' was stored with ETag {etag}, expected MD5 {md5Hex}.", _spec.SourcePath ?? _spec.Key);
                    Interlocked.Add(ref _sent, length);
                    _ctx.AddSent(length);
                    RecordPart(new JournalPart { PartNumber = partNumber, ETag = resp.ETag ?? md5Hex, Size = length });
                }
                catch (Exception ex)
                {
                    Interlocked.CompareExchange(ref _failure, ex is NekkBackupException or OperationCanceledException or StaleUploadException ? ex : new NekkBackupException("CloudUploadFailed", FailureKind.WriteError, ex.Message, _spec.SourcePath ?? _spec.Key, ex), null);
                }
                finally
                {
                    _ctx.Pool.Return(buffer);
                    _ctx.UploadSlots.Release();
                }
            });
            lock (_gate) _inflight.Add(task);
        }

        private void RecordPart(JournalPart part)
        {
            lock (_gate)
            {
                _done.Add(part);
                if (_journal != null)
                {
                    _journal.Parts = _done.ToList();
                    try { _ctx.Journal.Save(_journal); } catch (IOException) { } catch (UnauthorizedAccessException) { }
                }
            }
        }

        public async Task<UploadOutcome> CompleteAsync()
        {
            if (_completed) throw new InvalidOperationException("Already completed.");
            _completed = true;
            ThrowIfFailed();
            if (_uploadId == null)
            {
                // Fits one part: a single PutObject.
                var buffer = _current;
                int length = _fill;
                _current = null;
                try
                {
                    var etag = await PutSingleAsync(buffer ?? Array.Empty<byte>(), length).ConfigureAwait(false);
                    return new UploadOutcome { Bytes = length, BytesSent = length, Parts = 1, ETag = etag };
                }
                finally
                {
                    if (buffer != null) _ctx.Pool.Return(buffer);
                }
            }

            if (_current != null && (_fill > 0 || _nextPart == 1))
                await DispatchCurrentAsync().ConfigureAwait(false);
            else if (_current != null)
            {
                _ctx.Pool.Return(_current);
                _current = null;
            }
            await EnsureMultipartAsync().ConfigureAwait(false);
            Task[] all;
            lock (_gate) all = _inflight.ToArray();
            await Task.WhenAll(all).ConfigureAwait(false);
            ThrowIfFailed();

            List<JournalPart> parts;
            lock (_gate) parts = _done.OrderBy(p => p.PartNumber).ToList();
            var complete = new CompleteMultipartUploadRequest { BucketName = Bucket, Key = _spec.Key, UploadId = _uploadId };
            complete.PartETags = parts.Select(p => new PartETag(p.PartNumber, p.ETag)).ToList();
            CompleteMultipartUploadResponse resp;
            try
            {
                resp = await Client.RunAsync("CompleteMultipartUpload", async t =>
                {
                    try { return await Client.S3.CompleteMultipartUploadAsync(complete, t).ConfigureAwait(false); }
                    catch (AmazonS3Exception ex) when (ex.ErrorCode is "NoSuchUpload" or "InvalidPart")
                    {
                        throw new StaleUploadException($"The multipart upload of '{_spec.Key}' could not be completed ({ex.ErrorCode}).", ex);
                    }
                }, _ct, _spec.SourcePath ?? _spec.Key).ConfigureAwait(false);
            }
            catch (StaleUploadException)
            {
                if (_journal != null) _ctx.Journal.Delete(_journal.Scope, _journal.Key);
                throw;
            }
            var expected = ExpectedMultipartETag(parts);
            var got = (resp.ETag ?? "").Trim('"');
            if (expected != null && got.IndexOf('-') > 0 && !string.Equals(got, expected, StringComparison.OrdinalIgnoreCase))
                throw Fail.InvalidData("CloudChecksumMismatch", $"'{_spec.Key}' completed with ETag {got}, expected {expected}.", _spec.SourcePath ?? _spec.Key);
            if (_journal != null) _ctx.Journal.Delete(_journal.Scope, _journal.Key);
            return new UploadOutcome { Bytes = _total, BytesSent = Interlocked.Read(ref _sent), Parts = parts.Count, PartsResumed = _resumed, ETag = got };
        }

        /// <summary>Stores <paramref name="length"/> bytes of a caller's buffer as the whole object (one PutObject).</summary>
        public Task<string> PutBufferAsync(byte[] buffer, int length)
        {
            if (_completed || _current != null || _uploadId != null) throw new InvalidOperationException("The writer is already in use.");
            _completed = true;
            _total = length;
            return PutSingleAsync(buffer, length);
        }

        /// <summary>The whole file as one PutObject streamed from disk (no buffer), with the given Content-MD5.</summary>
        public Task<string> PutFileAsync(string path, long length, byte[] md5)
        {
            if (_completed || _current != null || _uploadId != null) throw new InvalidOperationException("The writer is already in use.");
            _completed = true;
            _total = length;
            return PutObjectAsync(
                () => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16, FileOptions.SequentialScan),
                length, md5);
        }

        private Task<string> PutSingleAsync(byte[] buffer, int length) =>
            PutObjectAsync(() => new MemoryStream(buffer, 0, length, false), length, Md5(buffer, length));

        /// <summary>One PutObject with Content-MD5, no chunk encoding, and the returned ETag checked against the MD5.</summary>
        private async Task<string> PutObjectAsync(Func<Stream> open, long length, byte[] md5)
        {
            var md5Hex = Hex.Encode(md5);
            await _ctx.UploadSlots.WaitAsync(_ct).ConfigureAwait(false);
            try
            {
                await _ctx.Limiter.AcquireAsync(length, _ct).ConfigureAwait(false);
                var resp = await Client.RunAsync($"PutObject '{_spec.Key}'", t =>
                {
                    var req = new PutObjectRequest
                    {
                        BucketName = Bucket, Key = _spec.Key, InputStream = open(),
                        MD5Digest = Convert.ToBase64String(md5), UseChunkEncoding = false, ContentType = _spec.ContentType,
                        AutoCloseStream = true,
                    };
                    req.Headers.ContentLength = length;
                    ApplyCommon(req.Metadata, v => req.StorageClass = v, m => req.ObjectLockMode = m, d => req.ObjectLockRetainUntilDate = d);
                    return Client.S3.PutObjectAsync(req, t);
                }, _ct, _spec.SourcePath ?? _spec.Key).ConfigureAwait(false);
                var etag = (resp.ETag ?? "").Trim('"');
                if (IsHexMd5(etag) && !string.Equals(etag, md5Hex, StringComparison.OrdinalIgnoreCase))
                    throw Fail.InvalidData("CloudChecksumMismatch", $"'{_spec.Key}' was stored with ETag {etag}, expected MD5 {md5Hex}.", _spec.SourcePath ?? _spec.Key);
                Interlocked.Add(ref _sent, length);
                _ctx.AddSent(length);
                return etag;
            }
            finally
            {
                _ctx.UploadSlots.Release();
            }
        }

        /// <summary>On failure: keep a journaled upload for the next run; abort one that cannot resume.</summary>
        public async Task AbandonAsync(bool abortUpload = false)
        {
            Task[] all;
            lock (_gate) all = _inflight.ToArray();
            try { await Task.WhenAll(all).ConfigureAwait(false); } catch { /* failures already recorded */ }
            if (_current != null)
            {
                _ctx.Pool.Return(_current);
                _current = null;
            }
            if (_uploadId != null && (_journal == null || abortUpload))
                await AbortQuietlyAsync(_spec.Key, _uploadId).ConfigureAwait(false);
        }

        /// <summary>AbortMultipartUpload, tolerating servers that do not implement it (s3rver).</summary>
        internal async Task<bool> AbortQuietlyAsync(string key, string uploadId)
        {
            try
            {
                await Client.S3.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = Bucket, Key = key, UploadId = uploadId }, CancellationToken.None).ConfigureAwait(false);
                return true;
            }
            catch (AmazonS3Exception ex)
            {
                _ctx.Observer.Message(Observability.RunMessageLevel.Verbose,
                    ex.ErrorCode == "NotImplemented" || (int)ex.StatusCode == 501 || (int)ex.StatusCode == 405
                        ? $"The endpoint does not implement AbortMultipartUpload; the unfinished upload of '{key}' stays until the bucket's lifecycle rule removes it."
                        : $"Could not abort the unfinished upload of '{key}': {ex.ErrorCode}.");
                return false;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                _ctx.Observer.Message(Observability.RunMessageLevel.Verbose, $"Could not abort the unfinished upload of '{key}': {ex.Message}");
                return false;
            }
        }

        internal static byte[] Md5(byte[] buffer, int length)
        {
            using var md5 = MD5.Create();
            return md5.ComputeHash(buffer, 0, length);
        }

        private static bool IsHexMd5(string s) => s.Length == 32 && s.All(Uri.IsHexDigit);

        private static string? ExpectedMultipartETag(List<JournalPart> parts)
        {
            var all = new byte[parts.Count * 16];
            for (int i = 0; i < parts.Count; i++)
            {
                var e = parts[i].ETag.Trim('"');
                if (!IsHexMd5(e)) return null;
                Buffer.BlockCopy(Hex.Decode(e), 0, all, i * 16, 16);
            }
            using var md5 = MD5.Create();
            return Hex.Encode(md5.ComputeHash(all)) + "-" + parts.Count;
        }
    }
}
