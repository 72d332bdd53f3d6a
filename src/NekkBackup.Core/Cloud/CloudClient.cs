using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Amazon;
using Amazon.Runtime;
using Amazon.Runtime.CredentialManagement;
using Amazon.S3;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using Polly;
using Polly.Retry;

namespace NekkBackup.Core.Cloud
{
    /// <summary>
    /// Builds the S3 client the way S3-compatible stores need it (field-notes.md: path-style, checksums only
    /// when required, no aws-chunked framing) and runs every call through one retry pipeline that retries
    /// transient faults (5xx, 429/SlowDown, timeouts, resets) and maps permanent ones to clear errors.
    /// </summary>
    public sealed class CloudClient : IDisposable
    {
        private readonly ResiliencePipeline _pipeline;

        public CloudClient(CloudTarget target, IRunObserver observer, RunLog? log = null)
        {
            Target = target ?? throw new ArgumentNullException(nameof(target));
            Validate(target);
            S3 = CreateClient(target);
            _pipeline = BuildPipeline(target, observer, log);
        }

        public CloudTarget Target { get; }
        public IAmazonS3 S3 { get; }

        /// <summary>Count of retries performed (for tests and the log).</summary>
        public int Retries => _retries;
        private int _retries;

        public static void Validate(CloudTarget t)
        {
            if (string.IsNullOrWhiteSpace(t.Bucket))
                throw Fail.Argument("InvalidBucket", "A bucket name is required.", t.Bucket);
            if (t.Endpoint != null && !Uri.TryCreate(t.Endpoint, UriKind.Absolute, out _))
                throw Fail.Argument("InvalidEndpoint", $"The endpoint '{t.Endpoint}' is not an absolute URL (e.g. https://s3.example.com).", t.Endpoint);
            if ((t.AccessKey == null) != (t.SecretKey == null))
                throw Fail.Argument("InvalidCredential", "Give both an access key and a secret key, or neither.");
        }

