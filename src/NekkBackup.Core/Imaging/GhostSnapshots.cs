using System;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Snapshots;

namespace NekkBackup.Core.Imaging
{
    /// <summary>
    /// The snapshot hook New-NekkGhostImage passes for a -Snapshot mode. For a block device or volume it
    /// takes a block-level snapshot through the snapshot layer (<see cref="SnapshotManager.CreateBlockAsync"/>:
    /// an LVM snapshot LV on Linux, a VSS shadow on Windows, recorded in the snapshot state file before it
    /// is made), hands the capture the snapshot's device, and removes the snapshot when the capture ends
    /// (success, error or Ctrl+C). Orphans of crashed runs are removed first. Auto: where no snapshot can
    /// be made (btrfs, a plain partition or loop device, no privileges) it warns and the live device is
    /// imaged (crash-consistent); Required: fails instead (NekkBackup.SnapshotUnsupported when no provider
    /// can snapshot the device). None: no hook. A disk-image file needs no snapshot.
    /// </summary>
    public static class GhostSnapshots
    {
        public static Func<string, CancellationToken, Task<(string devicePath, IDisposable release)>>? ForMode(SnapshotMode mode, IRunObserver observer) =>
            ForMode(mode, observer, () => SnapshotManager.CreateDefault(observer));

        /// <summary>Same, with an explicit manager (tests, other state files) and device test.</summary>
        /// <param name="isDevice">Whether a source is a device to snapshot (default: a Linux block device or a Windows volume path).</param>
        public static Func<string, CancellationToken, Task<(string devicePath, IDisposable release)>>? ForMode(SnapshotMode mode, IRunObserver observer,
            Func<SnapshotManager> manager, Func<string, bool>? isDevice = null)
        {
            if (mode == SnapshotMode.None) return null;
            isDevice ??= IsDevice;
            return async (source, ct) =>
            {
                if (!isDevice(source)) return (source, NoRelease.Instance); // an image file (or a missing one: reported later) needs no snapshot
                if (IsShadowDevice(source))
                {
                    observer.Message(RunMessageLevel.Verbose, $"'{source}' is already a shadow copy; it is imaged as it is.");
                    return (source, NoRelease.Instance);
                }
                var mgr = manager();
                try
                {
                    await mgr.RemoveOrphansAsync(ct).ConfigureAwait(false);
                }
                catch (NekkBackupException ex)
                {
                    observer.Message(RunMessageLevel.Warning, $"Could not check for orphaned snapshots: {ex.Message}");
                }

                Snapshot snap;
                try
                {
                    snap = await mgr.CreateBlockAsync(source, SnapshotProviderKind.Auto, persistent: false, ct).ConfigureAwait(false);
                }
                catch (NekkBackupException ex) when (mode == SnapshotMode.Auto)
                {
                    observer.Message(RunMessageLevel.Warning,
                        $"No snapshot of '{source}' ({ex.ErrorId}: {ex.Message}); imaging the live device, so the image is only crash-consistent (like pulling the plug) and blocks written during the capture may not match each other.");
                    return (source, NoRelease.Instance);
                }
                observer.Message(RunMessageLevel.Verbose, $"Imaging '{source}' from its snapshot {snap.SnapshotId} ({snap.SnapshotPath}).");
                return (snap.SnapshotPath, new Release(mgr, snap.SnapshotId));
            };
        }

        /// <summary>A Linux block device, or (on Windows) a volume / device path rather than an image file.</summary>
        public static bool IsDevice(string source) =>
            LinuxBlockDevice.IsBlockDevice(source)
            || (OperatingSystemInfo.IsWindows && WindowsDevicePath.ToDevicePath(source) != null);

        /// <summary>\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopyN: already a point-in-time copy.</summary>
        public static bool IsShadowDevice(string source) =>
            source.IndexOf(@"\Device\HarddiskVolumeShadowCopy", StringComparison.OrdinalIgnoreCase) >= 0;

        /// <summary>Removes the snapshot once (never throws; a failed removal is left for the next run's orphan cleanup).</summary>
        private sealed class Release : IDisposable
        {
            private SnapshotManager? _manager;
            private readonly string _id;

            public Release(SnapshotManager manager, string id)
            {
                _manager = manager;
                _id = id;
            }

            public void Dispose() => Interlocked.Exchange(ref _manager, null)?.Release(_id);
        }

        private sealed class NoRelease : IDisposable
        {
            public static readonly NoRelease Instance = new();
            public void Dispose() { }
        }
    }
}
