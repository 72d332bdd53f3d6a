using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Primitives;

namespace NekkBackup.Core.Cloud
{
    /// <summary>
    /// The three ways one content goes up as data/&lt;sha256&gt; (part of the upload phase): a small file from the
    /// buffer it was hashed in, a mid-size file as one streamed PutObject whose Content-MD5 comes from the hashing
    /// pass, and everything else (large, encrypted, bandwidth-capped) through the journaled, resumable multipart
    /// <see cref="ObjectWriter"/>. Each returns the object's entry; <see cref="Existing"/> marks content found already stored.
    /// </summary>
    internal sealed class ContentStore
    {
        public const string Existing = "EXISTING";

        /// <summary>Below 1 MiB asking whether an object exists costs about what sending it does; a re-PUT of identical bytes is harmless.</summary>
        internal const long HeadCheckThreshold = 1024 * 1024;

        private readonly UploadContext _ctx;
        private readonly UploadSettings _settings;
        private readonly ContentCipher? _cipher;
        private readonly byte[]? _salt;
        private readonly IRunObserver _observer;
        private readonly CancellationToken _ct;

        public ContentStore(UploadContext ctx, UploadSettings settings, ContentCipher? cipher, IRunObserver observer, CancellationToken ct)
        {
            _ctx = ctx;
            _settings = settings;
            _cipher = cipher;
            _salt = cipher != null ? ContentCipher.RandomBytes(16) : null;
            _observer = observer;
            _ct = ct;
        }

        public string? Encryption => _cipher != null ? ContentCipher.Name : null;
        public string StorageClassOrDefault => _settings.StorageClassOrDefault;
        private string Scope => _ctx.Client.Target.JournalScope;

        public async Task<ManifestEntry> StoreSmallAsync(byte[] buffer, int length, string hash, string key)
        {
            var writer = new ObjectWriter(_ctx, Spec(key, hash, length, null), _ct);
            await writer.PutBufferAsync(buffer, length).ConfigureAwait(false);
            return Stored(key, hash, length);
        }

        /// <summary>
        /// One PutObject streamed from the file. Content-MD5 comes from the hashing pass, so if the file changed since,
        /// the store refuses the body (BadDigest) and no object holds bytes other than the ones hashed.
        /// </summary>
        public async Task<ManifestEntry> StoreStreamedAsync(SourceFile f, string hash, byte[] md5, string key)
        {
            var writer = new ObjectWriter(_ctx, Spec(key, hash, f.Size, f.LivePath), _ct);
            try
            {
                await writer.PutFileAsync(f.ReadPath, f.Size, md5).ConfigureAwait(false);
            }
            catch (NekkBackupException ex) when (CloudErrors.S3Code(ex) is "BadDigest" or "IncompleteBody")
            {
                throw Changed(f, ex);
            }
            return Stored(key, hash, f.Size);
        }

        /// <summary>True when a stored object (its HEAD) holds this content: the same SHA-256 and encryption recorded on it.</summary>
        internal static bool Holds(Storage.TargetEntry? head, string hash, string? encryption) =>
            head != null && (head.Attribute(Storage.S3Target.MetadataPrefix + "sha256") ?? hash) == hash
            && (head.Attribute(Storage.S3Target.MetadataPrefix + "nekk-enc") ?? "") == (encryption ?? "");

        /// <summary>An interrupted journaled upload of this key resumes instead of starting a streamed one.</summary>
        public bool HasJournaledUpload(string key) => _ctx.Journal.Load(Scope, key) != null;

