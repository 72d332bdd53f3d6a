using System;
using System.IO;
using System.Management.Automation;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Plans;

namespace NekkBackup.Commands.Plans
{
    /// <summary>Get-NekkFleetStatus: every host's published status on a NAS path (or, with the cloud engine, a bucket).</summary>
    [Cmdlet(VerbsCommon.Get, "NekkFleetStatus", DefaultParameterSetName = PathSet)]
    [OutputType(typeof(FleetHostStatus))]
    public sealed class GetNekkFleetStatusCommand : Infrastructure.NekkCmdlet
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
        [Parameter(ParameterSetName = BucketSet)] public string? Endpoint { get; set; }
        [Parameter(ParameterSetName = BucketSet)] public string? Region { get; set; }
        [Parameter(ParameterSetName = BucketSet)] public string? ProfileName { get; set; }

        /// <summary>Only hosts that are not compliant or stopped reporting.</summary>
        [Parameter] public SwitchParameter Problem { get; set; }

        protected override void ProcessRecord()
        {
            System.Collections.Generic.IReadOnlyList<FleetHostStatus> hosts;
            if (ParameterSetName == BucketSet)
            {
                var b = new FleetBucketTarget { Bucket = Bucket, Prefix = Prefix ?? "", Endpoint = Endpoint, Region = Region, ProfileName = ProfileName };
                hosts = Run(async (o, ct) => FleetStatus.FromDocuments(await PlanLegRegistry.Bucket.ReadStatusAsync(b, ct).ConfigureAwait(false)), Bucket);
            }
            else
            {
                var p = PlanParser.IsAbsolute(Path) ? Path : ResolvePath(Path);
                // Read on the pipeline thread (warnings go straight out); opens the NAS connection with the stored credential.
                try { hosts = FleetFolder.Read(p, (f, ex) => WriteWarning($"Could not read '{f}': {ex.Message}")); }
                catch (NekkBackupException ex) { Terminate(ex, p); return; }
            }
            foreach (var h in hosts)
                if (!Problem || !h.Compliant || h.Stale) WriteObject(h);
        }
    }
}
