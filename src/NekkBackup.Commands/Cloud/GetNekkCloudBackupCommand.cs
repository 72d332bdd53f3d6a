using System.Management.Automation;
using NekkBackup.Core.Cloud;

namespace NekkBackup.Commands.Cloud
{
    /// <summary>Get-NekkCloudBackup: the files a cloud run recorded (latest run unless -RunId), from its manifest.</summary>
    [Cmdlet(VerbsCommon.Get, "NekkCloudBackup")]
    [OutputType(typeof(NekkBackup.CloudBackupItem))]
    public sealed class GetNekkCloudBackupCommand : CloudCmdletBase
    {
        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string? RunId { get; set; }

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
            var items = Run((observer, ct) => new CloudRestoreEngine(target, observer).GetItemsAsync(RunId, Path, ct), Bucket);
            foreach (var i in items) WriteObject(i);
        }
    }
}