        /// <summary>Multipart, journaled, encrypted when the run is; the bytes sent are hashed again and must match.</summary>
        public async Task<ManifestEntry> StoreMultipartAsync(SourceFile f, string hash, string key)
        {
            // Content already stored (by an earlier run whose manifest is not the latest, or by another path): not sent again.
            if (f.Size >= HeadCheckThreshold)
            {
                var head = await _ctx.Client.HeadAsync(key, _ct).ConfigureAwait(false);
                if (Holds(head, hash, Encryption))
                    return new ManifestEntry { Key = key, Hash = hash, StorageClass = Existing, StoredSize = head!.Size }; // Holds: not null
            }
            for (int attempt = 0; ; attempt++)
            {
                var writer = new ObjectWriter(_ctx, MultipartSpec(f, hash, key), _ct);
                try
                {
                    using var file = new FileStream(f.ReadPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16, FileOptions.SequentialScan | FileOptions.Asynchronous);
                    using var hashing = new HashingReadStream(file);
                    var spec = writer.Spec;
                    Stream body = _cipher != null ? _cipher.Encrypt(hashing, Hex.Decode(spec.CipherSalt!), Hex.Decode(spec.CipherNonce!)) : hashing;
                    // Item-level progress for a large file (level 1 under the run's bar), ~4 updates a second.
                    var itemProgress = new ProgressThrottle();
                    long itemDone = 0;
                    await writer.CopyFromAsync(body, n =>
                    {
                        itemDone += n;
                        if (itemProgress.TryEnter())
                            _observer.Progress(new RunProgress("Uploading " + f.RelPath, $"{itemDone / 1048576.0:0.0} of {f.Size / 1048576.0:0.0} MiB read, {_ctx.BytesSent / 1048576.0:0.0} MiB sent")
                            {
                                CurrentItem = f.RelPath, BytesDone = Math.Min(itemDone, f.Size), BytesTotal = f.Size, Level = 1,
                            });
                    }).ConfigureAwait(false);
                    _observer.Progress(new RunProgress("Uploading " + f.RelPath, "done") { Level = 1, Completed = true });
                    if (hashing.HashHex() != hash || hashing.BytesRead != f.Size)
                    {
                        await writer.AbandonAsync(abortUpload: true).ConfigureAwait(false);
                        _ctx.Journal.Delete(Scope, key);
                        throw Changed(f, null);
                    }
                    var outcome = await writer.CompleteAsync().ConfigureAwait(false);
                    if (outcome.PartsResumed > 0)
                        _observer.Message(RunMessageLevel.Verbose, $"Resumed '{f.RelPath}': {outcome.PartsResumed} of {outcome.Parts} parts were already stored.");
                    return Stored(key, hash, outcome.Bytes);
                }
                catch (StaleUploadException) when (attempt == 0)
                {
                    await writer.AbandonAsync().ConfigureAwait(false);
                    _ctx.Journal.Delete(Scope, key);
                    _observer.Message(RunMessageLevel.Verbose, $"The journaled upload of '{f.RelPath}' is gone from the server; starting it over.");
                }
                catch (StaleUploadException ex)
                {
                    await writer.AbandonAsync().ConfigureAwait(false);
                    throw Fail.InvalidOperation("CloudUploadFailed", ex.Message, f.LivePath, ex);
                }
                catch
                {
                    await writer.AbandonAsync().ConfigureAwait(false);
                    throw;
                }
            }
        }

        private ObjectSpec MultipartSpec(SourceFile f, string hash, string key)
        {
            string? saltHex = null, nonceHex = null;
            long storedSize = f.Size;
            if (_cipher != null)
            {
                // Resume an encrypted upload with the parameters it started with, so its parts match byte for byte.
                var j = _ctx.Journal.Load(Scope, key);
                saltHex = j?.CipherSalt ?? Hex.Encode(_salt!);
                nonceHex = j?.CipherNonce ?? Hex.Encode(ContentCipher.RandomBytes(8));
                storedSize = ContentCipher.EncryptedLength(f.Size);
            }
            var s = Spec(key, hash, f.Size, f.LivePath, Encryption);
            return new ObjectSpec
            {
                Key = s.Key, StorageClass = s.StorageClass, ObjectLockMode = s.ObjectLockMode, RetainUntilUtc = s.RetainUntilUtc, Metadata = s.Metadata,
                ExpectedSize = storedSize, UseJournal = true, SourcePath = f.LivePath, ContentHash = hash, CipherSalt = saltHex, CipherNonce = nonceHex,
            };
        }

        private ObjectSpec Spec(string key, string hash, long size, string? sourcePath, string? encryption = null)
        {
            var meta = new Dictionary<string, string> { ["sha256"] = hash, ["nekk-size"] = size.ToString(CultureInfo.InvariantCulture) };
            if (encryption != null) meta["nekk-enc"] = encryption;
            return new ObjectSpec
            {
                Key = key, StorageClass = _settings.StorageClass, ObjectLockMode = _settings.ObjectLockMode, RetainUntilUtc = _settings.RetainUntilUtc,
                Metadata = meta, SourcePath = sourcePath,
            };
        }

        private ManifestEntry Stored(string key, string hash, long storedSize) =>
            new() { Key = key, Hash = hash, StorageClass = _settings.StorageClassOrDefault, StoredSize = storedSize };

        private static NekkBackupException Changed(SourceFile f, Exception? inner) =>
            Fail.InvalidData("ItemChanged", $"'{f.LivePath}' changed while it was being uploaded; it is sent on the next run.", f.LivePath, inner);

        /// <summary>SHA-256 of a whole file, with its MD5 from the same read when asked (Content-MD5 of a streamed put).</summary>
        public static async Task<(string Sha256, byte[]? Md5, long Length)> HashFileAsync(string path, bool wantMd5, CancellationToken ct)
        {
            if (!wantMd5)
            {
                var (sha, length) = await Sha256.OfFileAsync(path, ct).ConfigureAwait(false);
                return (sha, null, length);
            }
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan | FileOptions.Asynchronous);
            using var md5 = new HashingReadStream(fs, MD5.Create());
            var (hash, read) = await Sha256.OfStreamAsync(md5, ct).ConfigureAwait(false);
            return (hash, md5.Digest(), read);
        }

        /// <summary>Reads the start of a file into <paramref name="buffer"/>; returns the bytes read (less than the buffer: the whole file).</summary>
        public static async Task<int> ReadUpToAsync(string path, byte[] buffer, CancellationToken ct)
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
    }
}
