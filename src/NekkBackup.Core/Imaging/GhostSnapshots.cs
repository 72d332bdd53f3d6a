using System;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Snapshots;

namespace NekkBackup.Core.Imaging
{
    /// <summary>
    /// The snapshot hook New-NekkGhostImage passes for a -Snapshot mode. A disk-image file needs none.
    /// PLACEHOLDER until block-level providers (LVM snapshot LV, VSS shadow DeviceObject) are wired:
    /// Auto reads the live volume with a warning (crash-consistent), Required fails, None reads live.
    /// </summary>
    public static class GhostSnapshots
    {
        /// <summary>A provider the lead can register: source volume → (snapshot device, release).</summary>
        public static Func<string, CancellationToken, Task<(string devicePath, IDisposable release)>>? Provider { get; set; }

        public static Func<string, CancellationToken, Task<(string devicePath, IDisposable release)>>? ForMode(SnapshotMode mode, IRunObserver observer)
        {
            if (mode == SnapshotMode.None) return null;
            return async (source, ct) =>
            {
                bool device = LinuxBlockDevice.IsBlockDevice(source)
                    || (OperatingSystemInfo.IsWindows && WindowsDevicePath.ToDevicePath(source) != null);
                if (!device) return (source, NoRelease.Instance); // an image file (or a missing one: reported later) needs no snapshot
                var provider = Provider;
                if (provider != null) return await provider(source, ct).ConfigureAwait(false);
                if (mode == SnapshotMode.Required)
                    throw new NekkBackupException("SnapshotUnsupported", FailureKind.NotSupported, $"No snapshot provider can snapshot the volume '{source}'.", source);
                observer.Message(RunMessageLevel.Warning, $"No snapshot provider for '{source}'; imaging the live volume (crash-consistent, like pulling the plug).");
                return (source, NoRelease.Instance);
            };
        }

        private sealed class NoRelease : IDisposable
        {
            public static readonly NoRelease Instance = new();
            public void Dispose() { }
        }
    }
}
