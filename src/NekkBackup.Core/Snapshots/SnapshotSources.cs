using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Sources;

namespace NekkBackup.Core.Snapshots
{
    public enum SnapshotMode
    {
        Auto,
        Required,
        None,
    }

    /// <summary>
    /// The source resolver Backup-NekkFolder uses for a -Snapshot mode. Auto/Required: each OpenAsync
    /// snapshots the volume holding the source (VSS, btrfs or LVM, picked by platform and file system)
    /// and reads the same folder inside it; disposing the view removes the snapshot. Orphans of crashed
    /// runs are removed first. Required fails with NekkBackup.SnapshotUnsupported where no snapshot can be
    /// made (<see cref="CheckRequiredAsync"/> says so before anything is created). Auto then reads the live
    /// folder: a file system no provider can snapshot (ext4 without LVM, tmpfs, a network share, FAT) is a
    /// Verbose note and a line in the run log, not a warning on every scheduled run; a provider that could
    /// snapshot it and failed (no root, VSS out of storage…) is a warning. None reads live.
    /// </summary>
    public static class SnapshotSources
    {
        /// <summary>
        /// -Snapshot Required: throws NekkBackup.SnapshotUnsupported (or why no provider can be used) for the first
        /// source that cannot be snapshotted, without creating anything — not the snapshot, not the destination.
        /// </summary>
        public static async Task CheckRequiredAsync(IEnumerable<string> sources, IRunObserver observer, CancellationToken ct, SnapshotManager? manager = null)
        {
            manager ??= SnapshotManager.CreateDefault(observer);
            foreach (var source in sources)
            {
                var kind = await manager.CheckAsync(source, SnapshotProviderKind.Auto, ct).ConfigureAwait(false);
                observer.Message(RunMessageLevel.Verbose, $"-Snapshot Required: '{source}' can be snapshotted ({kind}).");
            }
        }

        public static ISourceResolver ForMode(SnapshotMode mode, IRunObserver observer) =>
            mode == SnapshotMode.None ? LiveSourceResolver.Instance : new SnapshotSourceResolver(mode, SnapshotManager.CreateDefault(observer), observer);

        /// <summary>Same, with an explicit manager (tests, other state files).</summary>
        public static ISourceResolver ForMode(SnapshotMode mode, IRunObserver observer, SnapshotManager manager) =>
            mode == SnapshotMode.None ? LiveSourceResolver.Instance : new SnapshotSourceResolver(mode, manager, observer);
    }

    internal sealed class SnapshotSourceResolver : ISourceResolver
    {
        private readonly SnapshotMode _mode;
        private readonly SnapshotManager _manager;
        private readonly IRunObserver _observer;
        private int _orphansChecked;

        public SnapshotSourceResolver(SnapshotMode mode, SnapshotManager manager, IRunObserver observer)
        {
            _mode = mode;
            _manager = manager;
            _observer = observer;
        }

        public async Task<SourceView> OpenAsync(string sourcePath, CancellationToken cancellationToken)
        {
            if (Interlocked.Exchange(ref _orphansChecked, 1) == 0)
            {
                try
                {
                    await _manager.RemoveOrphansAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (NekkBackupException ex)
                {
                    _observer.Message(RunMessageLevel.Warning, $"Could not check for orphaned snapshots: {ex.Message}");
                }
            }

            Snapshot snap;
            try
            {
                snap = await _manager.CreateAsync(sourcePath, SnapshotProviderKind.Auto, persistent: false, cancellationToken).ConfigureAwait(false);
            }
            catch (NekkBackupException ex) when (_mode == SnapshotMode.Auto && ex.ErrorId != "NekkBackup.PathNotFound")
            {
                // Nothing here can snapshot this file system: said once per run at Verbose (and in the run log), since a
                // job every four hours would otherwise warn each time. A capable provider that failed is a warning.
                return SnapshotErrors.IsUnsupported(ex)
                    ? new SourceView(sourcePath, RunMessageLevel.Verbose, $"Reading '{sourcePath}' live, without a snapshot: {ex.Message}")
                    : new SourceView(sourcePath, RunMessageLevel.Warning,
                        $"No snapshot of '{sourcePath}' ({ex.ErrorId}: {ex.Message}); reading the live folder, so files changing during the run may be copied inconsistently.");
            }

            var manager = _manager;
            var id = snap.SnapshotId;
            return new SourceView(sourcePath, snap.SnapshotPath, id, () => manager.Release(id));
        }
    }
}
