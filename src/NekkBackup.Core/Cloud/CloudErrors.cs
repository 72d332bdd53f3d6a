using System;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using Amazon.Runtime;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Storage;

namespace NekkBackup.Core.Cloud
{
    /// <summary>
    /// What a failed S3 call means for the cloud leg: whether it is worth a retry (the one pipeline asks
    /// <see cref="S3Target.IsPermanent"/>, which asks here) and the documented NekkBackup.Cloud* error an admin
    /// sees (CloudAccessDenied, CloudBucketNotFound, CloudObjectNotFound, CloudObjectArchived, CloudUnreachable,
    /// CloudRequestFailed). Secrets never appear in a message.
    /// </summary>
    public static class CloudErrors
    {
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
                    // A body that does not match its ETag/checksum is damage at rest, not a network blip.
                    if (IsContentMismatch(c)) return false;
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

        /// <summary>Lost connectivity, credentials or bucket: nothing else in the run can succeed, so it stops.</summary>
        public static bool IsFatal(NekkBackupException ex) =>
            ex.ErrorId is "NekkBackup.CloudAccessDenied" or "NekkBackup.CloudBucketNotFound" or "NekkBackup.CloudUnreachable";

        /// <summary>The S3 error code behind a failure (through a target's wrapping), or null.</summary>
        public static string? S3Code(Exception ex)
        {
            for (var e = ex; e != null; e = e.InnerException)
                if (e is AmazonServiceException s) return s.ErrorCode;
            return null;
        }

        /// <summary>The final failure of <paramref name="what"/> as the cloud leg's documented error.</summary>
        public static NekkBackupException Map(Exception ex, string what, CloudTarget t, object? item)
        {
            if (ex is TargetException te)
            {
                if (te.InnerException is AmazonServiceException || te.InnerException is AmazonClientException || te.InnerException is HttpRequestException || te.InnerException is IOException)
                    return Map(te.InnerException, what, t, item);
                return MapTarget(te, what, t, item);
            }
            var endpoint = Endpoint(t);
            if (ex is AmazonClientException mismatch && ex is not AmazonServiceException && IsContentMismatch(mismatch))
                return new NekkBackupException("CloudChecksumMismatch", FailureKind.InvalidData,
                    $"{what}: the object read back does not match the hash the store keeps for it ({mismatch.Message}); the object in bucket '{t.Bucket}' is damaged.", item, ex);
            if (ex is AmazonServiceException s)
            {
                if (IsPermanentAuthCode(s.ErrorCode) || (s.StatusCode == HttpStatusCode.Forbidden && string.IsNullOrEmpty(s.ErrorCode)))
                    return new NekkBackupException("CloudAccessDenied", FailureKind.PermissionDenied,
                        $"Access to bucket '{t.Bucket}' at {endpoint} was denied ({s.ErrorCode ?? "403"}) during {what}: check the access key, secret and the bucket policy.", item ?? t.Bucket, ex);
                if (s.ErrorCode == "NoSuchBucket")
                    return new NekkBackupException("CloudBucketNotFound", FailureKind.NotFound,
                        $"The bucket '{t.Bucket}' does not exist at {endpoint}.", item ?? t.Bucket, ex);
                if (s.ErrorCode == "NoSuchKey" || s.StatusCode == HttpStatusCode.NotFound)
                    return new NekkBackupException("CloudObjectNotFound", FailureKind.NotFound,
                        $"{what}: the object is not in bucket '{t.Bucket}'.", item, ex);
                if (s.ErrorCode == "InvalidObjectState")
                    return new NekkBackupException("CloudObjectArchived", FailureKind.ResourceUnavailable,
                        $"{what}: the object is in a cold storage class and must be thawed first.", item, ex);
                if (IsTransient(ex))
                    return new NekkBackupException("CloudUnreachable", FailureKind.ConnectionError,
                        $"{what} kept failing at {endpoint} after retries ({(int)s.StatusCode} {s.ErrorCode}): {s.Message}", item ?? t.Bucket, ex) { IsTransient = true };
                return new NekkBackupException("CloudRequestFailed", FailureKind.InvalidOperation,
                    $"{what} was refused by {endpoint} ({(int)s.StatusCode} {s.ErrorCode}): {s.Message}", item ?? t.Bucket, ex);
            }
            return new NekkBackupException("CloudUnreachable", FailureKind.ConnectionError,
                $"Cannot reach {endpoint} for {what}: {Innermost(ex).Message}", item ?? t.Bucket, ex) { IsTransient = true };
        }

        /// <summary>A target's own failure (no SDK error behind it): a damaged or short body, a key outside the grammar.</summary>
        private static NekkBackupException MapTarget(TargetException te, string what, CloudTarget t, object? item) => te.ErrorKind switch
        {
            TargetErrorKind.NotFound => new NekkBackupException("CloudObjectNotFound", FailureKind.NotFound, $"{what}: the object is not in bucket '{t.Bucket}'.", item, te),
            TargetErrorKind.AccessDenied => new NekkBackupException("CloudAccessDenied", FailureKind.PermissionDenied, $"{what}: {te.Message}", item ?? t.Bucket, te),
            _ when te.IsTransient => new NekkBackupException("CloudUnreachable", FailureKind.ConnectionError,
                $"{what} kept failing at {Endpoint(t)} after retries: {te.Message}", item ?? t.Bucket, te) { IsTransient = true },
            _ => new NekkBackupException("CloudRequestFailed", FailureKind.InvalidOperation, $"{what}: {te.Message}", item ?? t.Bucket, te),
        };

        /// <summary>
        /// The SDK's own check of a downloaded body failed (its MD5 against the ETag of a single-part object, or a flexible
        /// checksum): the stored object is damaged. Before this, such a file was reported as "Cannot reach" the endpoint
        /// and stopped the whole restore.
        /// </summary>
        public static bool IsContentMismatch(AmazonClientException ex)
        {
            var m = ex.Message ?? "";
            return m.IndexOf("calculated hash", StringComparison.OrdinalIgnoreCase) >= 0
                || (m.IndexOf("checksum", StringComparison.OrdinalIgnoreCase) >= 0 && m.IndexOf("match", StringComparison.OrdinalIgnoreCase) >= 0);
        }

        private static string Endpoint(CloudTarget t) => t.Endpoint ?? "AWS S3" + (t.Region != null ? " (" + t.Region + ")" : "");

        private static Exception Innermost(Exception ex)
        {
            while (ex.InnerException != null) ex = ex.InnerException;
            return ex;
        }
    }
}
