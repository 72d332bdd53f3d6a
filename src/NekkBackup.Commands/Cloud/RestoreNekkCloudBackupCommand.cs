using System.Management.Automation;
using NekkBackup.Commands.Infrastructure;
using NekkBackup.Core.Cloud;

namespace NekkBackup.Commands.Cloud
{
    /// <summary>Restore-NekkCloudBackup: restore all or part of a cloud run, verified by SHA-256; cold objects are asked to thaw.</summary>
    [Cmdlet(VerbsData.Restore, "NekkCloudBackup", SupportsShouldProcess = true)]
    [OutputType(typeof(NekkBackup.CloudRestoreResult))]
    public sealed class RestoreNekkCloudBackupCommand : CloudCmdletBase
    {
        protected override bool HandsMemoryBack => true;

        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        public string Target { get; set; } = null!;

        [Parameter]
        [SupportsWildcards]
        public string[]? Path { get; set; }

        [Parameter(ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(CloudRunIdCompleter))]
        public string? RunId { get; set; }

        [Parameter]
        public SwitchParameter Overwrite { get; set; }

        [Parameter]
        public object? EncryptionKey { get; set; }

        [Parameter]
        [ValidateSet("Standard", "Bulk", "Expedited", IgnoreCase = true)]
        public string ThawTier { get; set; } = "Standard";

        [Parameter]
        [ValidateRange(1, 64)]
        public int ThrottleLimit { get; set; } = 4;

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? HostName { get; set; }

        protected override string? HostNameValue => HostName;

        protected override void ProcessRecord()
        {
            var target = BuildTarget();
            var options = new CloudRestoreOptions
            {
                Target = ResolvePath(Target), RunId = RunId, Paths = Path ?? new string[0], Overwrite = Overwrite.IsPresent,
                Cipher = CipherFrom(EncryptionKey), ThawTier = ThawTier, ThrottleLimit = ThrottleLimit,
            };
            var what = RunId != null ? $"run {RunId}" : "the latest run";
            if (!ShouldProcess(options.Target, $"Restore {what} from {Where(target)}{(Overwrite ? " (overwriting)" : "")}"))
                return;
            WriteObject(Run((observer, ct) => new CloudRestoreEngine(target, observer).RestoreAsync(options, ct), options.Target));
        }
    }
}
