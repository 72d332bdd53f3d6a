using System.Linq;
using System.Management.Automation;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Plans;

namespace NekkBackup.Commands.Plans
{
    /// <summary>Unregister-NekkBackupPlan: removes the plan's tasks, units or cron file.</summary>
    [Cmdlet(VerbsLifecycle.Unregister, "NekkBackupPlan", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(PlanRegistration))]
    public sealed class UnregisterNekkBackupPlanCommand : PlanCmdletBase
    {
        [Parameter]
        [ValidateSet("Auto", "TaskScheduler", "Systemd", "Cron")]
        public string Scheduler { get; set; } = "Auto";

        [Parameter]
        public string? UnitDirectory { get; set; }

        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void ProcessRecord()
        {
            var plan = LoadPlan();
            var unitDir = UnitDirectory != null ? ResolvePath(UnitDirectory) : null;
            var scheduler = PlanRegistrar.Resolve(Scheduler, unitDir);
            if (scheduler == "TaskScheduler" && !Core.OperatingSystemInfo.IsWindows)
                Terminate(new NekkBackupException("NotSupportedOnPlatform", FailureKind.NotSupported, "The Task Scheduler exists only on Windows; use -Scheduler Systemd or Cron."));
            if (!ShouldProcess(plan.Name, $"Remove the {scheduler} schedules of plan '{plan.Name}'")) return;
            var removed = Run((o, ct) => System.Threading.Tasks.Task.FromResult(PlanRegistrar.Unregister(plan, scheduler, unitDir)), plan.Path);
            if (PassThru) foreach (var r in removed.Where(r => r.Status == "Removed")) WriteObject(r);
        }
    }
}
