using System.Management.Automation;
using NekkBackup.Commands.Infrastructure;
using NekkBackup.Core.Imaging;

namespace NekkBackup.Commands.Ghost
{
    /// <summary>Mount-NekkGhostImage: opens an image's file system read-only on a folder so single files can be copied out.</summary>
    [Cmdlet(VerbsData.Mount, "NekkGhostImage", SupportsShouldProcess = true)]
    [OutputType(typeof(GhostMount))]
    public sealed class MountNekkGhostImageCommand : NekkCmdlet
    {
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string Repository { get; set; } = null!;

        [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(GhostImageIdCompleter))]
        public string ImageId { get; set; } = null!;

        [Parameter(Mandatory = true, Position = 2)]
        [ValidateNotNullOrEmpty]
        public string MountPoint { get; set; } = null!;

        protected override void ProcessRecord()
        {
            var repository = ResolveStorePath(Repository);
            var mountPoint = ResolvePath(MountPoint);
            if (!ShouldProcess(mountPoint, $"Mount Ghost image {ImageId} of {repository} read-only (materialised under {repository}/{GhostMountManager.MountsFolder})")) return;
            WriteObject(Run((observer, ct) => GhostMountManager.CreateDefault(observer).MountAsync(repository, ImageId, mountPoint, ct), mountPoint));
        }
    }
}
