using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Xml.Linq;
using NekkBackup.Core.Plans;
using NekkBackup.Core.Tests.TestKit;
using Xunit;

namespace NekkBackup.Core.Tests.Plans
{
    public class ScheduleAndSchedulerTests
    {
        private static readonly XNamespace T = TaskSchedulerXml.Ns;

        private static BackupPlan Plan() => PlanParser.Parse(PlanTestData.Full(), "/etc/nekk/studio-a.psd1");

        private static PlanCommandLine Cmd(string plan = "/etc/nekk/studio-a.psd1")
        {
            string exe;
            using (var p = System.Diagnostics.Process.GetCurrentProcess()) exe = p.MainModule!.FileName!;
            return new PlanCommandLine { Executable = exe, ModuleManifest = "/opt/nekk/NekkBackup.psd1", PlanPath = plan };
        }

        [Fact]
        public void Folder_slots_are_08_12_16_20_Monday_to_Saturday()
        {
            var s = PlanSchedule.DefaultFolder;
            Assert.Equal(new[] { 8, 12, 16, 20 }, s.TimesOfDay().Select(t => t.Hours));
            var wed = new DateTime(2026, 11, 25, 13, 0, 0);
            Assert.Equal(new DateTime(2026, 11, 25, 12, 0, 0), s.PreviousOccurrence(wed));
            Assert.Equal(new DateTime(2026, 11, 25, 16, 0, 0), s.NextOccurrence(wed));
            // Sunday has no slot: previous is Saturday 20:00, next Monday 08:00.
            var sun = new DateTime(2026, 11, 29, 15, 0, 0);
            Assert.Equal(new DateTime(2026, 11, 28, 20, 0, 0), s.PreviousOccurrence(sun));
            Assert.Equal(new DateTime(2026, 11, 30, 8, 0, 0), s.NextOccurrence(sun));
            Assert.Equal(new DateTime(2026, 10, 1, 3, 0, 0), PlanSchedule.DefaultDrill.PreviousOccurrence(new DateTime(2026, 12, 31)));
        }

        [Fact]
        public void Task_xml_folder_leg_weekly_trigger_repeats_PT4H_for_PT13H_Mon_to_Sat()
        {
            var doc = TaskSchedulerXml.Build(Plan(), PlanLeg.Folder, Cmd());
            var task = doc.Root!;
            Assert.Equal(T + "Task", task.Name);
            Assert.Equal("1.2", (string?)task.Attribute("version"));
            var trig = task.Element(T + "Triggers")!.Elements().Single();
            Assert.Equal(T + "CalendarTrigger", trig.Name);
            var rep = trig.Element(T + "Repetition")!;
            Assert.Equal("PT4H", rep.Element(T + "Interval")!.Value);
            Assert.Equal("PT13H", rep.Element(T + "Duration")!.Value);
            Assert.Equal("false", rep.Element(T + "StopAtDurationEnd")!.Value);
            Assert.Equal("2025-01-06T08:00:00", trig.Element(T + "StartBoundary")!.Value);
            var week = trig.Element(T + "ScheduleByWeek")!;
            Assert.Equal("1", week.Element(T + "WeeksInterval")!.Value);
            Assert.Equal(new[] { "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday" },
                week.Element(T + "DaysOfWeek")!.Elements().Select(e => e.Name.LocalName));
            Assert.Equal(126, TaskSchedulerXml.DaysOfWeekMask(PlanSchedule.DefaultFolder));
        }

