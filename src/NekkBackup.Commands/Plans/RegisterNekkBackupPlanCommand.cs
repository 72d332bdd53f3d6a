using System;
using System.IO;
using System.Linq;
using System.Management.Automation;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Plans;

namespace NekkBackup.Commands.Plans
{
    /// <summary>
    /// Register-NekkBackupPlan: one schedule per leg. Windows: Task Scheduler tasks under \NekkBackup running as SYSTEM
    /// (task XML 1.2 through COM). Linux: systemd service + timer units (or cron lines where systemd is absent).
    /// </summary>
    [Cmdlet(VerbsLifecycle.Register, "NekkBackupPlan", SupportsShouldProcess = true)]
    [OutputType(typeof(PlanRegistration))]
    public sealed class RegisterNekkBackupPlanCommand : PlanCmdletBase
    {
        [Parameter]
        [ValidateSet("Folder", "Image", "Cloud", "Drill")]
        public string[]? Job { get; set; }

        [Parameter]
        [ValidateSet("Auto", "TaskScheduler", "Systemd", "Cron")]
        public string Scheduler { get; set; } = "Auto";

        /// <summary>Where systemd units (or the cron file) go; default /etc/systemd/system (/etc/cron.d).</summary>
        [Parameter]
        public string? UnitDirectory { get; set; }

        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void ProcessRecord()
        {
            var plan = LoadPlan();
            var legs = Job == null ? plan.Legs : Job.Select(j => (PlanLeg)Enum.Parse(typeof(PlanLeg), j, true)).ToList();
            var missing = legs.Where(l => !plan.Legs.Contains(l)).ToList();
            if (missing.Count > 0)
                Terminate(Fail.Argument("JobNotInPlan", $"The plan '{plan.Name}' has no {string.Join(", ", missing)} leg.", string.Join(",", missing)));
            var unitDir = UnitDirectory != null ? ResolvePath(UnitDirectory) : null;
            var scheduler = PlanRegistrar.Resolve(Scheduler, unitDir);
            if (scheduler == "TaskScheduler" && !Core.OperatingSystemInfo.IsWindows)
                Terminate(new NekkBackupException("NotSupportedOnPlatform", FailureKind.NotSupported, "The Task Scheduler exists only on Windows; use -Scheduler Systemd or Cron."));
            if (scheduler != "TaskScheduler" && Core.OperatingSystemInfo.IsWindows)
                Terminate(new NekkBackupException("NotSupportedOnPlatform", FailureKind.NotSupported, $"-Scheduler {scheduler} is for Linux; on Windows use TaskScheduler."));
            var command = CommandLine(plan);
            var planned = PlanRegistrar.Plan(plan, legs.ToList(), scheduler, command, unitDir);
            if (!ShouldProcess(string.Join(", ", planned.Select(p => p.Name).Distinct()), $"Register the schedules of plan '{plan.Name}' ({scheduler})"))
                return;
            var done = Run((o, ct) => System.Threading.Tasks.Task.FromResult(PlanRegistrar.Register(plan, legs.ToList(), scheduler, command, unitDir)), plan.Path);
            if (PassThru) foreach (var r in done) WriteObject(r);
        }

        /// <summary>The PowerShell running now (absolute), the module manifest it loaded, and the plan's absolute path.</summary>
        internal PlanCommandLine CommandLine(BackupPlan plan)
        {
            var moduleBase = MyInvocation.MyCommand.Module?.ModuleBase;
            string? manifest = moduleBase != null ? System.IO.Path.Combine(moduleBase, "NekkBackup.psd1") : null;
            if (manifest != null && !File.Exists(manifest)) manifest = null;
            var psHome = SessionState.PSVariable.GetValue("PSHOME") as string;
            return PlanCommandLine.ForCurrentProcess(plan.Path!, manifest, psHome);
        }
    }
}
