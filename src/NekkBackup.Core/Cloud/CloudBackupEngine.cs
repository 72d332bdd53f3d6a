using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Validation;

namespace NekkBackup.Core.Cloud
{
    public sealed class CloudBackupOptions
    {
        public IReadOnlyList<string> Paths { get; init; } = Array.Empty<string>();
        /// <summary>Only files modified within this span are read; older ones keep their manifest entry.</summary>
        public TimeSpan? ModifiedWithin { get; init; }
        public string? StorageClass { get; init; }
        public int ThrottleLimit { get; init; } = 4;
        /// <summary>Bandwidth cap in MiB/s; 0 = none.</summary>
        public double MaxMBps { get; init; }
        public ContentCipher? Cipher { get; init; }
        public int? ObjectLockDays { get; init; }
        public string ObjectLockMode { get; init; } = "GOVERNANCE";
        public int PartSize { get; init; } = 8 * 1024 * 1024;
        /// <summary>
        /// Files up to this size go up as ONE streamed PutObject (Content-MD5 from the hashing pass, no buffer);
        /// larger ones, and every file when -MaxMBps is set, go multipart with journaled parts. Minimum: the part size.
        /// </summary>
        public long SinglePutMaxBytes { get; init; } = 64L * 1024 * 1024;
        /// <summary>Journaled multipart uploads older than this are aborted.</summary>
        public int StaleUploadDays { get; init; } = 7;
        public string? RunId { get; init; }
        /// <summary>Where the resume journal lives; default DataDirectory/cloud-journal.</summary>
        public string? JournalDirectory { get; init; }
    }

    /// <summary>
    /// Send-NekkCloudBackup: incremental, content-addressed upload (PRODUCT.md §3.4). Each distinct content is
    /// one object data/&lt;sha256&gt;; the run's manifest is written last and is the source of truth.
    /// </summary>
    public sealed class CloudBackupEngine
    {
        private static readonly string[] ValidClasses =
            { "STANDARD", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER", "GLACIER_IR", "DEEP_ARCHIVE", "REDUCED_REDUNDANCY" };

        private readonly CloudTarget _target;
        private readonly IRunObserver _observer;

        public CloudBackupEngine(CloudTarget target, IRunObserver? observer = null)
        {
            _target = target;
            _observer = observer ?? NullRunObserver.Instance;
        }

        public static string? NormalizeStorageClass(string? value)
        {
            if (string.IsNullOrWhiteSpace(value)) return null;
            var v = value!.Trim().ToUpperInvariant().Replace('-', '_');
            if (v == "GLACIER_FLEXIBLE_RETRIEVAL") v = "GLACIER";
            if (Array.IndexOf(ValidClasses, v) < 0)
                throw Fail.Argument("InvalidStorageClass", $"'{value}' is not an S3 storage class ({string.Join(", ", ValidClasses)}).", value);
            return v;
        }

        public static void ValidateCommon(int throttleLimit, double maxMBps, int? objectLockDays, string objectLockMode, int partSize)
        {
            if (throttleLimit < 1 || throttleLimit > 64)
                throw Fail.Argument("InvalidThrottleLimit", $"-ThrottleLimit {throttleLimit} must be between 1 and 64.", throttleLimit);
            if (maxMBps < 0 || double.IsNaN(maxMBps))
                throw Fail.Argument("InvalidMaxMBps", $"-MaxMBps {maxMBps} must be zero (no cap) or positive.", maxMBps);
            if (objectLockDays is int d && (d < 1 || d > 36500))
                throw Fail.Argument("InvalidObjectLockDays", $"-ObjectLockDays {d} must be between 1 and 36500.", d);
            if (objectLockMode is not ("GOVERNANCE" or "COMPLIANCE"))
                throw Fail.Argument("InvalidObjectLockMode", $"Object Lock mode '{objectLockMode}' must be GOVERNANCE or COMPLIANCE.", objectLockMode);
            if (partSize < 5 * 1024 * 1024 || partSize > UploadContext.MaxPartSize)
                throw Fail.Argument("InvalidPartSize", $"Part size {partSize} must be between 5 MiB and 16 MiB.", partSize);
        }

        private sealed class Candidate
        {
            public string FullPath = "";
            public string RelPath = "";
            public long Size;
            public DateTime MTime;
        }

        public async Task<CloudRun> RunAsync(CloudBackupOptions options, CancellationToken ct = default)
        {
            var sw = Stopwatch.StartNew();
            var storageClass = NormalizeStorageClass(options.StorageClass);
            var lockMode = (options.ObjectLockMode ?? "GOVERNANCE").ToUpperInvariant();
            ValidateCommon(options.ThrottleLimit, options.MaxMBps, options.ObjectLockDays, lockMode, options.PartSize);
            if (options.Paths == null || options.Paths.Count == 0)
                throw Fail.Argument("InvalidPath", "At least one -Path is required.");
            var roots = new List<(string Full, string Name)>();
            foreach (var p in options.Paths)
            {
                var full = Path.GetFullPath(p);
                if (!Directory.Exists(full) && !File.Exists(full))
                    throw Fail.NotFound("SourceNotFound", $"The source '{p}' does not exist.", p);
                var name = Path.GetFileName(full.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));
                if (string.IsNullOrEmpty(name)) name = "root";
                if (roots.Any(r => string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase)))
                    throw Fail.Argument("DuplicateSourceName", $"Two sources are both named '{name}'; their files would collide in the manifest.", p);
                roots.Add((full, name));
            }
            CloudClient.Validate(_target);

