using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.CredentialManagement;
using Amazon.S3;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Resilience;
using NekkBackup.Core.Storage;
using NekkBackup.Core.Validation;

namespace NekkBackup.Core.Cloud
{
    /// <summary>
    /// One operation's connection to a bucket. This host's objects are an <see cref="IBackupTarget"/>: an
    /// <see cref="S3Target"/> rooted at &lt;Prefix&gt;/&lt;host&gt;/ inside a <see cref="RetryingTarget"/>, the one retry
    /// pipeline. Small objects, heads, listings and manifests go through that target; the few S3 calls it has no verb
    /// for (journaled multipart parts, ranged reads, thaw requests) run through <see cref="RunAsync{T}"/> under the same
    /// pipeline, so every retry is one log line and one counter. Every final failure becomes a documented
    /// NekkBackup.Cloud* error (<see cref="CloudErrors"/>). Keys are full bucket keys (as manifests record them).
    /// </summary>
    public sealed class CloudClient : IDisposable
    {
        private readonly S3Target _store;
        private readonly RetryingTarget _objects;

        private readonly string _root;

        private CloudClient(CloudTarget target, string root, S3Target store, RetryingTarget objects)
        {
            Target = target;
            _root = root;
            _store = store;
            _objects = objects;
        }

        /// <summary>
        /// Connects and checks the bucket (one listing under this host's prefix, retried while transient): a missing
        /// bucket is CloudBucketNotFound, refused keys CloudAccessDenied, no answer CloudUnreachable. Nothing is written.
        /// </summary>
        /// <param name="root">The key prefix the target is rooted at: this host's &lt;Prefix&gt;/&lt;host&gt;/ unless told
        /// (the fleet view reads every host's status under &lt;Prefix&gt;/).</param>
        /// <param name="check">False for a caller that takes the bucket lock next: the lock's first listing (under
        /// &lt;Prefix&gt;/&lt;host&gt;/locks/) is the same check, mapped to the same errors, one request earlier.</param>
        public static async Task<CloudClient> OpenAsync(CloudTarget target, IRunObserver? observer, RunLog? log, CancellationToken ct, string? root = null, bool check = true)
        {
            if (target == null) throw new ArgumentNullException(nameof(target));
            Validate(target);
            root ??= target.HostRoot;
            // The cloud leg never needs a race-free create (the lock needs none) and sets Object Lock headers itself.
            var store = S3Target.Connect(target, new S3TargetOptions { RootPrefix = root, ConditionalCreate = false, ObjectLock = false });
            var preset = new NekkResilience.RetryPreset(Math.Max(0, target.MaxRetryAttempts), target.RetryFirstDelay, target.RetryMaxDelay);
            var client = new CloudClient(target, root, store, new RetryingTarget(store, preset, log?.Logger, observer ?? NullRunObserver.Instance));
            try
            {
                if (check) await client.RunAsync(BucketCheck, async t => { await store.CheckAsync(t).ConfigureAwait(false); return true; }, ct, target.Bucket).ConfigureAwait(false);
                return client;
            }
            catch
            {
                client.Dispose();
                throw;
            }
        }

        internal const string BucketCheck = "ListObjectsV2 (bucket check)";

        public CloudTarget Target { get; }

        /// <summary>The objects under the root (this host's: keys relative to &lt;Prefix&gt;/&lt;host&gt;/), retried; for the lock.</summary>
        public IBackupTarget Objects => _objects;

        /// <summary>The target without the retry layer, for reads that must be retried whole inside <see cref="RunAsync{T}"/> (open, read, verify).</summary>
        internal S3Target Store => _store;

        /// <summary>The SDK client, for the calls <see cref="IBackupTarget"/> has no verb for (always through <see cref="RunAsync{T}"/>).</summary>
        internal IAmazonS3 S3 => _store.Client;

        /// <summary>Retries performed (for the run log and tests).</summary>
        public int Retries => _objects.Retries;

