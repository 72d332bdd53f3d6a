using System.Management.Automation;
using NekkBackup.Core.Plans;

namespace NekkBackup.Commands.Plans
{
    /// <summary>Test-NekkBackupPlan: every destination reachable and writable with the credentials the schedule will use.</summary>
    [Cmdlet(VerbsDiagnostic.Test, "NekkBackupPlan")]
    [OutputType(typeof(PlanDestinationCheck))]
    public sealed class TestNekkBackupPlanCommand : PlanCmdletBase
    {
        protected override void ProcessRecord()
        {
            var plan = LoadPlan();
            var checks = Run((observer, ct) => PlanTester.TestAsync(plan, ct), plan.Path);
            foreach (var c in checks)
            {
                if (c.Status != "Passed") WriteWarning($"{c.Leg} {c.Target}: {c.Detail}");
                WriteObject(c);
            }
        }
    }
}
