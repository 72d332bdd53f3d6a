using NekkBackup.Core.Errors;
using NekkBackup.Core.Plans;

namespace NekkBackup.Core.Validation
{
    /// <summary>
    /// What the plans' read-back files must look like: plan history lines (a damaged line is skipped: history is
    /// evidence, and a torn append must not hide the rest) and host status documents (<c>StatusCorrupt</c>).
    /// The plan file itself is checked by <see cref="PlanParser"/> (InvalidPlan), whose Name and Host go through
    /// <see cref="SafeName"/>.
    /// </summary>
    internal static class PlanRules
    {
        public const long MaxHistoryBytes = 256L << 20;
        public const long MaxStatusBytes = 16L << 20;

        /// <summary>Null when the history line is usable, else why not.</summary>
        public static NekkBackupException? HistoryProblem(PlanHistoryEntry e, StoredCheck c)
        {
            try
            {
                c.Text(e.Plan, "Plan", 256, allowEmpty: false);
                c.Text(e.Host, "Host", 256);
                c.Text(e.PlanRunId, "PlanRunId", 256);
                c.Text(e.Job, "Job", 64, allowEmpty: false);
                c.Text(e.Step, "Step", 64);
                c.Text(e.Status, "Status", 64);
                c.OptionalText(e.LegRunId, "LegRunId", 256);
                c.OptionalText(e.Detail, "Detail", 64 * 1024);
                c.Range(e.Files, 0, long.MaxValue, "Files");
                c.Range(e.Bytes, 0, long.MaxValue, "Bytes");
                c.Range(e.Errors, 0, long.MaxValue, "Errors");
                return null;
            }
            catch (NekkBackupException ex) { return ex; }
        }

        public static HostStatusDocument CheckStatus(HostStatusDocument d, StoredCheck c)
        {
            c.OneOf(d.Format, "format", HostStatusDocument.FormatName);
            c.Name(d.Host, "host");
            c.Text(d.Plan, "plan", 256);
            c.Text(d.LastRunStatus, "lastRunStatus", 64);
            c.List(d.Findings, "findings", 10_000);
            for (int i = 0; i < d.Findings.Count; i++)
            {
                c.Text(d.Findings[i].Rule, $"findings[{i}].rule", 256);
                c.Text(d.Findings[i].Status, $"findings[{i}].status", 64);
                c.Text(d.Findings[i].Detail, $"findings[{i}].detail", 64 * 1024);
            }
            if (d.LastGood == null) throw c.Error("lastGood", "is missing (null)");
            if (d.LastGood.Count > 100) throw c.Error("lastGood", $"holds {d.LastGood.Count} legs");
            return d;
        }
    }
}
