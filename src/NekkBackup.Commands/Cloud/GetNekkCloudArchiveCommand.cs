using System.Management.Automation;
using NekkBackup.Commands.Infrastructure;
using NekkBackup.Core.Cloud;

namespace NekkBackup.Commands.Cloud
{
    /// <summary>Get-NekkCloudArchive: the archived projects a bucket holds for a host, with their storage class and thaw state.</summary>
    [Cmdlet(VerbsCommon.Get, "NekkCloudArchive")]
    [OutputType(typeof(NekkBackup.CloudArchiveInfo))]
    public sealed class GetNekkCloudArchiveCommand : CloudCmdletBase
    {
        [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(CloudArchiveIdCompleter))]
        public string[]? ArchiveId { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? HostName { get; set; }

        protected override string? HostNameValue => HostName;

        protected override void ProcessRecord()
        {
            var target = BuildTarget();
            var archives = Run((observer, ct) => new ArchiveCatalog(target, observer).ListAsync(ArchiveId, 4, ct), Bucket);
            foreach (var a in archives) WriteObject(a);
        }
    }
}
