using System;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Storage;

namespace NekkBackup.Core.Cloud
{
    /// <summary>
    /// The bucket lock of one host: <see cref="TargetLock"/> objects under &lt;Prefix&gt;/&lt;host&gt;/locks/. Uploads hold it
    /// SHARED from before they read the previous manifest until their manifest is written, so any number of them run
    /// side by side; a prune (<see cref="BucketPrune"/>: Remove-NekkCloudBackup -Retention) holds it EXCLUSIVE, so it
    /// never runs while an upload is in flight and can never remove an object a manifest about to be written names.
    /// A holder that loses its lock stops before it commits (NekkBackup.LockLost); a conflicting live holder is
    /// NekkBackup.CloudLocked, naming it.
    /// </summary>
    internal static class CloudLocks
    {
        public const string LockedReason = "CloudLocked";
        public const string Prefix = "locks/";

        /// <summary>How long an upload waits for a prune by default (a prune never waits for uploads: it runs next time).</summary>
        public static readonly TimeSpan UploadWait = TimeSpan.FromMinutes(30);

        public static LockOptions OptionsFor(CloudTarget target, LockMode mode)
        {
            var t = target.Lock ?? new LockOptions { WaitTimeout = UploadWait };
            var o = new LockOptions
            {
                Prefix = Prefix, Lease = t.Lease, RefreshInterval = t.RefreshInterval, ClockSkew = t.ClockSkew,
                WaitTimeout = mode == LockMode.Shared ? t.WaitTimeout : TimeSpan.Zero,
                LockedReason = LockedReason,
            };
            o.Validate();
            return o;
        }

        public static async Task<TargetLock> AcquireAsync(CloudClient client, LockMode mode, string operation, IRunObserver observer, CancellationToken ct)
        {
            try
            {
                return await TargetLock.AcquireAsync(client.Objects, mode, operation, OptionsFor(client.Target, mode), observer, ct).ConfigureAwait(false);
            }
            catch (TargetException ex)
            {
                // Also the bucket check of an upload (its first request lists the locks).
                throw CloudErrors.Map(ex, CloudClient.BucketCheck + $" and the bucket lock under '{client.Target.HostRoot}{Prefix}'", client.Target, client.Target.Bucket);
            }
        }

        /// <summary>Right before a commit: throws NekkBackup.LockLost when the lock was lost (mapped like any S3 failure otherwise).</summary>
        public static async Task EnsureHeldAsync(TargetLock held, CloudClient client, CancellationToken ct)
        {
            try
            {
                await held.EnsureHeldAsync(ct).ConfigureAwait(false);
            }
            catch (TargetException ex)
            {
                throw CloudErrors.Map(ex, "checking the bucket lock", client.Target, client.Target.Bucket);
            }
        }

        /// <summary>A run cancelled because its lock was lost (not by the caller) reports LockLost, never a bare cancellation.</summary>
        public static NekkBackupException? LostInstead(TargetLock held, OperationCanceledException _, CancellationToken callerToken) =>
            held.IsLost && !callerToken.IsCancellationRequested
                ? new NekkBackupException("LockLost", FailureKind.OperationStopped,
                    $"The bucket lock was lost ({held.LostReason}); nothing more was committed. Run the operation again.", held.Key)
                : null;
    }
}