        public static void Validate(CloudTarget t)
        {
            if (string.IsNullOrWhiteSpace(t.Bucket))
                throw Fail.Argument("InvalidBucket", "A bucket name is required.", t.Bucket);
            if (t.Endpoint != null && !Uri.TryCreate(t.Endpoint, UriKind.Absolute, out _))
                throw Fail.Argument("InvalidEndpoint", $"The endpoint '{t.Endpoint}' is not an absolute URL (e.g. https://s3.example.com).", t.Endpoint);
            if ((t.AccessKey == null) != (t.SecretKey == null))
                throw Fail.Argument("InvalidCredential", "Give both an access key and a secret key, or neither.");
        }

        /// <summary>The SDK client as S3-compatible stores need it (field-notes.md): path-style, checksums only when required.</summary>
        internal static IAmazonS3 CreateClient(CloudTarget t)
        {
            var config = new AmazonS3Config
            {
                // The one pipeline retries; keep the SDK's from multiplying with it.
                MaxErrorRetry = 1,
                RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
                ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
                Timeout = t.RequestTimeout,
            };
            if (!string.IsNullOrEmpty(t.Endpoint))
            {
                config.ServiceURL = t.Endpoint;
                config.ForcePathStyle = t.ForcePathStyle ?? true;
                config.AuthenticationRegion = string.IsNullOrEmpty(t.Region) ? "us-east-1" : t.Region;
            }
            else
            {
                config.RegionEndpoint = RegionEndpoint.GetBySystemName(string.IsNullOrEmpty(t.Region) ? "us-east-1" : t.Region);
                if (t.ForcePathStyle == true) config.ForcePathStyle = true;
            }
            return new AmazonS3Client(ResolveCredentials(t, config), config);
        }

        /// <summary>
        /// Where a cloud cmdlet's credentials come from, in this order: -Credential (or the key pair a plan's or a
        /// cmdlet's Set-NekkCredential entry for the bucket supplied), -ProfileName, then the SDK's default chain
        /// (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or the [default] profile, container and instance
        /// roles) — resolved now, so "no credentials anywhere" is NekkBackup.CloudCredentialsMissing at once instead of
        /// a request that fails, is retried as a transient fault and ends as CloudUnreachable.
        /// </summary>
        private static AWSCredentials ResolveCredentials(CloudTarget t, AmazonS3Config config)
        {
            if (t.AccessKey != null)
                return new BasicAWSCredentials(t.AccessKey, t.SecretKey);
            if (!string.IsNullOrEmpty(t.ProfileName))
            {
                var chain = new CredentialProfileStoreChain();
                if (!chain.TryGetAWSCredentials(t.ProfileName, out var fromProfile))
                    throw Fail.NotFound("CloudProfileNotFound", $"The AWS profile '{t.ProfileName}' was not found in the shared credentials or config file.", t.ProfileName);
                return fromProfile;
            }
            try
            {
                return Amazon.Runtime.Credentials.DefaultAWSCredentialsIdentityResolver.GetCredentials(config);
            }
            catch (AmazonClientException ex)
            {
                throw CredentialsMissing(t, ex);
            }
        }

        /// <summary>The AWS profile names in the shared credentials and config files (for -ProfileName completion); empty on any problem.</summary>
        public static IReadOnlyList<string> ProfileNames()
        {
            try
            {
                var names = new List<string>();
                foreach (var p in new CredentialProfileStoreChain().ListProfiles())
                    if (!names.Contains(p.Name)) names.Add(p.Name);
                names.Sort(StringComparer.OrdinalIgnoreCase);
                return names;
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is AmazonClientException || ex is FormatException || ex is ArgumentException)
            {
                return Array.Empty<string>();
            }
        }

        /// <summary>NekkBackup.CloudCredentialsMissing, naming the four places credentials can come from.</summary>
        public static NekkBackupException CredentialsMissing(CloudTarget t, Exception? inner = null) =>
            new("CloudCredentialsMissing", FailureKind.PermissionDenied,
                $"No credentials for bucket '{t.Bucket}' ({t.Endpoint ?? "AWS S3"}). Give them in one of four ways: -Credential (the access key as user name, "
                + "the secret key as password); -ProfileName <AWS profile>; the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE); "
                + $"or store them for the bucket with Set-NekkCredential -Target {t.Bucket} -Credential (which plans and scheduled runs use).",
                t.Bucket, inner);

