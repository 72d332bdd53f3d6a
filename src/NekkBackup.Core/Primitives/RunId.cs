using System;
using System.Globalization;

namespace NekkBackup.Core.Primitives
{
    /// <summary>
    /// The one run-id format: <c>yyyyMMddTHHmmssfffZ-xxxxxx</c> (UTC, Gregorian, invariant digits, 6 random hex),
    /// so ids sort by start time with an ordinal compare on every machine — a Thai Buddhist-calendar or
    /// Arabic-digit current culture changes nothing. A run started while the clock is behind the newest
    /// recorded run is named after it (<see cref="NewAfter"/>), so the order of runs never inverts.
    /// </summary>
    public static class RunId
    {
        public const string TimeFormat = "yyyyMMdd'T'HHmmssfff'Z'";
        private const int TimeLength = 19;

        public static string New() => New(DateTime.UtcNow);

        public static string New(DateTime utc) =>
            utc.ToUniversalTime().ToString(TimeFormat, CultureInfo.InvariantCulture) + "-" + Suffix(6);

        /// <summary>
        /// A new id that sorts after <paramref name="newestExisting"/> even when the clock stepped back:
        /// then it is the newest id plus "-xxxx".
        /// </summary>
        public static string NewAfter(string? newestExisting, DateTime utc)
        {
            var id = New(utc);
            if (newestExisting == null || string.CompareOrdinal(id, newestExisting) > 0) return id;
            return newestExisting + "-" + Suffix(4);
        }

        /// <summary>The start time encoded in an id, or null when it is not one of ours (a name read back from a store).</summary>
        public static DateTime? TryParseTime(string? id)
        {
            if (!IsWellFormed(id)) return null;
            return DateTime.ParseExact(id!.Substring(0, TimeLength), TimeFormat, CultureInfo.InvariantCulture,
                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
        }

        /// <summary>Time part, then one or more "-hex" groups; nothing else (safe as a file or key name).</summary>
        public static bool IsWellFormed(string? id)
        {
            if (id == null || id.Length < TimeLength + 2 || id.Length > 80) return false;
            for (int i = 0; i < TimeLength; i++)
            {
                char c = id[i];
                bool ok = i == 8 ? c == 'T' : i == 18 ? c == 'Z' : c >= '0' && c <= '9';
                if (!ok) return false;
            }
            if (!DateTime.TryParseExact(id.Substring(0, TimeLength), TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _)) return false;
            bool groupStart = true;
            for (int i = TimeLength; i < id.Length; i++)
            {
                char c = id[i];
                if (groupStart) { if (c != '-') return false; groupStart = false; continue; }
                if (c == '-') { if (id[i - 1] == '-') return false; continue; }
                if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
            }
            return id[id.Length - 1] != '-';
        }

        private static string Suffix(int hexDigits) => Guid.NewGuid().ToString("N").Substring(0, hexDigits);
    }
}