            var runId = options.RunId ?? RunLog.NewRunId();
            using var log = RunLog.Open(runId, "Send-NekkCloudBackup");
            var observer = log.Wrap(_observer);
            log.Logger.Information("Cloud backup of {Sources} to {Bucket}/{Root} (endpoint {Endpoint}, class {Class}, encrypted {Encrypted})",
                roots.Select(r => r.Full).ToArray(), _target.Bucket, _target.HostRoot, _target.Endpoint ?? "aws", storageClass ?? "STANDARD", options.Cipher != null);

            using var client = new CloudClient(_target, observer, log);
            await CloudStore.PreflightAsync(client, ct).ConfigureAwait(false);
            var previous = await CloudStore.LoadManifestAsync(client, null, ct).ConfigureAwait(false);
            var prevByPath = new Dictionary<string, ManifestEntry>(StringComparer.Ordinal);
            var encryption = options.Cipher != null ? ContentCipher.Name : null;
            var knownObjects = new ConcurrentDictionary<string, ManifestEntry>(StringComparer.Ordinal);
            if (previous != null)
            {
                // Only sound entries carry over (a damaged one would carry its damage into this run's manifest).
                var (prevFiles, damaged) = CloudRules.SortFiles(previous, _target, _target.ManifestKey(previous.RunId));
                if (damaged.Count > 0)
                    observer.Message(RunMessageLevel.Warning, $"The previous run ({previous.RunId}) records {damaged.Count} damaged or unsafe entr{(damaged.Count == 1 ? "y" : "ies")} (e.g. {damaged[0].Error.Message}); they are ignored and their files are read again.");
                foreach (var e in prevFiles) prevByPath[e.Path] = e;
                if (previous.Encryption == encryption)
                    foreach (var e in prevFiles) knownObjects.TryAdd(e.Key, e);
                else
                    observer.Message(RunMessageLevel.Warning, $"The previous run ({previous.RunId}) used encryption '{previous.Encryption ?? "none"}'; this run uses '{encryption ?? "none"}': every file is re-read and re-sent.");
            }

            // Scan.
            var candidates = new List<Candidate>();
            long scanErrors = 0;
            foreach (var (full, name) in roots)
            {
                if (File.Exists(full))
                {
                    var fi = new FileInfo(full);
                    candidates.Add(new Candidate { FullPath = full, RelPath = name, Size = fi.Length, MTime = fi.LastWriteTimeUtc });
                    continue;
                }
                foreach (var (fi, rel) in Walk(full, observer, () => Interlocked.Increment(ref scanErrors)))
                    candidates.Add(new Candidate { FullPath = fi.FullName, RelPath = name + "/" + rel, Size = fi.Length, MTime = fi.LastWriteTimeUtc });
            }
            observer.Message(RunMessageLevel.Verbose, $"Scanned {candidates.Count} files; previous manifest: {previous?.RunId ?? "none"}.");

