using System.Management.Automation;
using NekkBackup.Commands.Infrastructure;
using NekkBackup.Core.Cloud;

namespace NekkBackup.Commands.Cloud
{
    /// <summary>
    /// Restore-NekkCloudArchive: streams an archived project back into a folder, every file verified against the
    /// archive manifest's SHA-256; while the archive is cold, requests the thaw and says how long and that it is billed.
    /// </summary>
    [Cmdlet(VerbsData.Restore, "NekkCloudArchive", SupportsShouldProcess = true)]
    [OutputType(typeof(NekkBackup.CloudArchiveRestoreResult))]
    public sealed class RestoreNekkCloudArchiveCommand : CloudCmdletBase
    {
        protected override bool HandsMemoryBack => true;

        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(CloudArchiveIdCompleter))]
        public string ArchiveId { get; set; } = null!;

        [Parameter(Mandatory = true, Position = 1)]
        [ValidateNotNullOrEmpty]
        public string Target { get; set; } = null!;

        [Parameter]
        [SupportsWildcards]
        public string[]? Path { get; set; }

        [Parameter]
        [ValidateSet("Standard", "Bulk", "Expedited", IgnoreCase = true)]
        public string ThawTier { get; set; } = "Standard";

        [Parameter]
        [ValidateRange(1, 365)]
        public int ThawDays { get; set; } = 7;

        [Parameter]
        [ValidateRange(0.0, 100000.0)]
        public double MaxMBps { get; set; }

        [Parameter]
        public SwitchParameter Overwrite { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? HostName { get; set; }

        protected override string? HostNameValue => HostName;

        protected override void ProcessRecord()
        {
            var target = BuildTarget();
            var options = new ArchiveRestoreOptions
            {
                ArchiveId = ArchiveId, Target = ResolvePath(Target), Paths = Path ?? new string[0], Overwrite = Overwrite.IsPresent,
                ThawTier = ThawTier, ThawDays = ThawDays, MaxMBps = MaxMBps,
            };
            // Say what would really happen: a cold archive is asked to thaw (billed), an available one is restored.
            var info = Run((observer, ct) => new ArchiveCatalog(target, observer).GetAsync(ArchiveId, ct), ArchiveId);
            var action = info.State switch
            {
                "Cold" => $"Request a {ThawTier} thaw of archive {ArchiveId} ({info.StorageClass}, {info.SizeBytes:N0} bytes; billed by the provider)",
                "Thawing" => $"Check the running thaw of archive {ArchiveId} ({info.StorageClass})",
                _ => $"Restore archive {ArchiveId} ({info.Files:N0} files, {info.SizeBytes:N0} bytes){(Path != null ? " (" + string.Join(", ", Path) + ")" : "")} from {Where(target)}{(Overwrite ? ", overwriting" : "")}",
            };
            if (!ShouldProcess(options.Target, action)) return;
            WriteObject(Run((observer, ct) => new ArchiveRestoreEngine(target, observer).RestoreAsync(options, ct), options.Target));
        }
    }
}
