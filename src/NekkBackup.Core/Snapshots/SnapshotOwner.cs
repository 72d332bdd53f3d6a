using System;
using System.Diagnostics;

namespace NekkBackup.Core.Snapshots
{
    /// <summary>Identifies the process that owns a snapshot (pid + start time, so a reused pid is not mistaken for it).</summary>
    public static class SnapshotOwner
    {
        private static readonly Lazy<(int Pid, long StartTicks)> Current = new(() =>
        {
            using var p = Process.GetCurrentProcess();
            return (p.Id, StartTicks(p));
        });

        public static int CurrentPid => Current.Value.Pid;
        public static long CurrentStartTicks => Current.Value.StartTicks;

        private static long StartTicks(Process p)
        {
            try { return p.StartTime.ToUniversalTime().Ticks; }
            catch (Exception) { return 0; }
        }

        /// <summary>Stamps the current process as owner of <paramref name="record"/>.</summary>
        public static void Stamp(SnapshotRecord record)
        {
            record.OwnerPid = CurrentPid;
            record.OwnerStartTicksUtc = CurrentStartTicks;
            record.OwnerHost = OperatingSystemInfo.HostName;
        }

        /// <summary>True when the owning process still runs (same pid and same start time within 2 s).</summary>
        public static bool IsAlive(SnapshotRecord record) => IsAlive(record.OwnerHost, record.OwnerPid, record.OwnerStartTicksUtc);

        /// <summary>True when the process (host, pid, start time) still runs; another host's processes are never judged.</summary>
        public static bool IsAlive(string? ownerHost, int ownerPid, long ownerStartTicksUtc)
        {
            if (!string.IsNullOrEmpty(ownerHost) && !string.Equals(ownerHost, OperatingSystemInfo.HostName, StringComparison.OrdinalIgnoreCase))
                return true; // a state file on a shared path: never judge another machine's processes
            if (ownerPid <= 0) return false;
            if (ownerPid == CurrentPid) return ownerStartTicksUtc == 0 || Math.Abs(ownerStartTicksUtc - CurrentStartTicks) < TimeSpan.TicksPerSecond * 2;
            try
            {
                using var p = Process.GetProcessById(ownerPid);
                if (p.HasExited) return false;
                var ticks = StartTicks(p);
                if (ticks == 0 || ownerStartTicksUtc == 0) return true; // cannot tell: keep it
                return Math.Abs(ticks - ownerStartTicksUtc) < TimeSpan.TicksPerSecond * 2;
            }
            catch (ArgumentException)
            {
                return false; // no such process
            }
            catch (InvalidOperationException)
            {
                return false;
            }
        }

        /// <summary>An orphan: left by a dead owner while being made or while run-scoped, or a failed removal.</summary>
        public static bool IsOrphan(SnapshotRecord record) =>
            record.State == SnapshotStates.ReleaseFailed
            || ((record.State == SnapshotStates.Creating || !record.Persistent) && !IsAlive(record));
    }
}
