using System;
using System.Linq;
using System.Management.Automation;
using NekkBackup.Commands.Infrastructure;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Folder;

namespace NekkBackup.Commands.Folder
{
    /// <summary>Get-NekkFolderBackup: the runs in a folder backup, or the versions of one file across runs.</summary>
    [Cmdlet(VerbsCommon.Get, "NekkFolderBackup", DefaultParameterSetName = RunsSet)]
    [OutputType(typeof(FolderBackupRun), ParameterSetName = new[] { RunsSet })]
    [OutputType(typeof(FolderFileVersion), ParameterSetName = new[] { VersionsSet })]
    public sealed class GetNekkFolderBackupCommand : NekkCmdlet
    {
        private const string RunsSet = "Runs";
        private const string VersionsSet = "Versions";

        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string Destination { get; set; } = null!;

        [Parameter(ParameterSetName = RunsSet, ValueFromPipelineByPropertyName = true)]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(FolderRunIdCompleter))]
        public string[]? RunId { get; set; }

        [Parameter(Mandatory = true, ParameterSetName = VersionsSet)]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; } = null!;

        protected override void ProcessRecord()
        {
            var destination = ResolveStorePath(Destination);
            try
            {
                if (ParameterSetName == VersionsSet)
                {
                    foreach (var v in FolderBackupEngine.GetFileVersions(destination, Path))
                        WriteObject(v);
                    return;
                }

                var runs = FolderBackupEngine.GetRuns(destination);
                if (RunId == null)
                {
                    foreach (var r in runs) WriteObject(r);
                    return;
                }
                foreach (var id in RunId)
                {
                    var pattern = new WildcardPattern(id, WildcardOptions.IgnoreCase);
                    var matches = runs.Where(r => pattern.IsMatch(r.RunId)).ToList();
                    if (matches.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(id))
                        WriteNekkError(Fail.NotFound("RunNotFound", $"No run '{id}' in '{destination}'.", id));
                    foreach (var r in matches) WriteObject(r);
                }
            }
            catch (NekkBackupException ex)
            {
                Terminate(ex);
            }
        }
    }
}