        internal static IAmazonS3 CreateClient(CloudTarget t)
        {
            var config = new AmazonS3Config
            {
                // Our own pipeline retries; keep the SDK's from multiplying with it.
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

        // ---------------------------------------------------------------- retries and error mapping

        private ResiliencePipeline BuildPipeline(CloudTarget t, IRunObserver observer, RunLog? log)
        {
            // MaxRetryAttempts 0 (tab completion: one quick try) means no retry strategy: Polly refuses a retry of 0 attempts.
            if (t.MaxRetryAttempts <= 0) return ResiliencePipeline.Empty;
            return new ResiliencePipelineBuilder()
                .AddRetry(new RetryStrategyOptions
                {
                    ShouldHandle = new PredicateBuilder().Handle<Exception>(IsTransient),
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    MaxRetryAttempts = t.MaxRetryAttempts,
                    Delay = t.RetryFirstDelay,
                    MaxDelay = t.RetryMaxDelay,
                    OnRetry = args =>
                    {
                        Interlocked.Increment(ref _retries);
                        var ex = args.Outcome.Exception;
                        var text = $"S3 transient fault ({Describe(ex)}), retry {args.AttemptNumber + 1} of {t.MaxRetryAttempts} in {args.RetryDelay.TotalMilliseconds:0} ms.";
                        // One log line per retry (the observer may be this log's own wrapper: it must not write it again).
                        if (log == null) observer.Message(RunMessageLevel.Verbose, text);
                        else
                        {
                            log.Logger.Warning("S3 transient fault {Error}, retry {Attempt} of {MaxAttempts} in {Delay}", Describe(ex), args.AttemptNumber + 1, t.MaxRetryAttempts, args.RetryDelay);
                            RunLog.ForwardLogged(observer, RunMessageLevel.Verbose, text);
                        }
                        return default;
                    },
                })
                .Build();
        }

        private static string Describe(Exception? ex) => ex switch
        {
            null => "unknown",
            AmazonServiceException s => $"{(int)s.StatusCode} {s.ErrorCode}",
            _ => ex.GetType().Name + ": " + ex.Message,
        };

        /// <summary>Runs one S3 call with retries; maps the final failure to a NekkBackupException.</summary>
        public async Task<T> RunAsync<T>(string what, Func<CancellationToken, Task<T>> call, CancellationToken ct, object? target = null)
        {
            try
            {
                return await _pipeline.ExecuteAsync(async token => await call(token).ConfigureAwait(false), ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                throw;
            }
            catch (NekkBackupException)
            {
                throw;
            }
            catch (Exception ex)
            {
                throw Map(ex, what, Target, target);
            }
        }

        public Task RunAsync(string what, Func<CancellationToken, Task> call, CancellationToken ct, object? target = null) =>
            RunAsync<bool>(what, async token => { await call(token).ConfigureAwait(false); return true; }, ct, target);

        public static bool IsPermanentAuthCode(string? code) =>
            code is "AccessDenied" or "InvalidAccessKeyId" or "SignatureDoesNotMatch" or "AllAccessDisabled" or "InvalidToken" or "ExpiredToken" or "AccountProblem";

        public static bool IsTransient(Exception ex)
        {
            switch (ex)
            {
                case OperationCanceledException oce:
                    // HttpClient timeouts surface as TaskCanceledException whose token was not cancelled by us.
                    return !oce.CancellationToken.IsCancellationRequested || oce.InnerException is TimeoutException;
                case NekkBackupException n:
                    return n.IsTransient;
                case AmazonServiceException s:
                    if (IsPermanentAuthCode(s.ErrorCode) || s.ErrorCode is "NoSuchBucket" or "NoSuchKey" or "NoSuchUpload" or "InvalidObjectState" or "NotImplemented")
                        return false;
                    if (s.ErrorCode is "SlowDown" or "RequestTimeout" or "InternalError" or "ServiceUnavailable" or "Throttling" or "ThrottlingException" or "BadDigest")
                        return true;
                    int code = (int)s.StatusCode;
                    if (code >= 500 || code == 429 || code == 408) return true;
                    // A response cut short (connection reset mid-body) comes with status 0 and an inner I/O error.
                    if (code == 0) return s.InnerException == null || IsTransient(s.InnerException);
                    return false;
                case AmazonClientException c:
                    return c.InnerException == null || IsTransient(c.InnerException);
                case HttpRequestException:
                case IOException:
                case SocketException:
                case WebException:
                case TimeoutException:
                    return true;
                default:
                    return ex.InnerException != null && IsTransient(ex.InnerException);
            }
        }

        internal static NekkBackupException Map(Exception ex, string what, CloudTarget t, object? target)
        {
            var endpoint = t.Endpoint ?? "AWS S3" + (t.Region != null ? " (" + t.Region + ")" : "");
            if (ex is AmazonServiceException s)
            {
                if (IsPermanentAuthCode(s.ErrorCode) || (s.StatusCode == HttpStatusCode.Forbidden && string.IsNullOrEmpty(s.ErrorCode)))
                    return new NekkBackupException("CloudAccessDenied", FailureKind.PermissionDenied,
                        $"Access to bucket '{t.Bucket}' at {endpoint} was denied ({s.ErrorCode ?? "403"}) during {what}: check the access key, secret and the bucket policy.", target ?? t.Bucket, ex);
                if (s.ErrorCode == "NoSuchBucket")
                    return new NekkBackupException("CloudBucketNotFound", FailureKind.NotFound,
                        $"The bucket '{t.Bucket}' does not exist at {endpoint}.", target ?? t.Bucket, ex);
                if (s.ErrorCode == "NoSuchKey" || s.StatusCode == HttpStatusCode.NotFound)
                    return new NekkBackupException("CloudObjectNotFound", FailureKind.NotFound,
                        $"{what}: the object is not in bucket '{t.Bucket}'.", target, ex);
                if (s.ErrorCode == "InvalidObjectState")
                    return new NekkBackupException("CloudObjectArchived", FailureKind.ResourceUnavailable,
                        $"{what}: the object is in a cold storage class and must be thawed first.", target, ex);
                if (IsTransient(ex))
                    return new NekkBackupException("CloudUnreachable", FailureKind.ConnectionError,
                        $"{what} kept failing at {endpoint} after retries ({(int)s.StatusCode} {s.ErrorCode}): {s.Message}", target ?? t.Bucket, ex) { IsTransient = true };
                return new NekkBackupException("CloudRequestFailed", FailureKind.InvalidOperation,
                    $"{what} was refused by {endpoint} ({(int)s.StatusCode} {s.ErrorCode}): {s.Message}", target ?? t.Bucket, ex);
            }
            return new NekkBackupException("CloudUnreachable", FailureKind.ConnectionError,
                $"Cannot reach {endpoint} for {what}: {Innermost(ex).Message}", target ?? t.Bucket, ex) { IsTransient = true };
        }

        private static Exception Innermost(Exception ex)
        {
            while (ex.InnerException != null) ex = ex.InnerException;
            return ex;
        }

        public void Dispose() => S3.Dispose();
    }
}
