using System;
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
    /// made; Auto then warns and reads the live folder. None reads live.
    /// </summary>
    public static class SnapshotSources
    {
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
                _observer.Message(RunMessageLevel.Warning, $"No snapshot of '{sourcePath}' ({ex.ErrorId}: {ex.Message}); reading the live folder, so files changing during the run may be copied inconsistently.");
                return new SourceView(sourcePath, sourcePath);
            }

            var manager = _manager;
            var id = snap.SnapshotId;
            return new SourceView(sourcePath, snap.SnapshotPath, id, () => manager.Release(id));
        }
    }
}
