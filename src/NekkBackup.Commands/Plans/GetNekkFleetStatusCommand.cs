using System.Collections.Generic;
using System.Management.Automation;
using NekkBackup.Commands.Cloud;
using NekkBackup.Commands.Infrastructure;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Plans;

namespace NekkBackup.Commands.Plans
{
    /// <summary>
    /// Get-NekkFleetStatus: every host's published status on a NAS path or in a bucket (&lt;Prefix&gt;/&lt;host&gt;/status.json,
    /// read through the cloud leg with the cloud cmdlets' endpoint and credential parameters); -Summary counts the hosts.
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "NekkFleetStatus", DefaultParameterSetName = PathSet)]
    [OutputType(typeof(FleetHostStatus))]
    [OutputType(typeof(FleetSummary))]
    public sealed class GetNekkFleetStatusCommand : NekkCmdlet
    {
        private const string PathSet = "Path";
        private const string BucketSet = "Bucket";

        [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet)]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; } = null!;

        [Parameter(Mandatory = true, ParameterSetName = BucketSet)]
        [ValidateNotNullOrEmpty]
        public string Bucket { get; set; } = null!;

        [Parameter(ParameterSetName = BucketSet)] public string? Prefix { get; set; }
        [Parameter(ParameterSetName = BucketSet)] [ValidateNotNullOrEmpty] public string? Endpoint { get; set; }
        [Parameter(ParameterSetName = BucketSet)] [ValidateNotNullOrEmpty] public string? Region { get; set; }

        [Parameter(ParameterSetName = BucketSet)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(AwsProfileCompleter))]
        public string? ProfileName { get; set; }

        [Parameter(ParameterSetName = BucketSet)]
        [Credential]
        public PSCredential? Credential { get; set; }

        /// <summary>Only hosts that are not compliant or stopped reporting.</summary>
        [Parameter] public SwitchParameter Problem { get; set; }

        /// <summary>One NekkBackup.FleetSummary (hosts compliant, warning, failing, stale) instead of a row per host.</summary>
        [Parameter] public SwitchParameter Summary { get; set; }

        protected override void ProcessRecord()
        {
            IReadOnlyList<FleetHostStatus> hosts;
            string location;
            if (ParameterSetName == BucketSet)
            {
                FleetBucketTarget b;
                bool stored;
                try { b = CloudCmdletBase.FleetTargetFor(Bucket, Prefix, Endpoint, Region, ProfileName, Credential, out stored); }
                catch (NekkBackupException ex) { Terminate(ex, Bucket); return; }
                if (stored) WriteVerbose($"Using the credential Set-NekkCredential stored for the bucket '{Bucket}'.");
                location = $"s3://{Bucket}/{(Prefix ?? "").Trim('/')}";
                hosts = Run(async (o, ct) => FleetStatus.FromDocuments(await PlanLegRegistry.Bucket.ReadStatusAsync(b, ct).ConfigureAwait(false)), Bucket);
            }
            else
            {
                location = PlanParser.IsAbsolute(Path) ? Path : ResolvePath(Path);
                // Read on the pipeline thread (warnings go straight out); opens the NAS connection with the stored credential.
                try { hosts = FleetFolder.Read(location, (f, ex) => WriteWarning($"Could not read '{f}': {ex.Message}")); }
                catch (NekkBackupException ex) { Terminate(ex, location); return; }
            }
            if (Summary)
            {
                WriteObject(FleetSummary.Of(hosts, location));
                return;
            }
            foreach (var h in hosts)
                if (!Problem || h.State == "Failing" || h.State == "Stale") WriteObject(h);
        }
    }
}
