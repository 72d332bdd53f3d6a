using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Observability;

namespace NekkBackup.Core.Snapshots
{
    /// <summary>
    /// What the snapshot cmdlets call: the default manager (real providers, state file in the data folder)
    /// with one structured run log per state-changing call.
    /// </summary>
    public static class SnapshotService
    {
        /// <summary>New-NekkSnapshot: a persistent snapshot (kept until removed).</summary>
        public static async Task<Snapshot> CreateAsync(string path, SnapshotProviderKind provider, IRunObserver observer, CancellationToken ct)
        {
            using var log = RunLog.Open(RunLog.NewRunId(), "New-NekkSnapshot");
            var obs = log.Wrap(observer);
            log.Logger.Information("Snapshot of {Path} with provider {Provider}", path, provider);
            var snap = await SnapshotManager.CreateDefault(obs).CreateAsync(path, provider, persistent: true, ct).ConfigureAwait(false);
            log.Logger.Information("Snapshot {SnapshotId} of {Volume} at {SnapshotPath}", snap.SnapshotId, snap.Volume, snap.SnapshotPath);
            return snap;
        }

        /// <summary>Get-NekkSnapshot.</summary>
        public static IReadOnlyList<Snapshot> List() => SnapshotManager.CreateDefault(NullRunObserver.Instance).List();

        /// <summary>The raw records (for Remove-NekkSnapshot's confirmation text).</summary>
        public static IReadOnlyList<SnapshotRecord> Records() => SnapshotManager.CreateDefault(NullRunObserver.Instance).Records();

        public static IReadOnlyList<SnapshotRecord> FindOrphans() => SnapshotManager.CreateDefault(NullRunObserver.Instance).FindOrphans();

        /// <summary>Remove-NekkSnapshot -SnapshotId.</summary>
        public static async Task RemoveAsync(string snapshotId, IRunObserver observer, CancellationToken ct)
        {
            using var log = RunLog.Open(RunLog.NewRunId(), "Remove-NekkSnapshot");
            log.Logger.Information("Removing snapshot {SnapshotId}", snapshotId);
            await SnapshotManager.CreateDefault(log.Wrap(observer)).RemoveAsync(snapshotId, ct).ConfigureAwait(false);
        }

        /// <summary>Remove-NekkSnapshot -Orphaned (only the approved ids).</summary>
        public static async Task<IReadOnlyList<string>> RemoveOrphansAsync(Func<SnapshotRecord, bool> approved, IRunObserver observer, CancellationToken ct)
        {
            using var log = RunLog.Open(RunLog.NewRunId(), "Remove-NekkSnapshot");
            var removed = await SnapshotManager.CreateDefault(log.Wrap(observer)).RemoveOrphansAsync(ct, approved).ConfigureAwait(false);
            log.Logger.Information("Removed {Count} orphaned snapshot(s)", removed.Count);
            return removed;
        }
    }
}
