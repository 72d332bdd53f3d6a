using System;
using System.Management.Automation;
using NekkBackup.Commands.Infrastructure;
using NekkBackup.Core.Folder;

namespace NekkBackup.Commands.Folder
{
    /// <summary>Restore-NekkFolder: point-in-time restore of all or part of a folder backup, verified by hash.</summary>
    [Cmdlet(VerbsData.Restore, "NekkFolder", SupportsShouldProcess = true, DefaultParameterSetName = LatestSet)]
    [OutputType(typeof(FolderRestoreResult))]
    public sealed class RestoreNekkFolderCommand : NekkCmdlet
    {
        private const string LatestSet = "Latest";
        private const string RunIdSet = "RunId";
        private const string AsOfSet = "AsOf";

        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string Destination { get; set; } = null!;

        [Parameter(Mandatory = true, Position = 1)]
        [ValidateNotNullOrEmpty]
        public string Target { get; set; } = null!;

        [Parameter(Mandatory = true, ParameterSetName = RunIdSet, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(FolderRunIdCompleter))]
        public string RunId { get; set; } = null!;

        [Parameter(Mandatory = true, ParameterSetName = AsOfSet)]
        public DateTime AsOf { get; set; }

        [Parameter]
        [SupportsWildcards]
        public string[]? Path { get; set; }

        [Parameter]
        public SwitchParameter Overwrite { get; set; }

        protected override void ProcessRecord()
        {
            var options = new FolderRestoreOptions
            {
                Destination = ResolveStorePath(Destination),
                Target = ResolvePath(Target),
                RunId = ParameterSetName == RunIdSet ? RunId : null,
                AsOf = ParameterSetName == AsOfSet ? AsOf : null,
                Paths = Path,
                Overwrite = Overwrite.IsPresent,
            };
            var what = options.RunId != null ? $"run {options.RunId}" : options.AsOf != null ? $"the run as of {options.AsOf:u}" : "the latest run";
            if (!ShouldProcess(options.Target, $"Restore {what} from {options.Destination}{(Overwrite ? " (overwriting)" : "")}"))
                return;
            WriteObject(Run((observer, ct) => FolderBackupEngine.RestoreAsync(options, observer, ct), options.Target));
        }
    }
}
