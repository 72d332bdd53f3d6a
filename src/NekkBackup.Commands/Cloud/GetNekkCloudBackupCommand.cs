using System.Management.Automation;
using NekkBackup.Commands.Infrastructure;
using NekkBackup.Core.Cloud;

namespace NekkBackup.Commands.Cloud
{
    /// <summary>
    /// Get-NekkCloudBackup: the runs a bucket holds for a host, one object per run manifest (like Get-NekkFolderBackup
    /// and Get-NekkGhostImage); with -RunId (or -Path) the files a run recorded, from its manifest (latest run when only
    /// -Path is given).
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "NekkCloudBackup")]
    [OutputType(typeof(NekkBackup.CloudRunInfo), typeof(NekkBackup.CloudBackupItem))]
    public sealed class GetNekkCloudBackupCommand : CloudCmdletBase
    {
        /// <summary>A run's id: lists its files. With wildcards: lists the runs that match.</summary>
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(CloudRunIdCompleter))]
        public string? RunId { get; set; }

        /// <summary>Files to list (wildcards on the recorded paths); of the latest run unless -RunId names one.</summary>
        [Parameter(Position = 0)]
        [SupportsWildcards]
        public string[]? Path { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? HostName { get; set; }

        protected override string? HostNameValue => HostName;

        protected override void ProcessRecord()
        {
            var target = BuildTarget();
            bool listRuns = Path == null && (RunId == null || WildcardPattern.ContainsWildcardCharacters(RunId));
            if (listRuns)
            {
                var runs = Run((observer, ct) => new CloudRunCatalog(target, observer).ListAsync(RunId == null ? null : new[] { RunId }, ct), Bucket);
                foreach (var r in runs) WriteObject(r);
                return;
            }
            var items = Run((observer, ct) => new CloudRestoreEngine(target, observer).GetItemsAsync(RunId, Path, ct), Bucket);
            foreach (var i in items) WriteObject(i);
        }
    }
}
