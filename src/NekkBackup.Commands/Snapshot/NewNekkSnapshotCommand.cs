using System;
using System.Management.Automation;
using NekkBackup.Commands.Infrastructure;
using NekkBackup.Core.Snapshots;

namespace NekkBackup.Commands.Snapshot
{
    /// <summary>New-NekkSnapshot: a read-only point-in-time snapshot of the volume holding a path (PRODUCT.md §3.2).</summary>
    [Cmdlet(VerbsCommon.New, "NekkSnapshot", SupportsShouldProcess = true)]
    [OutputType(typeof(NekkBackup.Snapshot))]
    public sealed class NewNekkSnapshotCommand : NekkCmdlet
    {
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("FullName")]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; } = null!;

        [Parameter]
        [ValidateSet("Auto", "Vss", "Btrfs", "Lvm")]
        public string Provider { get; set; } = "Auto";

        protected override void ProcessRecord()
        {
            var path = ResolvePath(Path);
            var kind = (SnapshotProviderKind)Enum.Parse(typeof(SnapshotProviderKind), Provider, ignoreCase: true);
            if (!ShouldProcess(path, $"Create a read-only {(kind == SnapshotProviderKind.Auto ? "" : Provider + " ")}snapshot of the volume holding it"))
                return;
            var snap = Run((observer, ct) => SnapshotService.CreateAsync(path, kind, observer, ct), path);
            WriteObject(snap);
        }
    }
}