        [Fact]
        public void Task_xml_principal_settings_and_action()
        {
            var doc = TaskSchedulerXml.Build(Plan(), PlanLeg.Folder, Cmd());
            var task = doc.Root!;
            var principal = task.Element(T + "Principals")!.Element(T + "Principal")!;
            Assert.Equal("S-1-5-18", principal.Element(T + "UserId")!.Value);
            Assert.Equal("HighestAvailable", principal.Element(T + "RunLevel")!.Value);
            var set = task.Element(T + "Settings")!;
            Assert.Equal("IgnoreNew", set.Element(T + "MultipleInstancesPolicy")!.Value);
            Assert.Equal("true", set.Element(T + "StartWhenAvailable")!.Value);
            Assert.Equal("PT3H", set.Element(T + "ExecutionTimeLimit")!.Value);
            var exec = task.Element(T + "Actions")!.Element(T + "Exec")!;
            Assert.Equal(Cmd().Executable, exec.Element(T + "Command")!.Value);
            var args = exec.Element(T + "Arguments")!.Value;
            Assert.Contains("-ExecutionPolicy Bypass", args);
            Assert.Contains("Invoke-NekkBackupPlan -Path '/etc/nekk/studio-a.psd1' -Job Folder; exit $LASTEXITCODE", args);
            Assert.Equal(@"\NekkBackup\studio-a-Folder", task.Element(T + "RegistrationInfo")!.Element(T + "URI")!.Value);
            var text = TaskSchedulerXml.ToText(doc);
            Assert.StartsWith("<?xml version=\"1.0\" encoding=\"utf-16\"?>", text);
            Assert.DoesNotContain("EndBounadry", text);
            Assert.DoesNotContain("Thurday", text);
            Assert.Equal(doc.ToString(), XDocument.Parse(text).ToString());
        }

        [Fact]
        public void Task_xml_cloud_daily_image_weekly_drill_quarterly()
        {
            var plan = Plan();
            var cloud = TaskSchedulerXml.Build(plan, PlanLeg.Cloud, Cmd()).Root!.Descendants(T + "CalendarTrigger").Single();
            Assert.Equal("1", cloud.Element(T + "ScheduleByDay")!.Element(T + "DaysInterval")!.Value);
            Assert.Equal("2025-01-06T23:30:00", cloud.Element(T + "StartBoundary")!.Value);
            Assert.Null(cloud.Element(T + "Repetition"));

            var image = TaskSchedulerXml.Build(plan, PlanLeg.Image, Cmd()).Root!.Descendants(T + "CalendarTrigger").Single();
            Assert.Equal(new[] { "Sunday" }, image.Element(T + "ScheduleByWeek")!.Element(T + "DaysOfWeek")!.Elements().Select(e => e.Name.LocalName));

            var drill = TaskSchedulerXml.Build(plan, PlanLeg.Drill, Cmd()).Root!.Descendants(T + "CalendarTrigger").Single();
            var month = drill.Element(T + "ScheduleByMonth")!;
            Assert.Equal("1", month.Element(T + "DaysOfMonth")!.Element(T + "Day")!.Value);
            Assert.Equal(new[] { "January", "April", "July", "October" }, month.Element(T + "Months")!.Elements().Select(e => e.Name.LocalName));
            Assert.Equal(585, TaskSchedulerXml.QuarterMonthsMask);
            Assert.Equal("PT12H", TaskSchedulerXml.Iso(TimeSpan.FromHours(12)));
            Assert.Equal("P1DT2H", TaskSchedulerXml.Iso(TimeSpan.FromHours(26)));
        }

        [Fact]
        public void Windows_arguments_round_trip_through_argv_rules()
        {
            Assert.Equal("-NoProfile", PlanCommandLine.WindowsQuote("-NoProfile"));
            Assert.Equal("\"a b\"", PlanCommandLine.WindowsQuote("a b"));
            Assert.Equal("\"say \\\"hi\\\"\"", PlanCommandLine.WindowsQuote("say \"hi\""));
            Assert.Equal("\"C:\\dir with space\\\\\"", PlanCommandLine.WindowsQuote("C:\\dir with space\\"));
            Assert.Equal(@"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
                PlanCommandLine.SysnativeToSystem32(@"C:\Windows\SysWOW64\WindowsPowerShell\v1.0\powershell.exe"));
        }

