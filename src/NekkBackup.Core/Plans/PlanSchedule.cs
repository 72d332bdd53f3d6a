using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace NekkBackup.Core.Plans
{
    /// <summary>How often a leg repeats. Interval: every N hours in a daily window on chosen weekdays.</summary>
    public enum ScheduleFrequency
    {
        Interval,
        Daily,
        Weekly,
        Quarterly,
    }

    /// <summary>
    /// One leg's schedule, in local wall-clock time (docs/plan-schedule.md): the single source the Task
    /// Scheduler XML, the systemd OnCalendar expressions, cron lines, "what is due" and the compliance
    /// freshness rules are all derived from, so they can never disagree.
    /// </summary>
    public sealed class PlanSchedule
    {
        public static readonly DayOfWeek[] MondayToSaturday =
            { DayOfWeek.Monday, DayOfWeek.Tuesday, DayOfWeek.Wednesday, DayOfWeek.Thursday, DayOfWeek.Friday, DayOfWeek.Saturday };

        public static readonly DayOfWeek[] EveryDay =
            { DayOfWeek.Monday, DayOfWeek.Tuesday, DayOfWeek.Wednesday, DayOfWeek.Thursday, DayOfWeek.Friday, DayOfWeek.Saturday, DayOfWeek.Sunday };

        /// <summary>Quarter starts: January, April, July, October (day 1).</summary>
        public static readonly int[] QuarterMonths = { 1, 4, 7, 10 };

        public ScheduleFrequency Frequency { get; init; }
        /// <summary>First (or only) run of the day.</summary>
        public TimeSpan At { get; init; }
        /// <summary>Interval only: the last start of the window (inclusive).</summary>
        public TimeSpan Until { get; init; }
        /// <summary>Interval only: hours between runs.</summary>
        public int EveryHours { get; init; }
        /// <summary>Weekdays (Interval, Daily, Weekly). Ignored for Quarterly.</summary>
        public IReadOnlyList<DayOfWeek> Days { get; init; } = EveryDay;
        /// <summary>How late a run may be before the leg counts as stale (compliance grace; see docs/plan-schema.md).</summary>
        public TimeSpan Grace { get; init; }

        public static PlanSchedule DefaultFolder => new()
        {
            Frequency = ScheduleFrequency.Interval, At = TimeSpan.FromHours(8), Until = TimeSpan.FromHours(20), EveryHours = 4,
            Days = MondayToSaturday, Grace = TimeSpan.FromHours(1),
        };

        public static PlanSchedule DefaultCloud => new()
        {
            Frequency = ScheduleFrequency.Daily, At = TimeSpan.FromHours(21), Days = EveryDay, Grace = TimeSpan.FromHours(6),
        };

        public static PlanSchedule DefaultImage => new()
        {
            Frequency = ScheduleFrequency.Weekly, At = TimeSpan.FromHours(2), Days = new[] { DayOfWeek.Sunday }, Grace = TimeSpan.FromHours(24),
        };

        public static PlanSchedule DefaultDrill => new()
        {
            Frequency = ScheduleFrequency.Quarterly, At = TimeSpan.FromHours(3), Days = EveryDay, Grace = TimeSpan.FromDays(7),
        };

        public static PlanSchedule DefaultFor(PlanLeg leg) => leg switch
        {
            PlanLeg.Folder => DefaultFolder,
            PlanLeg.Cloud => DefaultCloud,
            PlanLeg.Image => DefaultImage,
            _ => DefaultDrill,
        };

        /// <summary>Start times of one day (local), ascending.</summary>
        public IEnumerable<TimeSpan> TimesOfDay()
        {
            if (Frequency != ScheduleFrequency.Interval)
            {
                yield return At;
                yield break;
            }
            for (var t = At; t <= Until; t += TimeSpan.FromHours(EveryHours))
                yield return t;
        }

        public bool RunsOn(DateTime date)
        {
            if (Frequency == ScheduleFrequency.Quarterly)
                return date.Day == 1 && QuarterMonths.Contains(date.Month);
            return Days.Contains(date.DayOfWeek);
        }

        /// <summary>The latest scheduled start at or before <paramref name="local"/>, or null (none in 400 days).</summary>
        public DateTime? PreviousOccurrence(DateTime local)
        {
            var day = local.Date;
            for (int i = 0; i < 400; i++, day = day.AddDays(-1))
            {
                if (!RunsOn(day)) continue;
                foreach (var t in TimesOfDay().Reverse())
                {
                    var slot = day + t;
                    if (slot <= local) return slot;
                }
            }
            return null;
        }

        /// <summary>The first scheduled start strictly after <paramref name="local"/>.</summary>
        public DateTime? NextOccurrence(DateTime local)
        {
            var day = local.Date;
            for (int i = 0; i < 400; i++, day = day.AddDays(1))
            {
                if (!RunsOn(day)) continue;
                foreach (var t in TimesOfDay())
                {
                    var slot = day + t;
                    if (slot > local) return slot;
                }
            }
            return null;
        }

        public static string DayName(DayOfWeek d) => d.ToString().Substring(0, 3);

        public override string ToString()
        {
            var days = Days.Count == 7 ? "daily" : string.Join(",", Days.Select(DayName));
            var at = At.ToString(@"hh\:mm", CultureInfo.InvariantCulture);
            return Frequency switch
            {
                ScheduleFrequency.Interval => $"every {EveryHours}h {at}-{Until.ToString(@"hh\:mm", CultureInfo.InvariantCulture)} {days}",
                ScheduleFrequency.Daily => $"{days} {at}",
                ScheduleFrequency.Weekly => $"weekly {days} {at}",
                _ => $"quarterly (1 Jan/Apr/Jul/Oct) {at}",
            };
        }
    }

    /// <summary>The legs of a plan (PRODUCT.md §1).</summary>
    public enum PlanLeg
    {
        Folder,
        Image,
        Cloud,
        Drill,
    }
}
