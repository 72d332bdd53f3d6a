using System;
using System.Collections.Generic;
using System.IO;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using Amazon.S3;
using Amazon.S3.Model;
using NekkBackup.Core.Primitives;

namespace NekkBackup.Core.Storage
{
    /// <summary>
    /// One object upload for <see cref="S3Target"/>: the stream is read in parts of the part size; a stream that
    /// fits in one part is a single PutObject, a longer one a multipart upload whose parts each carry
    /// Content-MD5, completed only when every byte is up (and its SHA-256 matches when one was expected), and
    /// aborted otherwise. Never aws-chunked framing. The cloud leg's resumable, journaled uploads
    /// (Cloud.ObjectWriter) stay there until step 2 of the storage redesign.
    /// </summary>
    internal sealed class S3Upload
    {
        public const int MaxParts = 10000;
        private readonly IAmazonS3 _s3;
        private readonly string _bucket;
        private readonly string _key;
        private readonly int _partSize;
        private readonly PutOptions _options;
        private readonly bool _conditional;

        public S3Upload(IAmazonS3 s3, string bucket, string fullKey, long partSize, PutOptions options, bool conditionalCreate)
        {
            _s3 = s3;
            _bucket = bucket;
            _key = fullKey;
            _partSize = checked((int)partSize); // S3TargetOptions caps it at 512 MiB
            _options = options;
            _conditional = conditionalCreate && options.Mode == PutMode.CreateNew;
        }

        public static string Md5Base64(byte[] data, int offset, int count)
        {
            using var md5 = MD5.Create();
            return Convert.ToBase64String(md5.ComputeHash(data, offset, count));
        }

        /// <summary>Uploads <paramref name="content"/> to its end; returns (bytes, sha256 hex or null).</summary>
        public async Task<(long Size, string? Sha256)> RunAsync(Stream content, CancellationToken ct)
        {
            using var sha = _options.ExpectedSha256 != null ? SHA256.Create() : null;
            if (content.CanSeek && content.Length - content.Position < _partSize)
            {
                // A small object of known length (a lock, a manifest, a pointer): one PutObject from a buffer its size.
                var small = new byte[Math.Max(0, content.Length - content.Position)];
                int got = await FillAsync(content, small, ct).ConfigureAwait(false);
                if (got == small.Length && await AtEndAsync(content, ct).ConfigureAwait(false))
                {
                    sha?.TransformBlock(small, 0, got, null, 0);
                    var digest = Finish(sha, small);
                    await PutObjectAsync(small, got, ct).ConfigureAwait(false);
                    return (got, digest);
                }
                content.Position -= got; // it changed under us: the general path reads it again
            }
            // Its own buffer, not the shared pool's: the shared pool keeps part-sized arrays alive for the life of the
            // process (an admin's session), a run's own buffer is collected after it.
#if NET
            var buffer = GC.AllocateUninitializedArray<byte>(_partSize);
#else
            var buffer = new byte[_partSize];
#endif
            string? uploadId = null;
            try
            {
                int fill = await FillAsync(content, buffer, ct).ConfigureAwait(false);
                sha?.TransformBlock(buffer, 0, fill, null, 0);
                if (fill < _partSize || await AtEndAsync(content, ct).ConfigureAwait(false))
                {
                    var digest = Finish(sha, buffer);
                    await PutObjectAsync(buffer, fill, ct).ConfigureAwait(false);
                    return (fill, digest);
                }

                var init = new InitiateMultipartUploadRequest { BucketName = _bucket, Key = _key, ContentType = _options.ContentType };
                ApplyRetention(m => init.ObjectLockMode = m, d => init.ObjectLockRetainUntilDate = d);
                uploadId = (await _s3.InitiateMultipartUploadAsync(init, ct).ConfigureAwait(false)).UploadId;
                var parts = new List<PartETag>();
                long total = 0;
                while (fill > 0)
                {
                    if (parts.Count == MaxParts)
                        throw new TargetException(TargetErrorKind.Full, $"The object '{_key}' needs more than {MaxParts} parts of {_partSize} bytes; raise the part size.", _key);
                    int number = parts.Count + 1;
                    var resp = await _s3.UploadPartAsync(new UploadPartRequest
                    {
                        BucketName = _bucket, Key = _key, UploadId = uploadId, PartNumber = number,
                        InputStream = new MemoryStream(buffer, 0, fill, false), PartSize = fill,
                        MD5Digest = Md5Base64(buffer, 0, fill), UseChunkEncoding = false,
                    }, ct).ConfigureAwait(false);
                    parts.Add(new PartETag(number, resp.ETag));
                    total += fill;
                    fill = await FillAsync(content, buffer, ct).ConfigureAwait(false);
                    sha?.TransformBlock(buffer, 0, fill, null, 0);
                }
                var sum = Finish(sha, buffer);
                var complete = new CompleteMultipartUploadRequest { BucketName = _bucket, Key = _key, UploadId = uploadId, PartETags = parts };
                if (_conditional) complete.IfNoneMatch = "*";
                await _s3.CompleteMultipartUploadAsync(complete, ct).ConfigureAwait(false);
                uploadId = null;
                return (total, sum);
            }
            finally
            {
                if (uploadId != null) await AbortQuietlyAsync(uploadId).ConfigureAwait(false);
            }
        }