            // Parts stay at the chosen size unless the largest file would need more than 10,000 of them.
            long largest = candidates.Count == 0 ? 0 : candidates.Max(c => options.Cipher != null ? ContentCipher.EncryptedLength(c.Size) : c.Size);
            int partSize = UploadContext.PartSizeFor(largest, options.PartSize);
            if (partSize != options.PartSize)
                observer.Message(RunMessageLevel.Verbose, $"The largest file needs parts of {partSize / 1048576} MiB (10,000 parts at most).");
            using var ctx = new UploadContext(client, options.ThrottleLimit, options.MaxMBps, partSize,
                new MultipartJournal(options.JournalDirectory), observer);
            await AbortStaleUploadsAsync(ctx, options.StaleUploadDays, ct).ConfigureAwait(false);

            var cutoff = options.ModifiedWithin is TimeSpan mw ? DateTime.UtcNow - mw : (DateTime?)null;
            var entries = new ConcurrentDictionary<string, ManifestEntry>(StringComparer.Ordinal);
            var inflightByHash = new ConcurrentDictionary<string, Lazy<Task<ManifestEntry?>>>(StringComparer.Ordinal);
            var scannedHashes = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
            long uploaded = 0, skipped = 0, errors = scanErrors, filesDone = 0, bytesDone = 0;
            long totalBytes = candidates.Sum(c => c.Size);
            var progress = new ProgressThrottle();
            var salt = options.Cipher != null ? ContentCipher.RandomBytes(16) : null;
            DateTime? retainUntil = options.ObjectLockDays is int days ? DateTime.UtcNow.AddDays(days) : null;

            void Report(string? item, bool done = false)
            {
                if (!done && !progress.Due()) return;
                observer.Progress(new RunProgress("Send-NekkCloudBackup", $"{Interlocked.Read(ref filesDone)}/{candidates.Count} files, {ctx.BytesSent / 1048576.0:0.0} MiB sent")
                {
                    CurrentItem = item, BytesDone = Interlocked.Read(ref bytesDone), BytesTotal = totalBytes,
                    ItemsDone = Interlocked.Read(ref filesDone), ItemsTotal = candidates.Count,
                    BytesPerSecond = sw.Elapsed.TotalSeconds > 0 ? ctx.BytesSent / sw.Elapsed.TotalSeconds : 0, Completed = done,
                });
            }

