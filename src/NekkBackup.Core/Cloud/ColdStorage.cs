using System;
using System.Threading;
using System.Threading.Tasks;
using Amazon.S3;
using Amazon.S3.Model;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Storage;

namespace NekkBackup.Core.Cloud
{
    /// <summary>Whether an object can be read now (PRODUCT.md §3.4: Cold | Thawing | Available).</summary>
    public enum ColdState
    {
        Available,
        Thawing,
        Cold,
    }

    /// <summary>
    /// Cold-tier honesty (PRODUCT.md §3.7), shared by both restore engines: an object's state from its HEAD
    /// (storage class, x-amz-restore, Intelligent-Tiering archive status), the thaw request (RestoreObject)
    /// and the wait each tier implies.
    /// </summary>
    public static class ColdStorage
    {
        public const string BillingNote = "Retrieval and the temporary thawed copy are billed by the provider.";

        /// <summary>The thaw tiers, as plans, drill records and the cmdlets name them.</summary>
        public static readonly string[] Tiers = { "Standard", "Bulk", "Expedited" };

        /// <summary>Standard, Bulk or Expedited (any case); anything else is NekkBackup.InvalidThawTier.</summary>
        public static string NormalizeTier(string? tier) => tier switch
        {
            var t when string.Equals(t, "Bulk", StringComparison.OrdinalIgnoreCase) => "Bulk",
            var t when string.Equals(t, "Expedited", StringComparison.OrdinalIgnoreCase) => "Expedited",
            var t when string.IsNullOrEmpty(t) || string.Equals(t, "Standard", StringComparison.OrdinalIgnoreCase) => "Standard",
            _ => throw Fail.Argument("InvalidThawTier", $"Thaw tier '{tier}' must be Standard, Bulk or Expedited.", tier),
        };

        public static (TimeSpan Wait, string Text) ExpectedThaw(string storageClass, string tier)
        {
            bool deep = storageClass is "DEEP_ARCHIVE" or "DEEP_ARCHIVE_ACCESS";
            return tier switch
            {
                "Bulk" => deep ? (TimeSpan.FromHours(48), "up to 48 hours") : (TimeSpan.FromHours(12), "5 to 12 hours"),
                "Expedited" => deep ? (TimeSpan.FromHours(12), "up to 12 hours (Expedited is not offered for DEEP_ARCHIVE; Standard applies)") : (TimeSpan.FromMinutes(5), "1 to 5 minutes"),
                _ => deep ? (TimeSpan.FromHours(12), "up to 12 hours") : (TimeSpan.FromHours(5), "3 to 5 hours"),
            };
        }

        /// <summary>
        /// The state of an object from its HEAD. GLACIER and DEEP_ARCHIVE objects (and Intelligent-Tiering objects
        /// in an archive tier) are Cold until a thaw is requested, Thawing while it runs and Available while the
        /// thawed copy lasts; everything else is Available. Returns the effective class ("DEEP_ARCHIVE_ACCESS" for
        /// Intelligent-Tiering's deep archive tier) and when a thawed copy expires.
        /// </summary>
        public static (ColdState State, string StorageClass, DateTime? ThawedUntil) StateOf(TargetEntry head)
        {
            var cls = head.Attribute(S3Target.StorageClassAttribute);
            if (string.IsNullOrEmpty(cls)) cls = "STANDARD";
            var archive = head.Attribute(S3Target.ArchiveStatusAttribute);
            bool cold = IsColdClass(cls) || (!string.IsNullOrEmpty(archive) && cls == "INTELLIGENT_TIERING");
            if (!string.IsNullOrEmpty(archive) && cls == "INTELLIGENT_TIERING") cls = archive!;
            if (!cold) return (ColdState.Available, cls!, null);
            if (head.Attribute(S3Target.RestoreInProgressAttribute) == "true") return (ColdState.Thawing, cls!, null);
            if (ThawedUntil(head) is DateTime until) return (ColdState.Available, cls!, until);
            return (ColdState.Cold, cls!, null);
        }

        /// <summary>When the thawed copy of a cold object expires (null: not thawed).</summary>
        public static DateTime? ThawedUntil(TargetEntry head) =>
            DateTime.TryParse(head.Attribute(S3Target.RestoreExpirationAttribute), System.Globalization.CultureInfo.InvariantCulture,
                System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal, out var until)
                ? DateTime.SpecifyKind(until, DateTimeKind.Utc) : null;

        /// <summary>GLACIER and DEEP_ARCHIVE: readable only after a thaw.</summary>
        public static bool IsColdClass(string? storageClass) => storageClass is "GLACIER" or "DEEP_ARCHIVE";

        /// <summary>
        /// RestoreObject for one cold object. A thaw already running is not an error; an endpoint without
        /// RestoreObject is NekkBackup.CloudThawNotSupported (thaw it with the provider's own tools).
        /// </summary>
        public static async Task RequestThawAsync(CloudClient client, string key, string label, string storageClass, string tier, int days, CancellationToken ct)
        {
            bool intelligentTiering = storageClass is "ARCHIVE_ACCESS" or "DEEP_ARCHIVE_ACCESS";
            var request = new RestoreObjectRequest
            {
                BucketName = client.Target.Bucket, Key = key,
                // Intelligent-Tiering archive tiers move the object back for good: no Days, and no Expedited for deep.
                Tier = (storageClass is "DEEP_ARCHIVE" or "DEEP_ARCHIVE_ACCESS") && tier == "Expedited" ? GlacierJobTier.Standard : GlacierJobTier.FindValue(tier),
            };
            if (!intelligentTiering) request.Days = days;
            try
            {
                await client.RunAsync($"RestoreObject '{key}'", t => client.S3.RestoreObjectAsync(request, t), ct, label).ConfigureAwait(false);
            }
            catch (NekkBackupException ex) when (ex.InnerException is AmazonS3Exception s3 && s3.ErrorCode == "RestoreAlreadyInProgress")
            {
                // Asked before: the wait is already running.
            }
            catch (NekkBackupException ex) when (ex.InnerException is AmazonS3Exception s3 && (s3.ErrorCode == "NotImplemented" || (int)s3.StatusCode is 501 or 405))
            {
                throw Fail.InvalidOperation("CloudThawNotSupported",
                    $"'{label}' is in {storageClass}, but the endpoint does not implement RestoreObject (thaw); thaw it with the provider's own tools.", label, ex);
            }
        }
    }
}
