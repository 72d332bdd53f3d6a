using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace NekkBackup.Core.Plans
{
    /// <summary>Where fleet status objects live in a bucket: &lt;Prefix&gt;/&lt;host&gt;/status.json.</summary>
    public sealed class FleetBucketTarget
    {
        public string Bucket { get; init; } = "";
        public string Prefix { get; init; } = "";
        public string? Endpoint { get; init; }
        public string? Region { get; init; }
        public string? ProfileName { get; init; }
        /// <summary>Keys given on the command line (-Credential); null: the key stored for the bucket, else the AWS profile/environment.</summary>
        public string? AccessKey { get; init; }
        public string? SecretKey { get; init; }
    }

    /// <summary>The bucket side of the fleet view; the cloud wiring sets these when the cloud engine is in the build.</summary>
    public static class FleetBucket
    {
        public static Func<FleetBucketTarget, CancellationToken, Task<IReadOnlyList<FleetHostStatus>>>? Read { get; set; }

        /// <summary>Every host's status document in the bucket, with its s3:// address (the HTML report reads them whole).</summary>
        public static Func<FleetBucketTarget, CancellationToken, Task<IReadOnlyList<(string Source, HostStatusDocument Document)>>>? ReadDocuments { get; set; }

        /// <summary>Publishes a host status document to the plan's bucket (set by the cloud wiring).</summary>
        public static Func<BackupPlan, HostStatusDocument, CancellationToken, Task<string>>? Publish { get; set; }
    }
}