            async Task ProcessAsync(Candidate c)
            {
                prevByPath.TryGetValue(c.RelPath, out var prev);
                if (cutoff is DateTime cut && c.MTime < cut)
                {
                    if (prev != null) entries[c.RelPath] = prev;
                    Interlocked.Increment(ref skipped);
                    return;
                }
                if (prev != null && prev.Size == c.Size && prev.LastWriteTimeUtc == c.MTime && knownObjects.ContainsKey(prev.Key))
                {
                    entries[c.RelPath] = prev;
                    Interlocked.Increment(ref skipped);
                    return;
                }
                byte[]? small = null;
                byte[]? md5 = null;
                int smallLen = 0;
                try
                {
                    string hash;
                    if (options.Cipher == null && c.Size <= ctx.PartSize)
                    {
                        // Small file: read once into a pooled part buffer, hash it there and send those same bytes.
                        small = await ctx.Pool.RentAsync(ct).ConfigureAwait(false);
                        smallLen = await ReadUpToAsync(c.FullPath, small, ct).ConfigureAwait(false);
                        if (smallLen == small.Length && new FileInfo(c.FullPath).Length > smallLen)
                        {
                            ctx.Pool.Return(small); // grew past one part since the scan: stream it instead
                            small = null;
                            hash = (await HashFileAsync(c.FullPath, ct).ConfigureAwait(false)).Sha256;
                            c.Size = new FileInfo(c.FullPath).Length;
                        }
                        else
                        {
                            c.Size = smallLen;
                            using var sha = SHA256.Create();
                            hash = ObjectWriter.ToHex(sha.ComputeHash(small, 0, smallLen));
                        }
                    }
                    else
                    {
                        bool streamPut = options.Cipher == null && ctx.Limiter.IsUnlimited && c.Size <= options.SinglePutMaxBytes;
                        long hashedLength;
                        (hash, md5, hashedLength) = await HashFileAsync(c.FullPath, ct, wantMd5: streamPut).ConfigureAwait(false);
                        c.Size = hashedLength; // the manifest records what was hashed, even if the file changed since the scan
                    }
                    scannedHashes[c.FullPath] = hash;
                    var key = _target.DataKey(hash);
                    ManifestEntry? stored;
                    if (knownObjects.TryGetValue(key, out var known))
                    {
                        stored = known;
                        Interlocked.Increment(ref skipped);
                    }
                    else
                    {
                        bool mine = false;
                        var lazy = inflightByHash.GetOrAdd(hash, _ => new Lazy<Task<ManifestEntry?>>(() =>
                        {
                            mine = true;
                            return small != null
                                ? StoreSmallAsync(ctx, small, smallLen, hash, key, storageClass, lockMode, retainUntil, ct)
                                : md5 != null && ctx.Journal.Load(ctx.Client.Target.JournalScope, key) == null // an interrupted multipart upload resumes instead
                                    ? StoreStreamedAsync(ctx, c, hash, md5, key, storageClass, lockMode, retainUntil, ct)
                                    : StoreAsync(ctx, c, hash, key, storageClass, options.Cipher, salt, lockMode, retainUntil, encryption, observer, ct);
                        }));
                        stored = await lazy.Value.ConfigureAwait(false);
                        if (stored == null) return; // failed: reported by the owner
                        if (mine && stored.StorageClass != "EXISTING") Interlocked.Increment(ref uploaded);
                        else Interlocked.Increment(ref skipped);
                    }
                    entries[c.RelPath] = new ManifestEntry
                    {
                        Path = c.RelPath, Size = c.Size, LastWriteTimeUtc = c.MTime, Hash = hash, Key = key,
                        StorageClass = stored.StorageClass == "EXISTING" ? storageClass ?? "STANDARD" : stored.StorageClass,
                        StoredSize = stored.StoredSize,
                    };
                    knownObjects.TryAdd(key, entries[c.RelPath]);
                }
                catch (NekkBackupException ex) when (!IsFatal(ex))
                {
                    Interlocked.Increment(ref errors);
                    observer.ItemFailed(c.FullPath, ex);
                    if (prev != null) entries[c.RelPath] = prev; // the last good content stays recorded
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    Interlocked.Increment(ref errors);
                    observer.ItemFailed(c.FullPath, Fail.FromIo(ex, c.FullPath));
                    if (prev != null) entries[c.RelPath] = prev;
                }
                finally
                {
                    if (small != null) ctx.Pool.Return(small);
                    Interlocked.Increment(ref filesDone);
                    Interlocked.Add(ref bytesDone, c.Size);
                    Report(c.RelPath);
                }
            }

            string status;
            long dataBytes = 0;
            string manifestKey = _target.ManifestKey(runId);
            try
            {
                await ForEachAsync(candidates, options.ThrottleLimit, ProcessAsync, ct).ConfigureAwait(false);

                var manifest = new CloudManifest
                {
                    RunId = runId, Host = _target.HostName, CreatedUtc = DateTime.UtcNow, Encryption = encryption,
                    Sources = roots.Select(r => r.Full).ToList(),
                    Files = entries.Values.OrderBy(e => e.Path, StringComparer.Ordinal).ToList(),
                };
                dataBytes = ctx.BytesSent;
                // Written last: the source of truth names only objects already stored.
                await CloudStore.PutSmallAsync(ctx, manifestKey, manifest.ToBytes(), "application/json", ct).ConfigureAwait(false);
                await CloudStore.PutSmallAsync(ctx, _target.LatestPointerKey, Encoding.UTF8.GetBytes(runId), "text/plain", ct).ConfigureAwait(false);
                await AbortUnwantedUploadsAsync(ctx, scannedHashes, ct).ConfigureAwait(false);
                status = errors == 0 ? "Succeeded" : "CompletedWithErrors";
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                log.Logger.Warning("Cloud backup cancelled; unfinished uploads stay journaled for the next run");
                throw;
            }
            Report(null, done: true);
            var result = new CloudRun
            {
                RunId = runId, Bucket = _target.Bucket, Prefix = _target.HostRoot.TrimEnd('/'), FilesScanned = candidates.Count,
                FilesUploaded = uploaded, FilesSkipped = skipped, BytesUploaded = dataBytes, PartsResumed = ctx.PartsResumed,
                Duration = sw.Elapsed, Errors = errors, Status = status, ManifestKey = manifestKey,
            };
            log.Logger.Information("Cloud backup {Status}: {Scanned} scanned, {Uploaded} uploaded, {Skipped} skipped, {Bytes} bytes sent, {Resumed} parts resumed, {Errors} errors, {Retries} retries in {Duration}",
                status, result.FilesScanned, uploaded, skipped, result.BytesUploaded, result.PartsResumed, errors, client.Retries, sw.Elapsed);
            return result;
        }

