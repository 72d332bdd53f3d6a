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

    /// <summary>
    /// The bucket side of plans, served by the cloud leg (<see cref="PlanLegRegistry.Bucket"/>): Test-NekkBackupPlan's
    /// probe, and the host status documents (&lt;Prefix&gt;/&lt;host&gt;/status.json) the fleet view and report read.
    /// </summary>
    public interface IPlanBucket
    {
        /// <summary>Puts, reads back and deletes a probe object with the credential the schedule will use.</summary>
        Task<PlanDestinationCheck> ProbeAsync(BackupPlan plan, CancellationToken ct);

        /// <summary>
        /// Publishes this host's status document to the plan's bucket, and beside it the plan history of the report's
        /// window (so a fleet report read from the bucket has each host's runs); returns the status's s3:// address.
        /// </summary>
        Task<string> PublishStatusAsync(BackupPlan plan, HostStatusDocument status, IReadOnlyList<PlanHistoryEntry> history, CancellationToken ct);

        /// <summary>Every host's status document in the bucket, with its s3:// address (unreadable ones are left out).</summary>
        Task<IReadOnlyList<(string Source, HostStatusDocument Document)>> ReadStatusAsync(FleetBucketTarget bucket, CancellationToken ct);

        /// <summary>
        /// The plan history each host published beside its status document (one list per address in
        /// <paramref name="statusSources"/>, in order; empty where there is none or it cannot be read), over one connection.
        /// </summary>
        Task<IReadOnlyList<IReadOnlyList<PlanHistoryEntry>>> ReadHistoryAsync(FleetBucketTarget bucket, IReadOnlyList<string> statusSources, CancellationToken ct);
    }
}
