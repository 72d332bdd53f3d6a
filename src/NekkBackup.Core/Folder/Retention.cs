using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Folder
{
    /// <summary>GFS retention: which runs a policy keeps.</summary>
    internal static class Retention
    {
        public static void Validate(RetentionPolicy? p)
        {
            if (p == null) return;
            var all = new[] { p.KeepLast, p.Hourly, p.Daily, p.Weekly, p.Monthly };
            if (all.Any(v => v < 0))
                throw Fail.Argument("InvalidRetention", $"Retention counts cannot be negative ({p}).", p);
            if (all.All(v => (v ?? 0) == 0))
                throw Fail.Argument("InvalidRetention", "The retention policy keeps nothing: give at least one of KeepLast, Hourly, Daily, Weekly, Monthly greater than 0.", p);
        }

        /// <summary>The RunIds to keep among <paramref name="runs"/> (RunId, local start). The newest is always kept.</summary>
        public static HashSet<string> Keep(IReadOnlyList<(string RunId, DateTime Started)> runs, RetentionPolicy p)
        {
            var sorted = runs.OrderByDescending(r => r.Started).ThenByDescending(r => r.RunId, StringComparer.Ordinal).ToList();
            var keep = new HashSet<string>(StringComparer.Ordinal);
            if (sorted.Count == 0) return keep;
            keep.Add(sorted[0].RunId);
            foreach (var r in sorted.Take(p.KeepLast ?? 0)) keep.Add(r.RunId);
            Bucket(sorted, p.Hourly, t => t.ToString("yyyyMMddHH", CultureInfo.InvariantCulture), keep);
            Bucket(sorted, p.Daily, t => t.ToString("yyyyMMdd", CultureInfo.InvariantCulture), keep);
            Bucket(sorted, p.Weekly, t =>
            {
                var cal = CultureInfo.InvariantCulture.Calendar;
                var week = cal.GetWeekOfYear(t, CalendarWeekRule.FirstFourDayWeek, DayOfWeek.Monday);
                return t.Year.ToString(CultureInfo.InvariantCulture) + "W" + week.ToString(CultureInfo.InvariantCulture);
            }, keep);
            Bucket(sorted, p.Monthly, t => t.ToString("yyyyMM", CultureInfo.InvariantCulture), keep);
            return keep;
        }

        private static void Bucket(List<(string RunId, DateTime Started)> newestFirst, int? count, Func<DateTime, string> key, HashSet<string> keep)
        {
            int n = count ?? 0;
            if (n <= 0) return;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var r in newestFirst)
            {
                if (seen.Count >= n) break;
                if (seen.Add(key(r.Started))) keep.Add(r.RunId);
            }
        }
    }
}