        internal const long HeadCheckThreshold = 1024 * 1024;

        internal static bool IsFatal(NekkBackupException ex) =>
            ex.ErrorId is "NekkBackup.CloudAccessDenied" or "NekkBackup.CloudBucketNotFound" or "NekkBackup.CloudUnreachable";

        private static async Task<ManifestEntry?> StoreSmallAsync(UploadContext ctx, byte[] buffer, int length, string hash, string key,
            string? storageClass, string lockMode, DateTime? retainUntil, CancellationToken ct)
        {
            var writer = new ObjectWriter(ctx, new ObjectSpec
            {
                Key = key, StorageClass = storageClass, ObjectLockMode = retainUntil != null ? lockMode : null, RetainUntilUtc = retainUntil,
                Metadata = Meta(hash, length, null),
            }, ct);
            await writer.PutBufferAsync(buffer, length).ConfigureAwait(false);
            return new ManifestEntry { Key = key, Hash = hash, StorageClass = storageClass ?? "STANDARD", StoredSize = length };
        }

        /// <summary>
        /// One PutObject streamed from the file. Content-MD5 comes from the hashing pass, so if the file changed since,
        /// the store refuses the body (BadDigest) and no object holds bytes other than the ones hashed.
        /// </summary>
        private static async Task<ManifestEntry?> StoreStreamedAsync(UploadContext ctx, Candidate c, string hash, byte[] md5, string key,
            string? storageClass, string lockMode, DateTime? retainUntil, CancellationToken ct)
        {
            var writer = new ObjectWriter(ctx, new ObjectSpec
            {
                Key = key, StorageClass = storageClass, ObjectLockMode = retainUntil != null ? lockMode : null, RetainUntilUtc = retainUntil,
                Metadata = Meta(hash, c.Size, null), SourcePath = c.FullPath,
            }, ct);
            try
            {
                await writer.PutFileAsync(c.FullPath, c.Size, md5).ConfigureAwait(false);
            }
            catch (NekkBackupException ex) when (ex.InnerException is Amazon.S3.AmazonS3Exception s3 && s3.ErrorCode is "BadDigest" or "IncompleteBody")
            {
                throw Fail.InvalidData("ItemChanged", $"'{c.FullPath}' changed while it was being uploaded; it is sent on the next run.", c.FullPath, ex);
            }
            return new ManifestEntry { Key = key, Hash = hash, StorageClass = storageClass ?? "STANDARD", StoredSize = c.Size };
        }

        private static Dictionary<string, string> Meta(string hash, long size, string? encryption)
        {
            var meta = new Dictionary<string, string> { ["sha256"] = hash, ["nekk-size"] = size.ToString(System.Globalization.CultureInfo.InvariantCulture) };
            if (encryption != null) meta["nekk-enc"] = encryption;
            return meta;
        }

