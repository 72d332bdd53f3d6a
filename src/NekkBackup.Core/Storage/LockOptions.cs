using System;
using System.Collections;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Primitives;

namespace NekkBackup.Core.Storage
{
    public enum LockMode
    {
        /// <summary>Many holders at once (captures, restores, uploads); refused while an exclusive lock is live.</summary>
        Shared,

        /// <summary>One holder (a folder run's writer, prune, retention); refused while any other lock is live.</summary>
        Exclusive,
    }

    /// <summary>Timing and layout of a <see cref="TargetLock"/>. The defaults match the legs' locks (refresh every minute, stale after 30).</summary>
    public sealed class LockOptions
    {
        public static readonly string[] Keys = { "Prefix", "Lease", "RefreshInterval", "ClockSkew", "WaitTimeout", "ExclusiveToleratesShared" };

        /// <summary>Where lock objects live in the target ("locks/").</summary>
        public string Prefix { get; init; } = "locks/";

        /// <summary>A lock not refreshed for this long (plus <see cref="ClockSkew"/>) is stale: others may remove it and take over.</summary>
        public TimeSpan Lease { get; init; } = TimeSpan.FromMinutes(30);

        public TimeSpan RefreshInterval { get; init; } = TimeSpan.FromMinutes(1);

        /// <summary>
        /// How far two hosts' clocks may disagree. A holder that could not refresh for Lease − ClockSkew counts its
        /// lock as lost (others may already call it stale); readers add it before calling a lock stale.
        /// </summary>
        public TimeSpan ClockSkew { get; init; } = TimeSpan.FromMinutes(5);

        /// <summary>How long an acquire keeps trying while another holder is live (0: fail at once).</summary>
        public TimeSpan WaitTimeout { get; init; } = TimeSpan.Zero;

        /// <summary>
        /// Exclusive locks do not wait for live SHARED ones; the holder sees them in <see cref="TargetLock.SharedHolders"/>
        /// and must not destroy what they may use (Ghost: remove images, defer garbage collection while a capture runs).
        /// </summary>
        public bool ExclusiveToleratesShared { get; init; }

        /// <summary>Error reason when the lock is held elsewhere (legs keep their documented ids: DestinationLocked, RepositoryLocked).</summary>
        public string LockedReason { get; init; } = "TargetLocked";

        /// <summary>Error reason of <see cref="TargetLock.EnsureHeldAsync"/> when the lock was lost.</summary>
        public string LostReason { get; init; } = "LockLost";

        public static LockOptions FromDictionary(IDictionary? data)
        {
            var r = new OptionsReader(data, "lock", "InvalidLockOptions", Keys);
            var d = new LockOptions();
            var o = new LockOptions
            {
                Prefix = r.String("Prefix") ?? d.Prefix,
                Lease = r.Duration("Lease", TimeSpan.FromSeconds(1), TimeSpan.FromDays(1)) ?? d.Lease,
                RefreshInterval = r.Duration("RefreshInterval", TimeSpan.FromMilliseconds(10), TimeSpan.FromHours(1)) ?? d.RefreshInterval,
                ClockSkew = r.Duration("ClockSkew", TimeSpan.Zero, TimeSpan.FromHours(1)) ?? d.ClockSkew,
                WaitTimeout = r.Duration("WaitTimeout", TimeSpan.Zero, TimeSpan.FromDays(1)) ?? d.WaitTimeout,
                ExclusiveToleratesShared = r.Bool("ExclusiveToleratesShared") ?? false,
            };
            o.Validate();
            return o;
        }

        /// <summary>The holder must get at least two refreshes in before it would count its own lock as lost.</summary>
        public void Validate()
        {
            if (string.IsNullOrEmpty(Prefix) || Prefix[Prefix.Length - 1] != '/' || StorageKeys.Problem(Prefix.TrimEnd('/'), new TargetCapabilities()) != null)
                throw Error("Prefix", $"'{Prefix}' must be a valid key folder ending with '/'");
            if (Lease <= TimeSpan.Zero || RefreshInterval <= TimeSpan.Zero || ClockSkew < TimeSpan.Zero || WaitTimeout < TimeSpan.Zero)
                throw Error("Lease", "Lease and RefreshInterval must be positive, ClockSkew and WaitTimeout not negative");
            if (Lease - ClockSkew < RefreshInterval + RefreshInterval)
                throw Error("RefreshInterval", $"({RefreshInterval}) must fit twice into Lease − ClockSkew ({Lease} − {ClockSkew})");
        }

        private static NekkBackupException Error(string key, string problem) =>
            new("InvalidLockOptions", FailureKind.InvalidArgument, $"The lock option '{key}' {problem}.", key);
    }
}
