using System;
using System.Linq;
using System.Management.Automation;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Plans;

namespace NekkBackup.Commands.Plans
{
    /// <summary>
    /// Invoke-NekkBackupPlan: the one entry point for schedules and RMM. Runs what is due (or -Job), writes the result
    /// object only, a one-line reason on the error stream when it did not succeed, and sets $LASTEXITCODE from the
    /// map in docs/exit-codes.md (0 ok, 1 failed/refused/cancelled, 2 completed with errors, 3 bad plan or arguments,
    /// 4 destination unreachable).
    /// </summary>
    [Cmdlet(VerbsLifecycle.Invoke, "NekkBackupPlan", SupportsShouldProcess = true)]
    [OutputType(typeof(PlanRunResult))]
    public sealed class InvokeNekkBackupPlanCommand : PlanCmdletBase
    {
        protected override bool HandsMemoryBack => true;

        [Parameter(Position = 1)]
        [ValidateSet("Due", "Folder", "Image", "Cloud", "Drill")]
        public string Job { get; set; } = "Due";

        protected override void ProcessRecord()
        {
            var plan = LoadPlan(PlanExitCodes.InvalidPlan);
            if (!ShouldProcess(plan.Path ?? plan.Name, $"Run the {Job} job(s) of plan '{plan.Name}'"))
                return;
            if (Job != "Due")
            {
                var leg = (PlanLeg)Enum.Parse(typeof(PlanLeg), Job, true);
                if (!plan.Legs.Contains(leg))
                {
                    SetExitCode(PlanExitCodes.InvalidPlan);
                    Terminate(Fail.Argument("JobNotInPlan", $"The plan '{plan.Name}' has no {leg} leg (add the {leg} key to {plan.Path}).", Job));
                }
            }
            // Until a result says otherwise (an engine error or Ctrl+C leaves 1).
            SetExitCode(PlanExitCodes.Failed);
            var result = Run((observer, ct) => PlanRunner.RunAsync(plan, new PlanRunOptions { Job = Job }, new QuietObserver(observer), ct), plan.Path);
            SetExitCode(result.ExitCode);
            WriteObject(result);
            if (result.ExitCode != 0 && result.Reason != null)
            {
                var line = $"NEKK {result.Status} plan={result.Plan} exit={result.ExitCode}: {result.Reason}".Replace('\n', ' ');
                WriteError(new ErrorRecord(new InvalidOperationException(line), "NekkBackup.Plan" + result.Status,
                    result.Status == "Unreachable" ? ErrorCategory.ConnectionError : ErrorCategory.OperationStopped, result));
            }
        }
    }
}
