using System;
using System.Globalization;
using NekkBackup.Core.Storage;

namespace NekkBackup.Core.Cloud
{
    /// <summary>
    /// The rules that keep an object retention would drop (PRODUCT.md §3.4, §3.7): never one younger than the minimum
    /// age (24 h: an upload may be writing the manifest that names it), never one under Object Lock (a retain-until
    /// date still ahead, or a legal hold), never one in a class with a minimum storage duration before that duration
    /// has passed unless forced (the provider bills the whole duration anyway, and cold-tier honesty says so).
    /// Pure functions of the listing/HEAD and a clock, so they are tested without a store.
    /// </summary>
    public static class PruneSafety
    {
        /// <summary>The real minimum age of anything a prune deletes.</summary>
        public static readonly TimeSpan MinimumAge = TimeSpan.FromHours(24);

        public const string Young = "Young";
        public const string ObjectLock = "ObjectLock";
        public const string LegalHold = "LegalHold";
        public const string MinimumStorageDuration = "MinimumStorageDuration";

        /// <summary>
        /// The minimum storage duration a provider bills for a storage class (AWS: GLACIER and GLACIER_IR 90 days,
        /// DEEP_ARCHIVE 180 days, STANDARD_IA and ONEZONE_IA 30 days); null when the class has none.
        /// </summary>
        public static TimeSpan? MinimumStorage(string? storageClass) => storageClass switch
        {
            "DEEP_ARCHIVE" => TimeSpan.FromDays(180),
            "GLACIER" or "GLACIER_IR" => TimeSpan.FromDays(90),
            "STANDARD_IA" or "ONEZONE_IA" => TimeSpan.FromDays(30),
            _ => null,
        };

        /// <summary>Why an object last modified at <paramref name="lastModifiedUtc"/> is too young to delete, or null.</summary>
        public static (string Reason, string Detail)? TooYoung(DateTime lastModifiedUtc, DateTime nowUtc, TimeSpan minimumAge)
        {
            var age = nowUtc - lastModifiedUtc;
            if (age >= minimumAge) return null;
            return (Young, $"written {Hours(age)} ago, less than the {Hours(minimumAge)} a prune waits (an upload may still be writing the manifest that names it)");
        }

        /// <summary>
        /// Why the store's HEAD of an object forbids deleting it now: Object Lock retention or legal hold (never
        /// overridden), or a minimum storage duration not yet reached (overridden by <paramref name="force"/>). Null: it may go.
        /// </summary>
        public static (string Reason, string Detail)? Forbidden(TargetEntry head, DateTime nowUtc, bool force)
        {
            if (string.Equals(head.Attribute(S3Target.LegalHoldAttribute), "ON", StringComparison.OrdinalIgnoreCase))
                return (LegalHold, "under an Object Lock legal hold");
            var until = head.Attribute(S3Target.ObjectLockRetainUntilAttribute);
            if (until != null)
            {
                if (!DateTime.TryParse(until, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var u))
                    return (ObjectLock, $"under Object Lock with a retain-until date that cannot be read ('{Clip(until)}')");
                if (u > nowUtc)
                    return (ObjectLock, $"under Object Lock ({head.Attribute(S3Target.ObjectLockModeAttribute) ?? "retention"}) until {u:yyyy-MM-dd HH:mm} UTC");
            }
            if (force) return null;
            var cls = head.Attribute(S3Target.StorageClassAttribute);
            if (MinimumStorage(cls) is TimeSpan min && nowUtc - head.LastModifiedUtc < min)
                return (MinimumStorageDuration,
                    $"in {cls}, whose minimum storage duration ({min.TotalDays:0} days) ends {(head.LastModifiedUtc + min):yyyy-MM-dd}; deleting earlier is billed anyway (-Force deletes it)");
            return null;
        }

        private static string Hours(TimeSpan t) =>
            t.TotalHours >= 1 ? $"{Math.Floor(t.TotalHours).ToString(CultureInfo.InvariantCulture)} h" : $"{Math.Max(0, Math.Floor(t.TotalMinutes)).ToString(CultureInfo.InvariantCulture)} min";

        private static string Clip(string s) => s.Length <= 40 ? s : s.Substring(0, 40) + "…";
    }
}