        private string? Finish(SHA256? sha, byte[] buffer)
        {
            if (sha == null) return null;
            sha.TransformFinalBlock(buffer, 0, 0);
            var hex = Hex.Encode(sha.Hash!);
            if (!string.Equals(hex, _options.ExpectedSha256, StringComparison.OrdinalIgnoreCase))
                throw new TargetException(TargetErrorKind.ContentMismatch, $"The content for '{_key}' has SHA-256 {hex}, not the expected {_options.ExpectedSha256}; nothing was stored.", _key);
            return hex;
        }

        private async Task PutObjectAsync(byte[] buffer, int count, CancellationToken ct)
        {
            var req = new PutObjectRequest
            {
                BucketName = _bucket, Key = _key, InputStream = new MemoryStream(buffer, 0, count, false), AutoCloseStream = true,
                MD5Digest = Md5Base64(buffer, 0, count), UseChunkEncoding = false, ContentType = _options.ContentType,
            };
            req.Headers.ContentLength = count;
            if (_conditional) req.IfNoneMatch = "*";
            ApplyRetention(m => req.ObjectLockMode = m, d => req.ObjectLockRetainUntilDate = d);
            await _s3.PutObjectAsync(req, ct).ConfigureAwait(false);
        }

        private void ApplyRetention(Action<ObjectLockMode> mode, Action<DateTime> until)
        {
            if (_options.RetainUntilUtc is not DateTime u) return;
            mode(ObjectLockMode.FindValue((_options.RetentionMode ?? "GOVERNANCE").ToUpperInvariant()));
            until(u);
        }

        private async Task<int> FillAsync(Stream content, byte[] buffer, CancellationToken ct)
        {
            int fill = 0, want = Math.Min(_partSize, buffer.Length);
            while (fill < want)
            {
                int n = await content.ReadAsync(buffer, fill, want - fill, ct).ConfigureAwait(false);
                if (n == 0) break;
                fill += n;
            }
            return fill;
        }

        /// <summary>True when a full buffer was exactly the whole stream (then one PutObject suffices).</summary>
        private static async Task<bool> AtEndAsync(Stream content, CancellationToken ct)
        {
            if (content.CanSeek) return content.Position >= content.Length;
            await Task.CompletedTask.ConfigureAwait(false);
            return false;
        }

        private async Task AbortQuietlyAsync(string uploadId)
        {
            try { await _s3.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = _bucket, Key = _key, UploadId = uploadId }, CancellationToken.None).ConfigureAwait(false); }
            catch (AmazonS3Exception) { } // s3rver does not implement it; a lifecycle rule removes unfinished uploads
            catch (Exception ex) when (!(ex is OutOfMemoryException)) { }
        }
    }
}
