using System.Management.Automation;
using NekkBackup.Commands.Infrastructure;
using NekkBackup.Core.Imaging;

namespace NekkBackup.Commands.Ghost
{
    /// <summary>Dismount-NekkGhostImage: unmounts a browsed image and deletes its loop device and temporary files.</summary>
    [Cmdlet(VerbsData.Dismount, "NekkGhostImage", SupportsShouldProcess = true)]
    [OutputType(typeof(GhostMount))]
    public sealed class DismountNekkGhostImageCommand : NekkCmdlet
    {
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [Alias("FullName")]
        [ValidateNotNullOrEmpty]
        public string MountPoint { get; set; } = null!;

        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void ProcessRecord()
        {
            var mountPoint = ResolvePath(MountPoint);
            if (!ShouldProcess(mountPoint, "Dismount Ghost image and delete its temporary files")) return;
            var removed = Run((observer, ct) => GhostMountManager.CreateDefault(observer).DismountAsync(mountPoint, ct), mountPoint);
            if (PassThru) WriteObject(removed);
        }
    }
}
