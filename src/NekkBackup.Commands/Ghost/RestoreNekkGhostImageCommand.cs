using System.Management.Automation;
using NekkBackup.Commands.Infrastructure;
using NekkBackup.Core;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Imaging;

namespace NekkBackup.Commands.Ghost
{
    /// <summary>
    /// Restore-NekkGhostImage: writes an image back bit for bit to a file or block device, or as a fixed VHD.
    /// Validates first (image, target folder or device, not mounted, large enough), then asks only when it would
    /// overwrite an existing file or a device (-Force or -Confirm:$false answers for a script); a restore to a new file
    /// asks nothing, so a scheduled, non-interactive script can run it (PRODUCT.md §3.3).
    /// </summary>
    [Cmdlet(VerbsData.Restore, "NekkGhostImage", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(GhostRestoreResult))]
    public sealed class RestoreNekkGhostImageCommand : NekkCmdlet
    {
        protected override bool HandsMemoryBack => true;

        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string Repository { get; set; } = null!;

        [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(GhostImageIdCompleter))]
        public string ImageId { get; set; } = null!;

        [Parameter(Mandatory = true, Position = 2)]
        [ValidateNotNullOrEmpty]
        public string Target { get; set; } = null!;

        [Parameter]
        public GhostRestoreFormat Format { get; set; } = GhostRestoreFormat.Raw;

        /// <summary>Overwrite an existing file or device without asking, and write to a mounted device.</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        protected override void ProcessRecord()
        {
            var repository = ResolveStorePath(Repository);
            var target = IsDevice(Target) ? Target : ResolvePath(Target);
            GhostRestoreCheck check = null!;
            try { check = GhostRestoreCheck.Validate(repository, ImageId, target, Format, Force.IsPresent); }
            catch (NekkBackupException ex) { Terminate(ex, target); }

            var what = check.IsDevice ? "the device" : check.Overwrites ? "the existing file" : "a new file";
            if (!ShouldProcess(target, $"Restore Ghost image {ImageId} ({Format}, {Infrastructure.Format.Bytes(check.NeededBytes)}) to {what}{(Force ? ", forced" : "")}"))
                return;
            if (check.Overwrites && !Force && !ConfirmAnswered() && !AskOverwrite(target, what))
                return;
            WriteObject(Run((observer, ct) => GhostRepository.RestoreAsync(repository, ImageId, target, Format, force: Force.IsPresent || check.Overwrites, observer, ct), target));
        }

        /// <summary>-Confirm (asked already by ShouldProcess) or -Confirm:$false (the script's answer): no second question.</summary>
        private bool ConfirmAnswered() => MyInvocation.BoundParameters.ContainsKey("Confirm");

        private bool AskOverwrite(string target, string what)
        {
            try
            {
                return ShouldContinue($"Restoring image {ImageId} replaces everything on {what} '{target}'. Continue?", "Overwrite the restore target");
            }
            catch (System.Exception ex) when (ex is PSInvalidOperationException || ex is System.Management.Automation.Host.HostException
                || ex is System.NotImplementedException || ex is PSNotImplementedException)
            {
                // A non-interactive session cannot answer: say how a script does.
                Terminate(new NekkBackupException("TargetExists", FailureKind.ResourceExists,
                    $"The target '{target}' exists and this session cannot ask whether to overwrite it; add -Force (or -Confirm:$false) to overwrite it from a script.", target), target);
                return false;
            }
        }

        private static bool IsDevice(string target) =>
            target.StartsWith("/dev/", System.StringComparison.Ordinal)
            || (OperatingSystemInfo.IsWindows && WindowsDevicePath.ToDevicePath(target) != null);
    }
}
