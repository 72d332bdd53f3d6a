using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using NekkBackup.Commands.Infrastructure;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Snapshots;

namespace NekkBackup.Commands.Snapshot
{
    /// <summary>
    /// Remove-NekkSnapshot: deletes snapshots this module made (only those recorded in its state file),
    /// by id or all orphans left by crashed runs.
    /// </summary>
    [Cmdlet(VerbsCommon.Remove, "NekkSnapshot", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High, DefaultParameterSetName = ByIdSet)]
    [OutputType(typeof(PreviewItem))]
    public sealed class RemoveNekkSnapshotCommand : NekkCmdlet
    {
        private const string ByIdSet = "ById";
        private const string OrphanedSet = "Orphaned";

        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true, ParameterSetName = ByIdSet)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(SnapshotIdCompleter))]
        public string[] SnapshotId { get; set; } = null!;

        [Parameter(Mandatory = true, ParameterSetName = OrphanedSet)]
        public SwitchParameter Orphaned { get; set; }

        protected override void ProcessRecord()
        {
            if (ParameterSetName == OrphanedSet)
            {
                RemoveOrphans();
                return;
            }

            IReadOnlyList<SnapshotRecord> records;
            try
            {
                records = SnapshotService.Records();
            }
            catch (NekkBackupException ex)
            {
                Terminate(ex);
                return;
            }

            foreach (var id in SnapshotId)
            {
                var rec = records.FirstOrDefault(r => string.Equals(r.SnapshotId, id, StringComparison.OrdinalIgnoreCase));
                if (rec == null)
                {
                    WriteNekkError(Fail.NotFound("SnapshotNotFound", $"No snapshot '{id}' made by NekkBackup is recorded on this machine (Get-NekkSnapshot lists them).", id), id);
                    continue;
                }
                if (!ShouldProcess($"{rec.SnapshotId} ({rec.Provider} snapshot of {rec.Volume}, {rec.SnapshotPath})", "Remove snapshot"))
                {
                    if (WhatIfRequested) WriteObject(Preview(rec, "snapshot"));
                    continue;
                }
                var error = Run(async (observer, ct) =>
                {
                    try
                    {
                        await SnapshotService.RemoveAsync(rec.SnapshotId, observer, ct).ConfigureAwait(false);
                        return null;
                    }
                    catch (NekkBackupException ex)
                    {
                        return ex;
                    }
                }, id);
                if (error != null) WriteNekkError(error, id);
            }
        }

        /// <summary>-WhatIf: the snapshot that would be removed, as a typed row.</summary>
        private static PreviewItem Preview(SnapshotRecord r, string what) => new()
        {
            Action = "Remove", Path = r.SnapshotId,
            Detail = $"{r.Provider} {what} of {r.Volume} at {r.SnapshotPath}, made {r.CreatedUtc.ToLocalTime():yyyy-MM-dd HH:mm}",
        };

        private void RemoveOrphans()
        {
            IReadOnlyList<SnapshotRecord> orphans;
            try
            {
                orphans = SnapshotService.FindOrphans();
            }
            catch (NekkBackupException ex)
            {
                Terminate(ex);
                return;
            }
            if (orphans.Count == 0)
            {
                WriteVerbose("No orphaned snapshots.");
                return;
            }
            var approved = new HashSet<string>(StringComparer.Ordinal);
            foreach (var o in orphans)
                if (ShouldProcess($"{o.SnapshotId} ({o.Provider} snapshot of {o.Volume}, left by process {o.OwnerPid})", "Remove orphaned snapshot"))
                    approved.Add(o.SnapshotId);
                else if (WhatIfRequested)
                    WriteObject(Preview(o, $"orphaned snapshot left by process {o.OwnerPid}"));
            if (approved.Count == 0) return;
            Run((observer, ct) => SnapshotService.RemoveOrphansAsync(r => approved.Contains(r.SnapshotId), observer, ct));
        }
    }
}
