using System;

namespace NekkBackup.Core.Cloud
{
    /// <summary>Where and as whom to talk to the bucket. Secrets live here only in memory and are never logged.</summary>
    public sealed class CloudTarget
    {
        public string Bucket { get; init; } = "";
        /// <summary>Key prefix before the host name; may be empty.</summary>
        public string Prefix { get; init; } = "";
        /// <summary>S3-compatible endpoint URL (http://127.0.0.1:4568, https://s3.eu-central-003.backblazeb2.com…); null = AWS.</summary>
        public string? Endpoint { get; init; }
        public string? Region { get; init; }
        /// <summary>Path-style addressing; defaults to true whenever an Endpoint is given.</summary>
        public bool? ForcePathStyle { get; init; }
        public string? AccessKey { get; init; }
        public string? SecretKey { get; init; }
        public string? ProfileName { get; init; }
        /// <summary>Host segment of the key layout; defaults to this machine's host name.</summary>
        public string? Host { get; init; }
        /// <summary>Per-request timeout (a stalled connection is abandoned and retried after it).</summary>
        public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(2);
        /// <summary>Retry budget of our own pipeline (the SDK's own retries are turned down to 1).</summary>
        public int MaxRetryAttempts { get; init; } = 5;
        public TimeSpan RetryFirstDelay { get; init; } = TimeSpan.FromMilliseconds(300);
        public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromSeconds(15);

        /// <summary>
        /// Timing of the bucket lock under &lt;Prefix&gt;/&lt;host&gt;/locks/: lease, refresh, clock skew, and how long an upload
        /// waits for a prune (WaitTimeout; a prune never waits for uploads). Null: the defaults (30 minutes' wait).
        /// Its Prefix and reasons are the cloud leg's own and are not taken from here.
        /// </summary>
        public Storage.LockOptions? Lock { get; init; }

        public string HostName => string.IsNullOrEmpty(Host) ? OperatingSystemInfo.HostName : Host!;

        /// <summary>&lt;Prefix&gt;/&lt;host&gt;/ (no leading slash, always a trailing one).</summary>
        public string HostRoot
        {
            get
            {
                var p = (Prefix ?? "").Trim('/');
                return (p.Length == 0 ? "" : p + "/") + HostName + "/";
            }
        }

        public string DataKey(string sha256Hex) => HostRoot + "data/" + sha256Hex;
        public string ManifestKey(string runId) => HostRoot + "manifests/" + runId + ".json";
        public string ManifestPrefix => HostRoot + "manifests/";
        public string LatestPointerKey => HostRoot + "manifests/LATEST";
        public string ArchivePrefix => HostRoot + "archives/";
        public string ArchiveKey(string archiveId) => ArchivePrefix + archiveId + ".tar";
        public string ArchiveManifestKey(string archiveId) => ArchivePrefix + archiveId + ".manifest.json";
        public string DataPrefix => HostRoot + "data/";
        public string StatusKey => HostRoot + "status.json";
        /// <summary>&lt;Prefix&gt;/&lt;host&gt;/drills/: the restore drills' records, beside the manifests.</summary>
        public string DrillPrefix => HostRoot + "drills/";
        public string DrillKey(string drillId) => DrillPrefix + drillId + ".json";

        /// <summary>Identity of the endpoint+bucket for the local multipart journal.</summary>
        public string JournalScope => (Endpoint ?? "aws:" + (Region ?? "")) + "|" + Bucket;
    }
}