        private static async Task<int> ReadUpToAsync(string path, byte[] buffer, CancellationToken ct)
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan | FileOptions.Asynchronous);
            int got = 0;
            while (got < buffer.Length)
            {
                int n = await fs.ReadAsync(buffer, got, buffer.Length - got, ct).ConfigureAwait(false);
                if (n == 0) break;
                got += n;
            }
            return got;
        }

        /// <summary>Uploads one content; returns its entry, or null after reporting a failure. StorageClass "EXISTING" = found already stored.</summary>
        private async Task<ManifestEntry?> StoreAsync(UploadContext ctx, Candidate c, string hash, string key, string? storageClass,
            ContentCipher? cipher, byte[]? salt, string lockMode, DateTime? retainUntil, string? encryption, IRunObserver observer, CancellationToken ct)
        {
            // Content already stored (by an earlier run whose manifest is not the latest, or by another path): don't send it
            // again. Below 1 MiB asking costs about what sending does, and a re-PUT of identical bytes is harmless.
            if (c.Size >= HeadCheckThreshold)
            {
                var head = await CloudStore.TryHeadAsync(ctx.Client, key, ct).ConfigureAwait(false);
                if (head != null && (head.Metadata?["sha256"] ?? hash) == hash
                    && (head.Metadata?["nekk-enc"] ?? "") == (encryption ?? ""))
                    return new ManifestEntry { Key = key, Hash = hash, StorageClass = "EXISTING", StoredSize = head.ContentLength };
            }

            for (int attempt = 0; ; attempt++)
            {
                var spec = await BuildSpecAsync(ctx, c, hash, key, storageClass, cipher, salt, lockMode, retainUntil, encryption).ConfigureAwait(false);
                var writer = new ObjectWriter(ctx, spec, ct);
                try
                {
                    using var file = new FileStream(c.FullPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16, FileOptions.SequentialScan | FileOptions.Asynchronous);
                    using var hashing = new HashingReadStream(file);
                    Stream body = cipher != null
                        ? cipher.Encrypt(hashing, HexToBytes(spec.CipherSalt!), HexToBytes(spec.CipherNonce!))
                        : hashing;
                    // Item-level progress for a large file (level 1 under the run's bar), ~4 updates a second.
                    var itemProgress = new ProgressThrottle();
                    long itemDone = 0;
                    await writer.CopyFromAsync(body, n =>
                    {
                        itemDone += n;
                        if (itemProgress.Due())
                            observer.Progress(new RunProgress("Uploading " + c.RelPath, $"{itemDone / 1048576.0:0.0} of {c.Size / 1048576.0:0.0} MiB read, {ctx.BytesSent / 1048576.0:0.0} MiB sent")
                            {
                                CurrentItem = c.RelPath, BytesDone = Math.Min(itemDone, c.Size), BytesTotal = c.Size, Level = 1,
                            });
                    }).ConfigureAwait(false);
                    observer.Progress(new RunProgress("Uploading " + c.RelPath, "done") { Level = 1, Completed = true });
                    if (hashing.HashHex() != hash || hashing.BytesRead != c.Size)
                    {
                        await writer.AbandonAsync(abortUpload: true).ConfigureAwait(false);
                        ctx.Journal.Delete(ctx.Client.Target.JournalScope, key);
                        throw Fail.InvalidData("ItemChanged", $"'{c.FullPath}' changed while it was being uploaded; it is sent on the next run.", c.FullPath);
                    }
                    var outcome = await writer.CompleteAsync().ConfigureAwait(false);
                    if (outcome.PartsResumed > 0)
                        observer.Message(RunMessageLevel.Verbose, $"Resumed '{c.RelPath}': {outcome.PartsResumed} of {outcome.Parts} parts were already stored.");
                    return new ManifestEntry { Key = key, Hash = hash, StorageClass = storageClass ?? "STANDARD", StoredSize = outcome.Bytes };
                }
                catch (StaleUploadException) when (attempt == 0)
                {
                    await writer.AbandonAsync().ConfigureAwait(false);
                    ctx.Journal.Delete(ctx.Client.Target.JournalScope, key);
                    observer.Message(RunMessageLevel.Verbose, $"The journaled upload of '{c.RelPath}' is gone from the server; starting it over.");
                }
                catch (StaleUploadException ex)
                {
                    await writer.AbandonAsync().ConfigureAwait(false);
                    throw Fail.InvalidOperation("CloudUploadFailed", ex.Message, c.FullPath, ex);
                }
                catch
                {
                    await writer.AbandonAsync().ConfigureAwait(false);
                    throw;
                }
            }
        }

        private static Task<ObjectSpec> BuildSpecAsync(UploadContext ctx, Candidate c, string hash, string key, string? storageClass,
            ContentCipher? cipher, byte[]? salt, string lockMode, DateTime? retainUntil, string? encryption)
        {
            string? saltHex = null, nonceHex = null;
            long storedSize = c.Size;
            if (cipher != null)
            {
                // Resume an encrypted upload with the parameters it started with, so its parts match byte for byte.
                var j = ctx.Journal.Load(ctx.Client.Target.JournalScope, key);
                saltHex = j?.CipherSalt ?? ObjectWriter.ToHex(salt!);
                nonceHex = j?.CipherNonce ?? ObjectWriter.ToHex(ContentCipher.RandomBytes(8));
                storedSize = ContentCipher.EncryptedLength(c.Size);
            }
            var meta = Meta(hash, c.Size, encryption);
            return Task.FromResult(new ObjectSpec
            {
                Key = key, StorageClass = storageClass, ObjectLockMode = retainUntil != null ? lockMode : null, RetainUntilUtc = retainUntil,
                Metadata = meta, ExpectedSize = storedSize, UseJournal = true, SourcePath = c.FullPath, ContentHash = hash,
                CipherSalt = saltHex, CipherNonce = nonceHex,
            });
        }

        /// <summary>Journaled uploads older than the limit: AbortMultipartUpload (tolerating servers without it) and forget.</summary>
        private async Task AbortStaleUploadsAsync(UploadContext ctx, int staleDays, CancellationToken ct)
        {
            var scope = ctx.Client.Target.JournalScope;
            foreach (var j in ctx.Journal.All(scope))
            {
                if (!j.Key.StartsWith(_target.HostRoot, StringComparison.Ordinal)) continue;
                if (DateTime.UtcNow - j.CreatedUtc < TimeSpan.FromDays(staleDays)) continue;
                await AbortAsync(ctx, j, $"older than {staleDays} days", ct).ConfigureAwait(false);
            }
        }

        /// <summary>Journaled uploads for content no longer wanted (its file now has other content, or is gone).</summary>
        private async Task AbortUnwantedUploadsAsync(UploadContext ctx, ConcurrentDictionary<string, string> scannedHashes, CancellationToken ct)
        {
            foreach (var j in ctx.Journal.All(ctx.Client.Target.JournalScope))
            {
                if (!j.Key.StartsWith(_target.HostRoot, StringComparison.Ordinal) || j.SourcePath == null) continue;
                bool gone = !File.Exists(j.SourcePath);
                bool changed = scannedHashes.TryGetValue(j.SourcePath, out var h) && h != j.ContentHash;
                if (gone || changed)
                    await AbortAsync(ctx, j, gone ? "its file is gone" : "its file has new content", ct).ConfigureAwait(false);
            }
        }

        private static async Task AbortAsync(UploadContext ctx, JournalEntry j, string why, CancellationToken ct)
        {
            ct.ThrowIfCancellationRequested();
            var w = new ObjectWriter(ctx, new ObjectSpec { Key = j.Key }, ct);
            bool aborted = await w.AbortQuietlyAsync(j.Key, j.UploadId).ConfigureAwait(false);
            ctx.Journal.Delete(j.Scope, j.Key);
            ctx.Observer.Message(RunMessageLevel.Verbose, aborted
                ? $"Aborted the unfinished upload of '{j.Key}' ({why})."
                : $"Forgot the unfinished upload of '{j.Key}' ({why}); the endpoint could not abort it.");
        }

        internal static IEnumerable<(FileInfo File, string Rel)> Walk(string root, IRunObserver observer, Action onError)
        {
            var stack = new Stack<(DirectoryInfo Dir, string Rel)>();
            stack.Push((new DirectoryInfo(root), ""));
            while (stack.Count > 0)
            {
                var (dir, rel) = stack.Pop();
                FileSystemInfo[] items;
                try
                {
                    items = dir.GetFileSystemInfos();
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    onError();
                    observer.ItemFailed(dir.FullName, Fail.FromIo(ex, dir.FullName));
                    continue;
                }
                foreach (var item in items.OrderBy(i => i.Name, StringComparer.Ordinal))
                {
                    // Links are not followed out of the tree.
                    if ((item.Attributes & FileAttributes.ReparsePoint) != 0) continue;
                    var r = rel.Length == 0 ? item.Name : rel + "/" + item.Name;
                    if (item is DirectoryInfo d) stack.Push((d, r));
                    else if (item is FileInfo f) yield return (f, r);
                }
            }
        }

        internal static async Task<(string Sha256, byte[]? Md5, long Length)> HashFileAsync(string path, CancellationToken ct, bool wantMd5 = false)
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16, FileOptions.SequentialScan | FileOptions.Asynchronous);
            using var sha = SHA256.Create();
            using var md5 = wantMd5 ? MD5.Create() : null;
            // Pooled: a fresh 1 MiB array per file lands on the large-object heap and bloats the working set.
            var buf = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 20);
            try
            {
                int n;
                long length = 0;
                while ((n = await fs.ReadAsync(buf, 0, 1 << 20, ct).ConfigureAwait(false)) > 0)
                {
                    length += n;
                    sha.TransformBlock(buf, 0, n, null, 0);
                    md5?.TransformBlock(buf, 0, n, null, 0);
                }
                sha.TransformFinalBlock(buf, 0, 0);
                md5?.TransformFinalBlock(buf, 0, 0);
                return (ObjectWriter.ToHex(sha.Hash!), md5?.Hash, length);
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buf);
            }
        }

        internal static byte[] HexToBytes(string hex)
        {
            var b = new byte[hex.Length / 2];
            for (int i = 0; i < b.Length; i++) b[i] = Convert.ToByte(hex.Substring(2 * i, 2), 16);
            return b;
        }

        internal static async Task ForEachAsync<T>(IEnumerable<T> items, int parallel, Func<T, Task> body, CancellationToken ct)
        {
            using var gate = new SemaphoreSlim(parallel, parallel);
            var tasks = new List<Task>();
            Exception? fatal = null;
            foreach (var item in items)
            {
                await gate.WaitAsync(ct).ConfigureAwait(false);
                if (Volatile.Read(ref fatal) != null) { gate.Release(); break; }
                tasks.Add(Task.Run(async () =>
                {
                    try { await body(item).ConfigureAwait(false); }
                    catch (Exception ex) { Interlocked.CompareExchange(ref fatal, ex, null); }
                    finally { gate.Release(); }
                }, CancellationToken.None));
            }
            await Task.WhenAll(tasks).ConfigureAwait(false);
            ct.ThrowIfCancellationRequested();
            if (fatal != null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(fatal).Throw();
        }
    }

    /// <summary>Read-through SHA-256 of what was actually read, to prove the bytes sent are the bytes hashed.</summary>
    internal sealed class HashingReadStream : Stream
    {
        private readonly Stream _inner;
        private readonly SHA256 _sha = SHA256.Create();
        private byte[]? _hash;

        public HashingReadStream(Stream inner) => _inner = inner;
        public long BytesRead { get; private set; }

        public string HashHex()
        {
            if (_hash == null)
            {
                _sha.TransformFinalBlock(Array.Empty<byte>(), 0, 0);
                _hash = _sha.Hash!;
            }
            return ObjectWriter.ToHex(_hash);
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = _inner.Read(buffer, offset, count);
            if (n > 0) { _sha.TransformBlock(buffer, offset, n, null, 0); BytesRead += n; }
            return n;
        }

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            int n = await _inner.ReadAsync(buffer, offset, count, cancellationToken).ConfigureAwait(false);
            if (n > 0) { _sha.TransformBlock(buffer, offset, n, null, 0); BytesRead += n; }
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
            if (disposing) _sha.Dispose();
            base.Dispose(disposing);
        }
    }

    /// <summary>Lets a progress report through at most ~4 times a second.</summary>
    internal sealed class ProgressThrottle
    {
        private readonly Stopwatch _sw = Stopwatch.StartNew();
        private long _nextMs;

        public bool Due()
        {
            long now = _sw.ElapsedMilliseconds;
            long next = Interlocked.Read(ref _nextMs);
            if (now < next) return false;
            return Interlocked.CompareExchange(ref _nextMs, now + 250, next) == next;
        }
    }
}