        /// <summary>Runs one call under the pipeline; maps the final failure to a NekkBackup.Cloud* error.</summary>
        public async Task<T> RunAsync<T>(string what, Func<CancellationToken, Task<T>> call, CancellationToken ct, object? item = null)
        {
            try
            {
                return await _objects.ExecuteAsync(what, call, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                throw;
            }
            catch (TargetException ex)
            {
                throw CloudErrors.Map(ex, what, Target, item);
            }
            catch (NekkBackupException)
            {
                throw;
            }
            catch (Exception ex)
            {
                throw CloudErrors.Map(ex, what, Target, item);
            }
        }

        public Task RunAsync(string what, Func<CancellationToken, Task> call, CancellationToken ct, object? item = null) =>
            RunAsync<bool>(what, async token => { await call(token).ConfigureAwait(false); return true; }, ct, item);

        /// <summary>The key inside the target (every key the cloud leg uses lies under its root, &lt;Prefix&gt;/&lt;host&gt;/).</summary>
        internal string Relative(string key)
        {
            if (!key.StartsWith(_root, StringComparison.Ordinal) || key.Length == _root.Length)
                throw new ArgumentException($"'{key}' is not under '{_root}'.", nameof(key));
            return key.Substring(_root.Length);
        }

        // ---------------------------------------------------------------- through the target

        /// <summary>A small object's bytes (manifests, pointers, status), null when absent; larger than <paramref name="maxBytes"/> is refused unread.</summary>
        public Task<byte[]?> TryGetSmallAsync(string key, CancellationToken ct, long maxBytes = CloudRules.MaxManifestBytes)
        {
            var rel = Relative(key);
            // Open and read are one attempt: a body cut short is read again from the start.
            return RunAsync($"GetObject '{key}'", async t =>
            {
                Stream body;
                try { body = await _store.OpenReadAsync(rel, 0, -1, t).ConfigureAwait(false); }
                catch (TargetException ex) when (ex.ErrorKind == TargetErrorKind.NotFound && CloudErrors.S3Code(ex) != "NoSuchBucket") { return null; }
                using (body)
                {
                    if (body.Length > maxBytes)
                        throw Fail.InvalidData(Reasons.CloudManifestInvalid, $"The object '{key}' is {body.Length:N0} bytes, more than the {maxBytes:N0} such an object can be.", key);
                    using var ms = new MemoryStream();
                    await body.CopyToAsync(ms, 81920, t).ConfigureAwait(false);
                    return ms.ToArray();
                }
            }, ct, key);
        }

        /// <summary>HEAD: size, time and the store's attributes (<see cref="S3Target.ETagAttribute"/>…), or null when absent.</summary>
        public Task<TargetEntry?> HeadAsync(string key, CancellationToken ct)
        {
            var rel = Relative(key);
            return RunAsync($"HeadObject '{key}'", t => _store.StatAsync(rel, t), ct, key);
        }

        /// <summary>One whole small object (a manifest, a pointer, a status document); overwrites.</summary>
        public Task PutSmallAsync(string key, byte[] body, string contentType, CancellationToken ct)
        {
            var rel = Relative(key);
            return RunAsync($"PutObject '{key}'",
                t => _store.PutAsync(rel, new MemoryStream(body, false), new PutOptions { ContentType = contentType }, t), ct, key);
        }

        public Task DeleteAsync(string key, CancellationToken ct)
        {
            var rel = Relative(key);
            return RunAsync($"DeleteObject '{key}'", t => _store.DeleteAsync(rel, t), ct, key);
        }

        /// <summary>Every object under <paramref name="prefix"/> (a full key prefix under the root), with full keys; the listing restarts on a fault.</summary>
        public Task<List<TargetEntry>> ListAsync(string prefix, CancellationToken ct)
        {
            var rel = prefix == _root ? "" : Relative(prefix);
            return RunAsync($"ListObjectsV2 '{prefix}'", async t =>
            {
                var all = new List<TargetEntry>();
                await foreach (var e in _store.ListAsync(rel, t).ConfigureAwait(false))
                    all.Add(new TargetEntry(_root + e.Key, e.Size, e.LastModifiedUtc));
                return all;
            }, ct, prefix);
        }

        public void Dispose() => _store.Dispose();
    }
}
