using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using NekkBackup.Core.Cloud;

namespace NekkBackup.Core.Storage
{
    /// <summary>
    /// A target in an S3 bucket (AWS or an S3-compatible store) under a root prefix. The client is the one
    /// Cloud.CloudClient builds (path-style for endpoints, checksums only when required, the SDK's own retries
    /// turned down) and every upload sets UseChunkEncoding=false, so the bytes stored are the bytes sent
    /// (field-notes.md). Each request carries Content-MD5: the store refuses a body damaged in transit. Small
    /// objects are one PutObject, large ones a multipart upload (<see cref="S3Upload"/>); either way an object
    /// appears whole or not at all. Retries belong to <see cref="RetryingTarget"/>, not here.
    /// </summary>
    public sealed class S3Target : IBackupTarget, IDisposable
    {
        private readonly IAmazonS3 _s3;
        private readonly string _bucket;
        private readonly string _root;
        private readonly S3TargetOptions _options;

        private S3Target(IAmazonS3 s3, CloudTarget connection, S3TargetOptions options, TargetCapabilities capabilities)
        {
            _s3 = s3;
            _bucket = connection.Bucket;
            _root = options.RootPrefix;
            _options = options;
            Capabilities = capabilities;
            Location = $"s3://{_bucket}/{_root}" + (connection.Endpoint != null ? $" at {connection.Endpoint}" : "");
        }

        public string Location { get; }
        public TargetCapabilities Capabilities { get; }

        /// <summary>
        /// Connects, checks the bucket can be listed (TargetObjectNotFound for a missing bucket, TargetAccessDenied
        /// for bad keys) and probes what the store supports unless the options say.
        /// </summary>
        public static async Task<S3Target> OpenAsync(CloudTarget connection, S3TargetOptions? options, CancellationToken cancellationToken)
        {
            var probe = Connect(connection, options);
            try
            {
                await probe.CheckAsync(cancellationToken).ConfigureAwait(false);
                var caps = probe.Capabilities with
                {
                    ConditionalCreate = probe._options.ConditionalCreate ?? await probe.ProbeConditionalCreateAsync(cancellationToken).ConfigureAwait(false),
                    ObjectLock = probe._options.ObjectLock ?? await probe.ProbeObjectLockAsync(cancellationToken).ConfigureAwait(false),
                };
                return new S3Target(probe._s3, connection, probe._options, caps);
            }
            catch
            {
                probe.Dispose();
                throw;
            }
        }

        /// <summary>
        /// A target without a single request: nothing is probed, so <see cref="TargetCapabilities.ConditionalCreate"/>
        /// and <see cref="TargetCapabilities.ObjectLock"/> are what the options say (unset: false, the safe answer).
        /// For callers that check the bucket under their own retry pipeline (<see cref="CheckAsync"/>) and never need
        /// a race-free create (the cloud leg). Nothing is written, so read-only credentials suffice.
        /// </summary>
        public static S3Target Connect(CloudTarget connection, S3TargetOptions? options)
        {
            if (connection == null) throw new ArgumentNullException(nameof(connection));
            options ??= new S3TargetOptions();
            options.Validate();
            CloudClient.Validate(connection);
            var caps = new TargetCapabilities
            {
                Kind = "s3",
                AtomicPut = true,
                AtomicRename = false,
                ServerSideHash = true,
                ConditionalCreate = options.ConditionalCreate ?? false,
                ObjectLock = options.ObjectLock ?? false,
                MaxObjectSize = options.PartSize * S3Upload.MaxParts,
                MaxKeyLength = 1024 - Encoding.UTF8.GetByteCount(options.RootPrefix),
                MaxSegmentLength = 1024,
                NameRules = KeyNameRules.ObjectStore,
                CaseSensitive = true,
            };
            return new S3Target(CloudClient.CreateClient(connection), connection, options, caps);
        }

