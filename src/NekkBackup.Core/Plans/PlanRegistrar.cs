using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Plans
{
    /// <summary>Register-/Unregister-NekkBackupPlan: Task Scheduler tasks (Windows), systemd timers, or cron where systemd is absent.</summary>
    public static class PlanRegistrar
    {
        public const string DefaultUnitDirectory = "/etc/systemd/system";
        public const string DefaultCronDirectory = "/etc/cron.d";

        /// <summary>Auto → TaskScheduler on Windows; Systemd when systemd is PID 1 (/run/systemd/system) or a unit directory is given; else Cron.</summary>
        public static string Resolve(string scheduler, string? unitDirectory)
        {
            if (!string.Equals(scheduler, "Auto", StringComparison.OrdinalIgnoreCase))
                return scheduler;
            if (OperatingSystemInfo.IsWindows) return "TaskScheduler";
            if (unitDirectory != null || Directory.Exists("/run/systemd/system")) return "Systemd";
            return "Cron";
        }

        public static IReadOnlyList<PlanRegistration> Plan(BackupPlan plan, IReadOnlyList<PlanLeg> legs, string scheduler, PlanCommandLine command, string? unitDirectory)
        {
            var list = new List<PlanRegistration>();
            switch (scheduler)
            {
                case "TaskScheduler":
                    foreach (var leg in legs)
                        list.Add(new PlanRegistration
                        {
                            Plan = plan.Name, Job = leg.ToString(), Scheduler = scheduler,
                            Name = TaskSchedulerXml.TaskFolder + "\\" + TaskSchedulerXml.TaskName(plan, leg),
                            Schedule = plan.ScheduleFor(leg).ToString(), Native = "CalendarTrigger (task XML 1.2, SYSTEM)", Status = "Planned",
                        });
                    break;
                case "Systemd":
                    var dir = unitDirectory ?? DefaultUnitDirectory;
                    foreach (var leg in legs)
                    {
                        var b = SystemdUnits.UnitBaseName(plan, leg);
                        list.Add(new PlanRegistration
                        {
                            Plan = plan.Name, Job = leg.ToString(), Scheduler = scheduler, Name = b + ".timer",
                            Schedule = plan.ScheduleFor(leg).ToString(), Native = "OnCalendar=" + SystemdUnits.OnCalendar(plan.ScheduleFor(leg)),
                            Files = new[] { Path.Combine(dir, b + ".service"), Path.Combine(dir, b + ".timer") }, Status = "Planned",
                        });
                    }
                    break;
                case "Cron":
                    var file = Path.Combine(unitDirectory ?? DefaultCronDirectory, "nekkbackup-" + SystemdUnits.Sanitize(plan.Name));
                    foreach (var leg in legs)
                        list.Add(new PlanRegistration
                        {
                            Plan = plan.Name, Job = leg.ToString(), Scheduler = scheduler, Name = file,
                            Schedule = plan.ScheduleFor(leg).ToString(), Native = SystemdUnits.CronSchedule(plan.ScheduleFor(leg)),
                            Files = new[] { file }, Status = "Planned",
                        });
                    break;
                default:
                    throw Fail.Argument("InvalidScheduler", $"Unknown scheduler '{scheduler}'; use Auto, TaskScheduler, Systemd or Cron.", scheduler);
            }
            return list;
        }

        public static IReadOnlyList<PlanRegistration> Register(BackupPlan plan, IReadOnlyList<PlanLeg> legs, string scheduler, PlanCommandLine command, string? unitDirectory)
        {
            var planned = Plan(plan, legs, scheduler, command, unitDirectory);
            switch (scheduler)
            {
                case "TaskScheduler":
                    foreach (var leg in legs)
                        TaskSchedulerCom.Register(TaskSchedulerXml.TaskName(plan, leg), TaskSchedulerXml.ToText(TaskSchedulerXml.Build(plan, leg, command)));
                    break;
                case "Systemd":
                    var dir = unitDirectory ?? DefaultUnitDirectory;
                    Directory.CreateDirectory(dir);
                    foreach (var leg in legs)
                    {
                        var b = SystemdUnits.UnitBaseName(plan, leg);
                        File.WriteAllText(Path.Combine(dir, b + ".service"), SystemdUnits.Service(plan, leg, command));
                        File.WriteAllText(Path.Combine(dir, b + ".timer"), SystemdUnits.Timer(plan, leg));
                    }
                    if (unitDirectory == null && Directory.Exists("/run/systemd/system"))
                    {
                        Systemctl("daemon-reload");
                        foreach (var leg in legs) Systemctl($"enable --now {SystemdUnits.UnitBaseName(plan, leg)}.timer");
                    }
                    break;
                case "Cron":
                    var file = planned[0].Files[0];
                    Directory.CreateDirectory(Path.GetDirectoryName(file)!);
                    File.WriteAllText(file, SystemdUnits.CronFile(plan, command, legs));
                    break;
            }
            return planned.Select(p => With(p, "Registered")).ToList();
        }

        public static IReadOnlyList<PlanRegistration> Unregister(BackupPlan plan, string scheduler, string? unitDirectory)
        {
            var legs = (PlanLeg[])Enum.GetValues(typeof(PlanLeg));
            var planned = Plan(plan, legs, scheduler, new PlanCommandLine(), unitDirectory);
            var result = new List<PlanRegistration>();
            foreach (var p in planned)
            {
                bool removed = false;
                switch (scheduler)
                {
                    case "TaskScheduler":
                        removed = TaskSchedulerCom.Unregister(TaskSchedulerXml.TaskName(plan, (PlanLeg)Enum.Parse(typeof(PlanLeg), p.Job)));
                        break;
                    case "Systemd":
                        if (unitDirectory == null && Directory.Exists("/run/systemd/system") && File.Exists(p.Files[1]))
                            Systemctl($"disable --now {p.Name}");
                        foreach (var f in p.Files)
                            if (File.Exists(f)) { File.Delete(f); removed = true; }
                        break;
                    case "Cron":
                        if (File.Exists(p.Files[0])) { File.Delete(p.Files[0]); removed = true; }
                        break;
                }
                result.Add(With(p, removed ? "Removed" : "Absent"));
            }
            if (scheduler == "Systemd" && unitDirectory == null && Directory.Exists("/run/systemd/system")) Systemctl("daemon-reload");
            return result.Where(r => r.Status == "Removed" || scheduler != "Cron").GroupBy(r => r.Scheduler == "Cron" ? r.Name : r.Name + r.Job).Select(g => g.First()).ToList();
        }

        private static PlanRegistration With(PlanRegistration p, string status) => new()
        {
            Plan = p.Plan, Job = p.Job, Scheduler = p.Scheduler, Name = p.Name, Schedule = p.Schedule, Native = p.Native, Files = p.Files, Status = status,
        };

        private static void Systemctl(string args)
        {
            var psi = new ProcessStartInfo("systemctl", args) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEnd();
            p.StandardOutput.ReadToEnd();
            if (!p.WaitForExit(60000)) { try { p.Kill(); } catch { } }
            if (p.ExitCode != 0)
                throw new NekkBackupException("SchedulerError", FailureKind.InvalidOperation, $"systemctl {args} failed ({p.ExitCode}): {err.Trim()}", args);
        }
    }
}
