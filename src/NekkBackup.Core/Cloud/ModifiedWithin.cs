using System;
using System.Globalization;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Cloud
{
    /// <summary>
    /// Parses -ModifiedWithin: a TimeSpan, '12h', '30d', '90m', '2w', or a bare number meaning DAYS
    /// (PowerShell reads an unquoted 30d as the decimal 30 — a number never means ticks).
    /// </summary>
    public static class ModifiedWithin
    {
        public static TimeSpan Parse(object? value)
        {
            switch (value)
            {
                case null:
                    throw Bad("(null)");
                case TimeSpan ts:
                    return Check(ts, value);
                case int or long or short or byte or decimal or double or float or uint or ulong:
                    return Check(TimeSpan.FromDays(Convert.ToDouble(value, CultureInfo.InvariantCulture)), value);
                case string s:
                    return ParseString(s);
                default:
                    return ParseString(Convert.ToString(value, CultureInfo.InvariantCulture) ?? "");
            }
        }

        private static TimeSpan ParseString(string raw)
        {
            var s = raw.Trim();
            if (s.Length == 0) throw Bad(raw);
            if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var days))
                return Check(TimeSpan.FromDays(days), raw);
            char unit = char.ToLowerInvariant(s[s.Length - 1]);
            var num = s.Substring(0, s.Length - 1).Trim();
            if ("smhdw".IndexOf(unit) >= 0 && double.TryParse(num, NumberStyles.Float, CultureInfo.InvariantCulture, out var n))
            {
                var ts = unit switch
                {
                    's' => TimeSpan.FromSeconds(n),
                    'm' => TimeSpan.FromMinutes(n),
                    'h' => TimeSpan.FromHours(n),
                    'd' => TimeSpan.FromDays(n),
                    _ => TimeSpan.FromDays(7 * n),
                };
                return Check(ts, raw);
            }
            if (s.IndexOf(':') >= 0 && TimeSpan.TryParse(s, CultureInfo.InvariantCulture, out var parsed))
                return Check(parsed, raw);
            throw Bad(raw);
        }

        private static TimeSpan Check(TimeSpan ts, object raw) =>
            ts > TimeSpan.Zero && ts < TimeSpan.FromDays(365 * 100) ? ts : throw Bad(raw);

        private static NekkBackupException Bad(object raw) =>
            Fail.Argument("InvalidModifiedWithin",
                $"-ModifiedWithin '{raw}' is not a positive time span. Use a TimeSpan, '12h', '30d', '2w', or a number of days.", raw);
    }
}