        /// <summary>One listing of at most one key under the root: the bucket exists and these keys may list it.</summary>
        public Task CheckAsync(CancellationToken cancellationToken) =>
            Call(null, () => _s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _bucket, Prefix = _root, MaxKeys = 1 }, cancellationToken), cancellationToken);

        /// <summary>The SDK client (Cloud.CloudClient runs the calls the interface has no verb for through it).</summary>
        internal IAmazonS3 Client => _s3;

        private async Task<bool> ProbeConditionalCreateAsync(CancellationToken ct)
        {
            var key = _root + StorageKeys.TempSegment + "/probe-" + Guid.NewGuid().ToString("N");
            try
            {
                await PutSmallAsync(key, new byte[] { 1 }, null, ct).ConfigureAwait(false);
                try
                {
                    await PutSmallAsync(key, new byte[] { 2 }, "*", ct).ConfigureAwait(false);
                    return false; // the store ignored If-None-Match and replaced the object
                }
                catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.PreconditionFailed) { return true; }
                catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotImplemented || ex.StatusCode == HttpStatusCode.BadRequest) { return false; }
            }
            finally
            {
                try { await _s3.DeleteObjectAsync(_bucket, key, CancellationToken.None).ConfigureAwait(false); } catch (AmazonServiceException) { }
            }
        }

        private async Task<bool> ProbeObjectLockAsync(CancellationToken ct)
        {
            try
            {
                var r = await _s3.GetObjectLockConfigurationAsync(new GetObjectLockConfigurationRequest { BucketName = _bucket }, ct).ConfigureAwait(false);
                return r.ObjectLockConfiguration?.ObjectLockEnabled == ObjectLockEnabled.Enabled;
            }
            catch (AmazonServiceException) { return false; } // not configured, or not implemented (s3rver)
        }

        private Task PutSmallAsync(string fullKey, byte[] body, string? ifNoneMatch, CancellationToken ct)
        {
            var req = new PutObjectRequest
            {
                BucketName = _bucket, Key = fullKey, InputStream = new MemoryStream(body, false), UseChunkEncoding = false,
                MD5Digest = S3Upload.Md5Base64(body, 0, body.Length), AutoCloseStream = true,
            };
            if (ifNoneMatch != null) req.IfNoneMatch = ifNoneMatch;
            return _s3.PutObjectAsync(req, ct);
        }

        private string Full(string key)
        {
            StorageKeys.Validate(key, Capabilities);
            return _root + key;
        }

        public async Task<TargetEntry> PutAsync(string key, Stream content, PutOptions? options, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            options ??= PutOptions.Default;
            if (content == null) throw new ArgumentNullException(nameof(content));
            var full = Full(key);
            if (options.RetainUntilUtc != null && !Capabilities.ObjectLock)
                throw new TargetException(TargetErrorKind.NotSupported, $"The bucket behind {Location} has no Object Lock; write-once retention cannot be set on '{key}'.", key);
            if (options.Mode == PutMode.CreateNew && !Capabilities.ConditionalCreate && await StatAsync(key, cancellationToken).ConfigureAwait(false) != null)
                throw Exists(key);
            return await Call(key, async () =>
            {
                var upload = new S3Upload(_s3, _bucket, full, _options.PartSize, options, Capabilities.ConditionalCreate);
                var (size, sha) = await upload.RunAsync(content, cancellationToken).ConfigureAwait(false);
                return new TargetEntry(key, size, DateTime.UtcNow, sha);
            }, cancellationToken).ConfigureAwait(false);
        }

        public async Task<Stream> OpenReadAsync(string key, long offset, long length, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (offset < 0) throw new ArgumentOutOfRangeException(nameof(offset));
            var full = Full(key);
            var req = new GetObjectRequest { BucketName = _bucket, Key = full };
            if (offset > 0 || length >= 0)
            {
                // A ranged read asks for the size first and never sends an impossible range (S3-compatible stores
                // disagree about empty objects and reads at the end); the ETag pins the GET to that version.
                var head = await HeadAsync(key, full, cancellationToken).ConfigureAwait(false) ?? throw NotFound(key);
                long size = head.ContentLength;
                if (offset > size) throw PastEnd(key, size, offset);
                long end = length < 0 ? size : Math.Min(size, offset + length);
                if (end == offset) return new MemoryStream(Array.Empty<byte>(), false);
                if (offset > 0 || end < size) req.ByteRange = new ByteRange(offset, end - 1);
                req.EtagToMatch = head.ETag;
            }
            return await Call(key, async () =>
            {
                try { return (Stream)new S3ReadStream(await _s3.GetObjectAsync(req, cancellationToken).ConfigureAwait(false), key); }
                catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.PreconditionFailed)
                {
                    throw new TargetException(TargetErrorKind.Unavailable, $"'{key}' changed while it was being read; read it again.", key, ex);
                }
            }, cancellationToken).ConfigureAwait(false);
        }

        private Task<GetObjectMetadataResponse?> HeadAsync(string key, string full, CancellationToken ct) =>
            Call<GetObjectMetadataResponse?>(key, async () =>
            {
                try { return await _s3.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _bucket, Key = full }, ct).ConfigureAwait(false); }
                catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound && ex.ErrorCode != "NoSuchBucket") { return null; }
            }, ct);

        /// <summary>The object's ETag as the store sent it (quotes included), in <see cref="TargetEntry.Attributes"/> of a stat.</summary>
        public const string ETagAttribute = "ETag";
        /// <summary>The storage class (absent: STANDARD).</summary>
        public const string StorageClassAttribute = "StorageClass";
        /// <summary>Intelligent-Tiering's archive tier (ARCHIVE_ACCESS, DEEP_ARCHIVE_ACCESS).</summary>
        public const string ArchiveStatusAttribute = "ArchiveStatus";
        /// <summary>"true" while a thaw (RestoreObject) runs, "false" once it finished.</summary>
        public const string RestoreInProgressAttribute = "RestoreInProgress";
        /// <summary>When a thawed copy expires (round-trip "o" format, UTC).</summary>
        public const string RestoreExpirationAttribute = "RestoreExpiration";
        /// <summary>Object Lock retention mode of the object (GOVERNANCE or COMPLIANCE), when it has one.</summary>
        public const string ObjectLockModeAttribute = "ObjectLockMode";
        /// <summary>Until when Object Lock retention holds the object (round-trip "o" format, UTC).</summary>
        public const string ObjectLockRetainUntilAttribute = "ObjectLockRetainUntil";
        /// <summary>Object Lock legal hold: "ON" or "OFF".</summary>
        public const string LegalHoldAttribute = "LegalHold";
        /// <summary>User metadata x-amz-meta-&lt;name&gt; appears as "meta:&lt;name&gt;".</summary>
        public const string MetadataPrefix = "meta:";

        public async Task<TargetEntry?> StatAsync(string key, CancellationToken cancellationToken)
        {
            var m = await HeadAsync(key, Full(key), cancellationToken).ConfigureAwait(false);
            return m == null ? null : new TargetEntry(key, m.ContentLength, (m.LastModified ?? DateTime.UtcNow).ToUniversalTime(), attributes: AttributesOf(m));
        }

        private static Dictionary<string, string> AttributesOf(GetObjectMetadataResponse m)
        {
            var a = new Dictionary<string, string>(StringComparer.Ordinal);
            if (!string.IsNullOrEmpty(m.ETag)) a[ETagAttribute] = m.ETag;
            if (!string.IsNullOrEmpty(m.StorageClass?.Value)) a[StorageClassAttribute] = m.StorageClass!.Value;
            if (!string.IsNullOrEmpty(m.ArchiveStatus?.Value)) a[ArchiveStatusAttribute] = m.ArchiveStatus!.Value;
            if (m.RestoreInProgress is bool busy) a[RestoreInProgressAttribute] = busy ? "true" : "false";
            if (m.RestoreExpiration is DateTime until)
                a[RestoreExpirationAttribute] = DateTime.SpecifyKind(until, DateTimeKind.Utc).ToString("o", System.Globalization.CultureInfo.InvariantCulture);
            if (!string.IsNullOrEmpty(m.ObjectLockMode?.Value)) a[ObjectLockModeAttribute] = m.ObjectLockMode!.Value;
            if (m.ObjectLockRetainUntilDate is DateTime retain)
                a[ObjectLockRetainUntilAttribute] = (retain.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(retain, DateTimeKind.Utc) : retain.ToUniversalTime()).ToString("o", System.Globalization.CultureInfo.InvariantCulture);
            if (!string.IsNullOrEmpty(m.ObjectLockLegalHoldStatus?.Value)) a[LegalHoldAttribute] = m.ObjectLockLegalHoldStatus!.Value;
            if (m.Metadata != null)
                foreach (var k in m.Metadata.Keys)
                {
                    var name = k.StartsWith("x-amz-meta-", StringComparison.OrdinalIgnoreCase) ? k.Substring("x-amz-meta-".Length) : k;
                    a[MetadataPrefix + name.ToLowerInvariant()] = m.Metadata[k];
                }
            return a;
        }

        public async IAsyncEnumerable<TargetEntry> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            StorageKeys.ValidatePrefix(prefix, Capabilities);
            string? token = null;
            do
            {
                var page = await Call(prefix, () => _s3.ListObjectsV2Async(new ListObjectsV2Request
                {
                    BucketName = _bucket, Prefix = _root + prefix, ContinuationToken = token,
                }, cancellationToken), cancellationToken).ConfigureAwait(false);
                foreach (var o in page.S3Objects ?? new List<S3Object>())
                {
                    if (o.Key == null || !o.Key.StartsWith(_root, StringComparison.Ordinal)) continue;
                    var key = o.Key.Substring(_root.Length);
                    // Foreign or damaged names (a//b, ../x, probes) are not objects of this target.
                    if (StorageKeys.Problem(key, Capabilities) != null) continue;
                    yield return new TargetEntry(key, o.Size ?? 0, (o.LastModified ?? DateTime.UtcNow).ToUniversalTime());
                }
                token = page.IsTruncated == true ? page.NextContinuationToken : null;
            }
            while (!string.IsNullOrEmpty(token));
        }

        public Task DeleteAsync(string key, CancellationToken cancellationToken)
        {
            var full = Full(key);
            return Call(key, () => _s3.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _bucket, Key = full }, cancellationToken), cancellationToken);
        }

        /// <summary>
        /// Copy through this client, then delete: not atomic (<see cref="TargetCapabilities.AtomicRename"/> is false).
        /// Not CopyObject: s3rver 3.7.1 mis-reads the SDK's encoded x-amz-copy-source ("NoSuchBucket").
        /// </summary>
        public async Task MoveAsync(string fromKey, string toKey, bool overwrite, CancellationToken cancellationToken)
        {
            Full(fromKey);
            Full(toKey);
            if (!overwrite && await StatAsync(toKey, cancellationToken).ConfigureAwait(false) != null) throw Exists(toKey);
            using (var body = await OpenReadAsync(fromKey, 0, -1, cancellationToken).ConfigureAwait(false))
                await PutAsync(toKey, body, null, cancellationToken).ConfigureAwait(false);
            await DeleteAsync(fromKey, cancellationToken).ConfigureAwait(false);
        }

        public bool IsPermanent(Exception error) => error switch
        {
            OperationCanceledException oce => oce.CancellationToken.IsCancellationRequested || !CloudErrors.IsTransient(oce),
            TargetException t => !t.IsTransient,
            _ => TargetErrors.IsPermanent(error) && !CloudErrors.IsTransient(error),
        };

        private async Task<T> Call<T>(string? key, Func<Task<T>> call, CancellationToken ct)
        {
            try { return await call().ConfigureAwait(false); }
            catch (OperationCanceledException) when (ct.IsCancellationRequested) { throw; }
            catch (TargetException) { throw; }
            catch (Exception ex) { throw Map(ex, key); }
        }

        private TargetException Map(Exception ex, string? key)
        {
            var what = key == null ? Location : $"'{StorageKeys.Printable(key)}' in {Location}";
            if (ex is AmazonServiceException s)
            {
                var code = s.ErrorCode ?? "";
                int status = (int)s.StatusCode;
                if (CloudErrors.IsPermanentAuthCode(code) || status == 403)
                    return new TargetException(TargetErrorKind.AccessDenied, $"Access to {what} was denied ({code}): check the keys and the bucket policy.", key, ex);
                if (code == "NoSuchBucket")
                    return new TargetException(TargetErrorKind.NotFound, $"The bucket of {Location} does not exist.", key, ex);
                if (code == "NoSuchKey" || status == 404)
                    return NotFound(key ?? "", ex);
                if (status == 412 || code == "PreconditionFailed")
                    return Exists(key ?? "", ex);
                if (status == 416 || code == "InvalidRange")
                    return new TargetException(TargetErrorKind.RangeNotSatisfiable, $"The range asked of {what} is past its end.", key, ex);
                if (code == "EntityTooLarge")
                    return new TargetException(TargetErrorKind.Full, $"{what} is larger than the store accepts.", key, ex);
                if (code == "NotImplemented" || status == 501)
                    return new TargetException(TargetErrorKind.NotSupported, $"{Location} does not implement this request ({code}).", key, ex);
                if (CloudErrors.IsTransient(ex))
                    return new TargetException(TargetErrorKind.Unavailable, $"{what}: the store answered {status} {code}: {s.Message}", key, ex);
                return new TargetException(TargetErrorKind.Io, $"{what} was refused ({status} {code}): {s.Message}", key, ex, transient: false);
            }
            if (CloudErrors.IsTransient(ex))
                return new TargetException(TargetErrorKind.Unavailable, $"Cannot reach {Location} for {what}: {ex.Message}", key, ex);
            // The SDK failing to parse an answer (a garbled ETag from a store caught mid-write): a bounded retry may help.
            if (ex is ArgumentException || ex is FormatException || ex is System.Xml.XmlException || ex is InvalidDataException)
                return new TargetException(TargetErrorKind.Io, $"{Location} sent a malformed answer for {what}: {ex.Message}", key, ex, transient: true);
            return new TargetException(TargetErrorKind.Io, $"{what}: {ex.Message}", key, ex, transient: false);
        }

        private TargetException NotFound(string key, Exception? inner = null) =>
            new(TargetErrorKind.NotFound, $"There is no object '{StorageKeys.Printable(key)}' in {Location}.", key, inner);

        private TargetException Exists(string key, Exception? inner = null) =>
            new(TargetErrorKind.AlreadyExists, $"The object '{StorageKeys.Printable(key)}' already exists in {Location}.", key, inner);

        private static TargetException PastEnd(string key, long size, long offset) =>
            new(TargetErrorKind.RangeNotSatisfiable, $"The object '{key}' has {size} bytes; cannot read from offset {offset}.", key);

        public void Dispose() => _s3.Dispose();
    }
}
