using System;
using System.Management.Automation;
using NekkBackup.Core.Plans;

namespace NekkBackup.Commands.Plans
{
    /// <summary>
    /// Test-NekkBackupCompliance: one finding per 3-2-1 rule judged from the destinations (docs/compliance.md).
    /// -AsRmmOutput writes one line (≤ 2048 characters) and sets $LASTEXITCODE 0 compliant / 1 not (Intune detection).
    /// </summary>
    [Cmdlet(VerbsDiagnostic.Test, "NekkBackupCompliance")]
    [OutputType(typeof(ComplianceFinding), typeof(string))]
    public sealed class TestNekkBackupComplianceCommand : PlanCmdletBase
    {
        [Parameter]
        public DateTime? AsOf { get; set; }

        [Parameter]
        public SwitchParameter AsRmmOutput { get; set; }

        protected override void ProcessRecord()
        {
            BackupPlan plan;
            if (AsRmmOutput)
            {
                // Intune reads the exit code whatever the reason: a plan that cannot be read is "not compliant" (1).
                SetExitCode(1);
                try { plan = PlanFile.Load(ResolvePath(Path)); }
                catch (Core.Errors.NekkBackupException ex)
                {
                    var line = ("NEKK NONCOMPLIANT plan-unreadable (" + ex.Message + ")").Replace('\n', ' ');
                    WriteObject(line.Length > 2048 ? line.Substring(0, 2048) : line);
                    return;
                }
            }
            else plan = LoadPlan();
            var asOf = AsOf ?? DateTime.Now;
            var findings = Run(async (observer, ct) =>
            {
                var evidence = await PlanLegRegistry.GatherAsync(plan, ct).ConfigureAwait(false);
                return ComplianceEvaluator.Evaluate(plan, evidence, asOf);
            }, plan.Path);
            if (AsRmmOutput)
            {
                WriteObject(ComplianceEvaluator.RmmLine(plan, findings));
                SetExitCode(ComplianceEvaluator.IsCompliant(findings) ? 0 : 1);
                return;
            }
            foreach (var f in findings) WriteObject(f);
        }
    }
}
