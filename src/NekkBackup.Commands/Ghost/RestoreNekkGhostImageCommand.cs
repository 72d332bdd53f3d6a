using System.Management.Automation;
using NekkBackup.Commands.Infrastructure;
using NekkBackup.Core;
using NekkBackup.Core.Imaging;

namespace NekkBackup.Commands.Ghost
{
    /// <summary>Restore-NekkGhostImage: writes an image back bit for bit to a file or block device, or as a fixed VHD.</summary>
    [Cmdlet(VerbsData.Restore, "NekkGhostImage", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
    [OutputType(typeof(GhostRestoreResult))]
    public sealed class RestoreNekkGhostImageCommand : NekkCmdlet
    {
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string Repository { get; set; } = null!;

        [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string ImageId { get; set; } = null!;

        [Parameter(Mandatory = true, Position = 2)]
        [ValidateNotNullOrEmpty]
        public string Target { get; set; } = null!;

        [Parameter]
        public GhostRestoreFormat Format { get; set; } = GhostRestoreFormat.Raw;

        /// <summary>Overwrite an existing file or write to a mounted device.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        protected override void ProcessRecord()
        {
            var repository = ResolvePath(Repository);
            var target = IsDevice(Target) ? Target : ResolvePath(Target);
            if (!ShouldProcess(target, $"Restore Ghost image {ImageId} ({Format}){(Force ? ", forced" : "")}")) return;
            WriteObject(Run((observer, ct) => GhostRepository.RestoreAsync(repository, ImageId, target, Format, Force.IsPresent, observer, ct), target));
        }

        private static bool IsDevice(string target) =>
            target.StartsWith("/dev/", System.StringComparison.Ordinal)
            || (OperatingSystemInfo.IsWindows && WindowsDevicePath.ToDevicePath(target) != null);
    }
}
