using System;

namespace NekkBackup.Core.Storage
{
    /// <summary>One lock object read back from a target (validated; an unreadable one is reported as such).</summary>
    public sealed class LockHolder
    {
        public string Key { get; init; } = "";
        public string Id { get; init; } = "";
        public string Host { get; init; } = "";
        public int Pid { get; init; }
        public DateTime? ProcessStartedUtc { get; init; }
        public bool Exclusive { get; init; }
        public string Operation { get; init; } = "";
        public DateTime CreatedUtc { get; init; }
        public DateTime RefreshedUtc { get; init; }
        public TimeSpan Lease { get; init; }

        /// <summary>The object could not be read as a lock (damaged, foreign, or a newer format): it counts as exclusive until it is old.</summary>
        public bool Unreadable { get; init; }

        /// <summary>Null when live, else why it is stale (process ended, not refreshed since …).</summary>
        public string? StaleReason { get; init; }

        public bool IsStale => StaleReason != null;

        public string Describe() => Unreadable
            ? $"an unreadable lock object '{Key}'"
            : $"{Operation} on {Host} (pid {Pid}, {(Exclusive ? "exclusive" : "shared")}) since {CreatedUtc:u}";

        public override string ToString() => Describe();
    }
}