        [Fact]
        public void OnCalendar_and_cron_expressions()
        {
            var plan = Plan();
            Assert.Equal("Mon..Sat *-*-* 08,12,16,20:00:00", SystemdUnits.OnCalendar(plan.FolderSchedule));
            Assert.Equal("*-*-* 23:30:00", SystemdUnits.OnCalendar(plan.CloudSchedule));
            Assert.Equal("Sun *-*-* 02:00:00", SystemdUnits.OnCalendar(plan.ImageSchedule));
            Assert.Equal("*-01,04,07,10-01 03:00:00", SystemdUnits.OnCalendar(plan.DrillSchedule));
            Assert.Equal("Mon,Wed,Fri..Sun", SystemdUnits.DayList(new[] { DayOfWeek.Monday, DayOfWeek.Wednesday, DayOfWeek.Friday, DayOfWeek.Saturday, DayOfWeek.Sunday }));
            Assert.Equal("0 8,12,16,20 * * 1,2,3,4,5,6", SystemdUnits.CronSchedule(plan.FolderSchedule));
            Assert.Equal("0 3 1 1,4,7,10 *", SystemdUnits.CronSchedule(plan.DrillSchedule));
            var cron = SystemdUnits.CronFile(plan, Cmd(), plan.Legs);
            Assert.Equal(4, cron.Split('\n').Count(l => l.Contains(" root ")));
            Assert.Contains("exit $LASTEXITCODE", cron);
        }

        [ToolFact("systemd-analyze")]
        public void Generated_units_pass_systemd_analyze_verify_and_calendar_agrees_with_the_schedule()
        {
            using var dir = new TempDir("units");
            var plan = Plan();
            var files = new List<string>();
            foreach (var leg in plan.Legs)
            {
                var b = Path.Combine(dir.Path, SystemdUnits.UnitBaseName(plan, leg));
                File.WriteAllText(b + ".service", SystemdUnits.Service(plan, leg, Cmd()));
                File.WriteAllText(b + ".timer", SystemdUnits.Timer(plan, leg));
                files.Add(b + ".service");
                files.Add(b + ".timer");
            }
            var verify = ProcessHelper.Run("systemd-analyze", "verify --man=no " + string.Join(" ", files.Select(f => "\"" + f + "\"")), 120);
            Assert.True(verify.ExitCode == 0, verify.StdErr + verify.StdOut);
            Assert.Equal("", verify.StdErr.Trim());

            foreach (var leg in plan.Legs)
            {
                var schedule = plan.ScheduleFor(leg);
                var expr = SystemdUnits.OnCalendar(schedule);
                var cal = ProcessHelper.Run("systemd-analyze", $"calendar --iterations=6 \"{expr}\"", 60);
                Assert.True(cal.ExitCode == 0, cal.StdErr);
                Assert.Contains("Normalized form: " + expr, cal.StdOut);
                // The next elapses systemd computes are the slots PlanSchedule computes (compliance and "due" use those).
                var elapses = cal.StdOut.Split('\n').Where(l => l.Contains("Next elapse:") || l.Contains("Iter. #"))
                    .Select(l => l.Substring(l.IndexOf(':') + 1).Trim()).Select(v => DateTime.ParseExact(v.Substring(4, 19), "yyyy-MM-dd HH:mm:ss", null)).ToList();
                Assert.True(elapses.Count >= 2, cal.StdOut);
                var expected = new List<DateTime>();
                var t = DateTime.Now;
                for (int i = 0; i < elapses.Count; i++) { t = schedule.NextOccurrence(t)!.Value; expected.Add(t); }
                Assert.Equal(expected, elapses);
            }
        }

        [Fact]
        public void Plan_lock_admits_one_run_at_a_time()
        {
            using var data = new TempDir("plandata");
            var old = Environment.GetEnvironmentVariable("NEKKBACKUP_DATA");
            Environment.SetEnvironmentVariable("NEKKBACKUP_DATA", data.Path);
            try
            {
                var plan = Plan();
                using (var first = PlanLock.TryAcquire(plan))
                {
                    Assert.NotNull(first);
                    Assert.Null(PlanLock.TryAcquire(plan));
                }
                using var again = PlanLock.TryAcquire(plan);
                Assert.NotNull(again);
            }
            finally { Environment.SetEnvironmentVariable("NEKKBACKUP_DATA", old); }
        }
    }
}
