using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Plans;
using NekkBackup.Core.Reports;

namespace NekkBackup.Core.Notify
{
    /// <summary>
    /// What Invoke-NekkBackupPlan does after a run when the plan asks: write the owner's HTML report (Report key) and
    /// send alerts (Notify key). Both are best effort: a problem is a Warning in the run's log and output, never a change
    /// to the run's status or exit code.
    /// </summary>
    public static class PlanRunHooks
    {
        public static string ReportFileName(BackupPlan plan) => $"{SystemdUnits.Sanitize(plan.Host)}-{SystemdUnits.Sanitize(plan.Name)}.html";

        public static async Task AfterRunAsync(BackupPlan plan, PlanRunResult result, RunLog? log, IRunObserver obs, CancellationToken ct)
        {
            if (plan.Notify == null && plan.Report == null) return;
            if (ct.IsCancellationRequested)
            {
                obs.Message(RunMessageLevel.Warning, "The run was stopped: no report written and no notification sent.");
                return;
            }
            try
            {
                await RunAsync(plan, result, log, obs).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // Belt and braces: nothing after the run may change its outcome.
                obs.Message(RunMessageLevel.Warning, $"After-run report/notification failed: {ex.GetType().Name}: {ex.Message}");
            }
        }

        private static async Task RunAsync(BackupPlan plan, PlanRunResult result, RunLog? log, IRunObserver obs)
        {
            var now = DateTime.Now;
            EvidenceSet? evidence = null;
            IReadOnlyList<ComplianceFinding>? findings = null;
            try
            {
                evidence = await PlanLegRegistry.GatherAsync(plan, CancellationToken.None).ConfigureAwait(false);
                findings = ComplianceEvaluator.Evaluate(plan, evidence, now);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                obs.Message(RunMessageLevel.Warning, $"Could not judge compliance after the run: {ex.Message}");
            }

            if (plan.Report != null && evidence != null && findings != null)
            {
                var path = Path.Combine(plan.Report.Path, ReportFileName(plan));
                try
                {
                    var doc = new ReportDocument
                    {
                        Title = $"Backup report: {plan.Host}", Source = plan.Path ?? plan.Name, GeneratedLocal = now, Days = plan.Report.Days,
                        Hosts = new[] { ReportBuilder.ForHost(plan, evidence, findings, PlanHistoryStore.Read(plan), plan.Report.Days, now) },
                    };
                    using (NasConnection.Open(plan.Report.Path))
                        HtmlReportWriter.Write(doc, path);
                    obs.Message(RunMessageLevel.Verbose, $"Report written to '{path}'.");
                }
                catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is Errors.NekkBackupException)
                {
                    obs.Message(RunMessageLevel.Warning, $"Could not write the report to '{path}': {ex.Message}");
                }
            }

            if (plan.Notify == null) return;
            var before = ComplianceSnapshot.Load(plan);
            var snapshot = findings != null ? ComplianceSnapshot.Of(findings) : null;
            var kind = Notifier.Trigger(plan.Notify.When, result, before, snapshot);
            if (snapshot != null)
            {
                try { snapshot.Save(plan); }
                catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
                {
                    obs.Message(RunMessageLevel.Warning, $"Could not keep the compliance state for Notify.When = 'Change': {ex.Message}");
                }
            }
            if (kind == null) return;
            var message = NotificationMessage.ForRun(plan, result, findings, kind);
            await Notifier.SendAsync(plan.Notify, message, log, obs, CancellationToken.None).ConfigureAwait(false);
        }
    }
}
