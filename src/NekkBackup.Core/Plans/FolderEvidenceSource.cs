using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Folder;

namespace NekkBackup.Core.Plans
{
    /// <summary>Folder leg evidence: the run manifests on the NAS (FolderBackupEngine.GetRuns) and the plan's verify/drill records there.</summary>
    public sealed class FolderEvidenceSource : ILegEvidenceSource
    {
        public PlanLeg Leg => PlanLeg.Folder;

        public Task<LegEvidence> ReadAsync(BackupPlan plan, CancellationToken cancellationToken)
        {
            // SYSTEM (Intune detection) reaches a workgroup NAS only through the stored credential (review W1).
            var dest = plan.NasDestination;
            NasConnection connection;
            try { connection = NasConnection.Open(dest); }
            catch (NekkBackupException ex) { return Task.FromResult(new LegEvidence { Leg = Leg, Location = dest, Problem = ex.Message }); }
            using (connection) return Task.FromResult(Read(plan, dest));
        }

        private LegEvidence Read(BackupPlan plan, string dest)
        {
            if (!Directory.Exists(dest))
                return new LegEvidence { Leg = Leg, Location = dest, Problem = $"the NAS destination '{dest}' is not reachable (or does not exist yet)" };
            var runs = new List<EvidenceRecord>();
            string? problem = null;
            try
            {
                foreach (var r in FolderBackupEngine.GetRuns(dest))
                {
                    var started = r.Started.ToUniversalTime();
                    runs.Add(new EvidenceRecord
                    {
                        StartedUtc = started,
                        FinishedUtc = started + r.Duration,
                        Status = r.Status,
                        Id = r.RunId,
                        From = Path.Combine(dest, FolderRepository.MetaDirName, "runs", r.RunId + ".json"),
                        Detail = $"{r.FilesCopied} files copied, {r.Errors} errors",
                        Bytes = r.BytesCopied,
                    });
                }
            }
            catch (NekkBackupException ex) when (ex.ErrorId == "NekkBackup.BackupNotFound")
            {
                problem = null; // no backup yet: no runs
            }
            catch (NekkBackupException ex)
            {
                problem = ex.Message;
            }
            var history = PlanHistoryStore.ReadNas(plan)
                .Where(e => string.Equals(e.Plan, plan.Name, StringComparison.OrdinalIgnoreCase)).ToList();
            string historyPath;
            try { historyPath = PlanHistoryStore.NasHistoryPath(plan); }
            catch (NekkBackupException) { historyPath = Path.Combine(dest, FolderRepository.MetaDirName, "plan-history"); }
            var checks = history.Where(e => e.Job == "Folder" && e.Step == "Verify" || e.Job == "Drill" && e.Step == "FullVerify")
                .Select(e => ToRecord(e, historyPath)).ToList();
            var drills = history.Where(e => e.Job == "Drill" && e.Step == "FullVerify").Select(e => ToRecord(e, historyPath)).ToList();
            return new LegEvidence
            {
                Leg = Leg,
                Location = dest,
                Problem = problem,
                Runs = runs.OrderBy(r => r.StartedUtc).ToList(),
                Checks = checks,
                Drills = drills,
            };
        }

        internal static EvidenceRecord ToRecord(PlanHistoryEntry e, string from) => new()
        {
            StartedUtc = e.StartedUtc,
            FinishedUtc = e.FinishedUtc,
            Status = e.Status,
            Id = e.LegRunId ?? e.PlanRunId,
            From = from,
            Detail = e.Detail,
        };
    }
}
