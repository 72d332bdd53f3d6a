using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Xml;
using System.Xml.Linq;

namespace NekkBackup.Core.Plans
{
    /// <summary>
    /// Task Scheduler task XML (schema 1.2, windows-notes.md §4) for one leg of a plan, built in pure C# so
    /// it is tested on Linux and registered on Windows through COM (<see cref="TaskSchedulerCom"/>).
    /// </summary>
    public static class TaskSchedulerXml
    {
        public static readonly XNamespace Ns = "http://schemas.microsoft.com/windows/2004/02/mit/task";
        public const string TaskFolder = @"\NekkBackup";
        /// <summary>LocalSystem's SID (windows-notes.md §4.2).</summary>
        public const string SystemSid = "S-1-5-18";
        /// <summary>A past Monday: StartBoundary only anchors the time of day and the week.</summary>
        private static readonly DateTime Anchor = new(2025, 1, 6);

        public static string TaskName(BackupPlan plan, PlanLeg leg) => $"{plan.Name}-{leg}";

        public static TimeSpan TimeLimit(PlanLeg leg) => leg switch
        {
            PlanLeg.Folder => TimeSpan.FromHours(3),
            PlanLeg.Cloud => TimeSpan.FromHours(12),
            PlanLeg.Image => TimeSpan.FromHours(8),
            _ => TimeSpan.FromHours(12),
        };

        public static XDocument Build(BackupPlan plan, PlanLeg leg, PlanCommandLine command)
        {
            var s = plan.ScheduleFor(leg);
            var trigger = new XElement(Ns + "CalendarTrigger");
            if (s.Frequency == ScheduleFrequency.Interval)
            {
                // PT13H for 08-20 every 4 h: the 20:00 start is strictly inside the window (windows-notes.md §4.3).
                var duration = s.Until - s.At + TimeSpan.FromHours(1);
                trigger.Add(new XElement(Ns + "Repetition",
                    new XElement(Ns + "Interval", Iso(TimeSpan.FromHours(s.EveryHours))),
                    new XElement(Ns + "Duration", Iso(duration)),
                    new XElement(Ns + "StopAtDurationEnd", "false")));
            }
            trigger.Add(new XElement(Ns + "StartBoundary", (Anchor + s.At).ToString("yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture)));
            trigger.Add(new XElement(Ns + "Enabled", "true"));
            switch (s.Frequency)
            {
                case ScheduleFrequency.Quarterly:
                    trigger.Add(new XElement(Ns + "ScheduleByMonth",
                        new XElement(Ns + "DaysOfMonth", new XElement(Ns + "Day", "1")),
                        new XElement(Ns + "Months", PlanSchedule.QuarterMonths.Select(m => new XElement(Ns + CultureInfo.InvariantCulture.DateTimeFormat.GetMonthName(m))))));
                    break;
                case ScheduleFrequency.Daily when s.Days.Count == 7:
                    trigger.Add(new XElement(Ns + "ScheduleByDay", new XElement(Ns + "DaysInterval", "1")));
                    break;
                default:
                    trigger.Add(new XElement(Ns + "ScheduleByWeek",
                        new XElement(Ns + "DaysOfWeek", Week(s).Select(d => new XElement(Ns + d.ToString()))),
                        new XElement(Ns + "WeeksInterval", "1")));
                    break;
            }

            var doc = new XDocument(new XDeclaration("1.0", "UTF-16", null),
                new XElement(Ns + "Task", new XAttribute("version", "1.2"),
                    new XElement(Ns + "RegistrationInfo",
                        new XElement(Ns + "Author", "NekkBackup"),
                        new XElement(Ns + "Description", $"NekkBackup plan '{plan.Name}', {leg} job ({s}). Managed by Register-NekkBackupPlan; plan file {command.PlanPath}."),
                        new XElement(Ns + "URI", TaskFolder + "\\" + TaskName(plan, leg))),
                    new XElement(Ns + "Triggers", trigger),
                    new XElement(Ns + "Principals",
                        new XElement(Ns + "Principal", new XAttribute("id", "Author"),
                            new XElement(Ns + "UserId", SystemSid),
                            new XElement(Ns + "RunLevel", "HighestAvailable"))),
                    new XElement(Ns + "Settings",
                        new XElement(Ns + "MultipleInstancesPolicy", "IgnoreNew"),
                        new XElement(Ns + "DisallowStartIfOnBatteries", "false"),
                        new XElement(Ns + "StopIfGoingOnBatteries", "false"),
                        new XElement(Ns + "AllowHardTerminate", "true"),
                        new XElement(Ns + "StartWhenAvailable", "true"),
                        new XElement(Ns + "RunOnlyIfNetworkAvailable", "false"),
                        new XElement(Ns + "AllowStartOnDemand", "true"),
                        new XElement(Ns + "Enabled", "true"),
                        new XElement(Ns + "Hidden", "false"),
                        new XElement(Ns + "WakeToRun", "false"),
                        new XElement(Ns + "ExecutionTimeLimit", Iso(TimeLimit(leg))),
                        new XElement(Ns + "Priority", "7")),
                    new XElement(Ns + "Actions", new XAttribute("Context", "Author"),
                        new XElement(Ns + "Exec",
                            new XElement(Ns + "Command", command.Executable),
                            new XElement(Ns + "Arguments", command.WindowsArguments(leg))))));
            return doc;
        }

        /// <summary>The XML text as RegisterTask takes it.</summary>
        public static string ToText(XDocument doc)
        {
            var sb = new StringBuilder();
            using (var w = XmlWriter.Create(new StringWriter(sb), new XmlWriterSettings { Indent = true, Encoding = Encoding.Unicode }))
                doc.Save(w);
            return sb.ToString();
        }

        /// <summary>COM IWeeklyTrigger.DaysOfWeek bitmask (Sun 1 … Sat 64; Mon–Sat = 126).</summary>
        public static int DaysOfWeekMask(PlanSchedule s) => Week(s).Aggregate(0, (m, d) => m | (1 << (int)d));

        /// <summary>COM IMonthlyTrigger.MonthsOfYear bitmask (Jan 1 … Dec 2048; quarters = 585).</summary>
        public static int QuarterMonthsMask => PlanSchedule.QuarterMonths.Aggregate(0, (m, month) => m | (1 << (month - 1)));

        private static DayOfWeek[] Week(PlanSchedule s) => s.Days.OrderBy(d => (int)d).ToArray();

        /// <summary>xs:duration as Task Scheduler writes it (PT4H, PT13H, PT3H30M, P1D).</summary>
        public static string Iso(TimeSpan t)
        {
            var sb = new StringBuilder("P");
            if (t.Days > 0) sb.Append(t.Days).Append('D');
            if (t.Hours > 0 || t.Minutes > 0 || t.Seconds > 0 || t.Days == 0)
            {
                sb.Append('T');
                if (t.Hours > 0) sb.Append(t.Hours).Append('H');
                if (t.Minutes > 0) sb.Append(t.Minutes).Append('M');
                if (t.Seconds > 0) sb.Append(t.Seconds).Append('S');
                if (t.Hours == 0 && t.Minutes == 0 && t.Seconds == 0) sb.Append("0S");
            }
            return sb.ToString();
        }
    }
}
