using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Amazon.S3;
using Amazon.S3.Model;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Validation;

namespace NekkBackup.Core.Cloud
{
    /// <summary>Bucket-level operations shared by the engines: preflight, manifests, small objects.</summary>
    public static class CloudStore
    {
        /// <summary>Checks that the bucket exists and that we may read it; maps failures to clear errors.</summary>
        public static Task PreflightAsync(CloudClient client, CancellationToken ct) =>
            client.RunAsync("ListObjectsV2 (bucket check)", t => client.S3.ListObjectsV2Async(new ListObjectsV2Request
            {
                BucketName = client.Target.Bucket, Prefix = client.Target.HostRoot, MaxKeys = 1,
            }, t), ct, client.Target.Bucket);

        /// <summary>A small object's bytes (manifests, pointers, status), null when absent; larger than <paramref name="maxBytes"/> is refused unread.</summary>
        public static async Task<byte[]?> TryGetSmallObjectAsync(CloudClient client, string key, CancellationToken ct, long maxBytes = CloudRules.MaxManifestBytes)
        {
            try
            {
                return await client.RunAsync($"GetObject '{key}'", async t =>
                {
                    try
                    {
                        using var resp = await client.S3.GetObjectAsync(new GetObjectRequest { BucketName = client.Target.Bucket, Key = key }, t).ConfigureAwait(false);
                        if (resp.ContentLength > maxBytes)
                            throw Fail.InvalidData(Reasons.CloudManifestInvalid, $"The object '{key}' is {resp.ContentLength:N0} bytes, more than the {maxBytes:N0} such an object can be.", key);
                        using var ms = new MemoryStream();
                        await resp.ResponseStream.CopyToAsync(ms, 81920, t).ConfigureAwait(false);
                        return ms.ToArray();
                    }
                    catch (AmazonS3Exception ex) when (ex.ErrorCode == "NoSuchKey" || ex.StatusCode == HttpStatusCode.NotFound && ex.ErrorCode != "NoSuchBucket")
                    {
                        return null;
                    }
                }, ct, key).ConfigureAwait(false);
            }
            catch (NekkBackupException ex) when (ex.ErrorId == "NekkBackup.CloudObjectNotFound")
            {
                return null;
            }
        }

        /// <summary>HeadObject; null when the object does not exist.</summary>
        public static Task<GetObjectMetadataResponse?> TryHeadAsync(CloudClient client, string key, CancellationToken ct) =>
            client.RunAsync<GetObjectMetadataResponse?>($"HeadObject '{key}'", async t =>
            {
                try
                {
                    return await client.S3.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = client.Target.Bucket, Key = key }, t).ConfigureAwait(false);
                }
                catch (AmazonS3Exception ex) when (ex.StatusCode == HttpStatusCode.NotFound && ex.ErrorCode != "NoSuchBucket")
                {
                    return null;
                }
            }, ct, key);

        /// <summary>RunIds of this host's manifests, oldest first (a listing is used only to find runs, never content).</summary>
        public static async Task<List<string>> ListRunIdsAsync(CloudClient client, CancellationToken ct)
        {
            var ids = new List<string>();
            string? token = null;
            for (int page = 0; page < 1000; page++)
            {
                var resp = await client.RunAsync("ListObjectsV2 (manifests)", t => client.S3.ListObjectsV2Async(new ListObjectsV2Request
                {
                    BucketName = client.Target.Bucket, Prefix = client.Target.ManifestPrefix, ContinuationToken = token,
                }, t), ct).ConfigureAwait(false);
                foreach (var o in resp.S3Objects ?? new List<S3Object>())
                {
                    if (o.Key == null || !o.Key.StartsWith(client.Target.ManifestPrefix, StringComparison.Ordinal)) continue;
                    var name = o.Key.Substring(client.Target.ManifestPrefix.Length);
                    if (name.EndsWith(".json", StringComparison.Ordinal) && name.IndexOf('/') < 0 && SafeName.IsSafe(name.Substring(0, name.Length - 5)))
                        ids.Add(name.Substring(0, name.Length - 5));
                }
                if (resp.IsTruncated != true || string.IsNullOrEmpty(resp.NextContinuationToken)) break;
                token = resp.NextContinuationToken;
            }
            ids.Sort(StringComparer.Ordinal);
            return ids;
        }

        /// <summary>The manifest of <paramref name="runId"/>, or the latest (LATEST pointer, then the newest listed); null when none.</summary>
        public static async Task<CloudManifest?> LoadManifestAsync(CloudClient client, string? runId, CancellationToken ct)
        {
            if (string.IsNullOrEmpty(runId))
            {
                // The LATEST pointer is written right after each manifest; the listing is only a fallback.
                // A pointer that does not hold a run id (damaged, or planted) is ignored: the listing decides.
                var pointer = await TryGetSmallObjectAsync(client, client.Target.LatestPointerKey, ct).ConfigureAwait(false);
                runId = pointer == null || pointer.Length > 1024 ? null : Encoding.UTF8.GetString(pointer).Trim();
                if (!SafeName.IsSafe(runId))
                {
                    var ids = await ListRunIdsAsync(client, ct).ConfigureAwait(false);
                    runId = ids.Count > 0 ? ids[ids.Count - 1] : null;
                }
                if (runId == null) return null;
            }
            if (!SafeName.IsSafe(runId))
                throw Fail.NotFound("CloudRunNotFound", $"{StoredCheck.Quote(runId)} cannot be a run id.", runId);
            var key = client.Target.ManifestKey(runId!);
            var bytes = await TryGetSmallObjectAsync(client, key, ct).ConfigureAwait(false);
            if (bytes == null)
                throw Fail.NotFound("CloudRunNotFound", $"No manifest for run '{runId}' in bucket '{client.Target.Bucket}' under '{client.Target.HostRoot}'.", runId);
            return CloudRules.ParseManifest(bytes, key, runId);
        }

        public static async Task PutSmallAsync(UploadContext ctx, string key, byte[] body, string contentType, CancellationToken ct)
        {
            var w = new ObjectWriter(ctx, new ObjectSpec { Key = key, ContentType = contentType }, ct);
            try
            {
                await w.WriteAsync(body, 0, body.Length).ConfigureAwait(false);
                await w.CompleteAsync().ConfigureAwait(false);
            }
            catch
            {
                await w.AbandonAsync().ConfigureAwait(false);
                throw;
            }
        }

        public static bool IsColdClass(string? storageClass) =>
            storageClass is "GLACIER" or "DEEP_ARCHIVE";
    }
}
