using System.Linq;
using System.Management.Automation;
using NekkBackup.Commands.Infrastructure;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Snapshots;

namespace NekkBackup.Commands.Snapshot
{
    /// <summary>Get-NekkSnapshot: the snapshots this module made on this machine and has not removed (from its state file).</summary>
    [Cmdlet(VerbsCommon.Get, "NekkSnapshot")]
    [OutputType(typeof(NekkBackup.Snapshot))]
    public sealed class GetNekkSnapshotCommand : NekkCmdlet
    {
        [Parameter(Position = 0, ValueFromPipelineByPropertyName = true)]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(SnapshotIdCompleter))]
        public string[]? SnapshotId { get; set; }

        protected override void ProcessRecord()
        {
            try
            {
                var all = SnapshotService.List();
                if (SnapshotId == null)
                {
                    WriteObject(all, enumerateCollection: true);
                    return;
                }
                foreach (var id in SnapshotId)
                {
                    var pattern = new WildcardPattern(id, WildcardOptions.IgnoreCase);
                    var matches = all.Where(s => pattern.IsMatch(s.SnapshotId)).ToList();
                    if (matches.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(id))
                        WriteNekkError(Fail.NotFound("SnapshotNotFound", $"No snapshot '{id}' made by NekkBackup is recorded on this machine.", id));
                    WriteObject(matches, enumerateCollection: true);
                }
            }
            catch (NekkBackupException ex)
            {
                Terminate(ex);
            }
        }
    }
}
