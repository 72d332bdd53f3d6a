using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;

namespace NekkBackup.Core.Snapshots
{
    /// <summary>
    /// Creates, lists and removes the snapshots this module made, through the providers and the state
    /// file. The order is always: intent recorded → snapshot created → record completed; and on removal:
    /// snapshot removed → record dropped. A snapshot that is not in the state file is never touched.
    /// </summary>
    public sealed class SnapshotManager
    {
        private readonly Dictionary<SnapshotProviderKind, ISnapshotProvider> _providers;
        private readonly IRunObserver _observer;
        private readonly Func<bool> _isWindows;
        private readonly Func<bool> _isLinux;

        public SnapshotManager(SnapshotStateStore store, IEnumerable<ISnapshotProvider> providers, IRunObserver observer, Func<bool>? isWindows = null, Func<bool>? isLinux = null)
        {
            Store = store;
            _providers = providers.ToDictionary(p => p.Kind);
            _observer = observer;
            _isWindows = isWindows ?? (() => OperatingSystemInfo.IsWindows);
            _isLinux = isLinux ?? (() => OperatingSystemInfo.IsLinux);
        }

        /// <summary>The real providers and the state file in the data folder.</summary>
        public static SnapshotManager CreateDefault(IRunObserver observer, SnapshotStateStore? store = null, IProcessRunner? runner = null)
        {
            runner ??= ProcessRunner.Instance;
            return new SnapshotManager(store ?? SnapshotStateStore.Default(), new ISnapshotProvider[]
            {
                new VssSnapshotProvider(observer),
                new BtrfsSnapshotProvider(runner),
                new LvmSnapshotProvider(runner),
            }, observer);
        }

        public SnapshotStateStore Store { get; }

        /// <summary>
        /// Snapshots the volume holding <paramref name="path"/>. <paramref name="persistent"/>: kept until
        /// Remove-NekkSnapshot (New-NekkSnapshot); otherwise owned by this process and an orphan once it dies.
        /// </summary>
        public async Task<Snapshot> CreateAsync(string path, SnapshotProviderKind kind, bool persistent, CancellationToken ct)
        {
            if (string.IsNullOrWhiteSpace(path)) throw Fail.Argument("InvalidPath", "A path to snapshot is required.", path);
            var fullPath = Path.GetFullPath(path);
            if (!_isWindows()) fullPath = LinuxMounts.TrimSlash(fullPath);
            if (!Directory.Exists(fullPath) && !File.Exists(fullPath))
                throw Fail.NotFound("PathNotFound", $"The path '{fullPath}' does not exist.", fullPath);
            if (kind == SnapshotProviderKind.None)
                throw Fail.Argument("InvalidProvider", "Provider None makes no snapshot.", kind);

            var record = new SnapshotRecord { SourcePath = fullPath, Persistent = persistent };
            var provider = await PrepareAsync(fullPath, kind, record, ct).ConfigureAwait(false);
            return await CommitAsync(provider, record, ct).ConfigureAwait(false);
        }

        /// <summary>
        /// Whether a snapshot of the volume holding <paramref name="path"/> can be made, without making one (nothing is
        /// written, not even the state file): returns the provider that would make it, or throws what CreateAsync would
        /// (NekkBackup.SnapshotUnsupported, PathNotFound, SnapshotRequiresElevation…). Backup-NekkFolder -Snapshot
        /// Required asks this before it creates anything.
        /// </summary>
        public async Task<SnapshotProviderKind> CheckAsync(string path, SnapshotProviderKind kind, CancellationToken ct)
        {
            if (string.IsNullOrWhiteSpace(path)) throw Fail.Argument("InvalidPath", "A path to snapshot is required.", path);
            var fullPath = Path.GetFullPath(path);
            if (!_isWindows()) fullPath = LinuxMounts.TrimSlash(fullPath);
            if (!Directory.Exists(fullPath) && !File.Exists(fullPath))
                throw Fail.NotFound("PathNotFound", $"The path '{fullPath}' does not exist.", fullPath);
            var provider = await PrepareAsync(fullPath, kind, new SnapshotRecord { SourcePath = fullPath }, ct).ConfigureAwait(false);
            return provider.Kind;
        }

        /// <summary>
        /// Block-level snapshot of a device or volume (Ghost images): Linux an LVM logical volume
        /// (/dev/vg/lv, /dev/mapper/vg-lv, /dev/dm-N), Windows a volume (\\.\C:, C:, \\?\Volume{GUID}). Not
        /// mounted; the returned SnapshotPath is the snapshot's device (/dev/vg/nekk_…, or the shadow's
        /// DeviceObject without a trailing backslash). Recorded in the state file before it is created, like
        /// every snapshot. btrfs is file-level only and any other device has no block snapshot here:
        /// NekkBackup.SnapshotUnsupported.
        /// </summary>
        public async Task<Snapshot> CreateBlockAsync(string device, SnapshotProviderKind kind, bool persistent, CancellationToken ct)
        {
            if (string.IsNullOrWhiteSpace(device)) throw Fail.Argument("SourceMissing", "A device or volume to snapshot is required.", device);
            if (kind == SnapshotProviderKind.None)
                throw Fail.Argument("InvalidProvider", "Provider None makes no snapshot.", kind);
            if (kind == SnapshotProviderKind.Btrfs)
                throw SnapshotErrors.Unsupported($"btrfs snapshots are file-level (subvolumes); '{device}' cannot be imaged from one.", device);
            device = device.Trim();
            var record = new SnapshotRecord { SourcePath = device, Persistent = persistent };
            IBlockSnapshotProvider provider;
            if (kind != SnapshotProviderKind.Auto)
            {
                provider = Provider(kind) as IBlockSnapshotProvider ?? throw SnapshotErrors.Unsupported($"The {kind} provider cannot snapshot a block device.", device);
                await provider.PrepareDeviceAsync(device, record, ct).ConfigureAwait(false);
            }
            else
            {
                var k = _isWindows() ? SnapshotProviderKind.Vss : _isLinux() ? SnapshotProviderKind.Lvm : SnapshotProviderKind.None;
                if (k == SnapshotProviderKind.None || !_providers.TryGetValue(k, out var p) || !(p is IBlockSnapshotProvider bp))
                    throw SnapshotErrors.Unsupported($"No block snapshot provider exists on this platform for '{device}'.", device);
                provider = bp;
                try
                {
                    await provider.PrepareDeviceAsync(device, record, ct).ConfigureAwait(false);
                }
                catch (NekkBackupException ex) when (ex.Kind == FailureKind.NotSupported)
                {
                    throw SnapshotErrors.Unsupported($"No snapshot provider can snapshot the device '{device}'. {k}: {ex.Message}", device);
                }
            }
            record.Data[SnapshotRecord.ModeKey] = SnapshotRecord.BlockMode;
            return await CommitAsync(provider, record, ct).ConfigureAwait(false);
        }

        /// <summary>Intent recorded → provider creates → record completed (or undone on failure/cancel).</summary>
        private async Task<Snapshot> CommitAsync(ISnapshotProvider provider, SnapshotRecord record, CancellationToken ct)
        {
            var fullPath = record.SourcePath;
            record.Provider = provider.Kind.ToString();
            record.CreatedUtc = DateTime.UtcNow;
            record.State = SnapshotStates.Creating;
            SnapshotOwner.Stamp(record);
            Store.Add(record); // the intent, before anything exists

            var journal = new Journal(Store);
            try
            {
                await provider.CreateAsync(record, journal, ct).ConfigureAwait(false);
                record.State = SnapshotStates.Ready;
                Store.Update(record.SnapshotId, record);
                _observer.Message(RunMessageLevel.Verbose, $"Snapshot {record.SnapshotId} of {record.Volume} taken; '{fullPath}' reads from '{record.SnapshotPath}'.");
                return record.ToSnapshot();
            }
            catch (Exception ex)
            {
                await UndoAsync(provider, record, ex).ConfigureAwait(false);
                throw;
            }
        }

        private async Task<ISnapshotProvider> PrepareAsync(string fullPath, SnapshotProviderKind kind, SnapshotRecord record, CancellationToken ct)
        {
            if (kind != SnapshotProviderKind.Auto)
            {
                var p = Provider(kind);
                await p.PrepareAsync(fullPath, record, ct).ConfigureAwait(false);
                return p;
            }
            IEnumerable<SnapshotProviderKind> order =
                _isWindows() ? new[] { SnapshotProviderKind.Vss }
                : _isLinux() ? new[] { SnapshotProviderKind.Btrfs, SnapshotProviderKind.Lvm }
                : Array.Empty<SnapshotProviderKind>();
            var reasons = new List<string>();
            foreach (var k in order)
            {
                if (!_providers.TryGetValue(k, out var p)) continue;
                try
                {
                    await p.PrepareAsync(fullPath, record, ct).ConfigureAwait(false);
                    return p;
                }
                catch (NekkBackupException ex) when (ex.Kind == FailureKind.NotSupported)
                {
                    reasons.Add(k + ": " + ex.Message);
                    record.Data.Clear();
                }
            }
            throw SnapshotErrors.Unsupported(
                reasons.Count == 0 ? $"No snapshot provider exists on this platform for '{fullPath}'."
                : $"No snapshot provider can snapshot '{fullPath}'. " + string.Join(" ", reasons), fullPath);
        }

        private ISnapshotProvider Provider(SnapshotProviderKind kind) =>
            _providers.TryGetValue(kind, out var p) ? p : throw SnapshotErrors.Unsupported($"The {kind} snapshot provider is not available.", kind);

        private ISnapshotProvider? ProviderFor(SnapshotRecord r) =>
            Enum.TryParse<SnapshotProviderKind>(r.Provider, out var k) && _providers.TryGetValue(k, out var p) ? p : null;

        /// <summary>After a failed or cancelled creation: remove whatever was made, then the record.</summary>
        private async Task UndoAsync(ISnapshotProvider provider, SnapshotRecord record, Exception cause)
        {
            try
            {
                if (await provider.ExistsAsync(record, CancellationToken.None).ConfigureAwait(false) != false)
                    await provider.DeleteAsync(record, CancellationToken.None).ConfigureAwait(false);
                Store.Remove(record.SnapshotId);
            }
            catch (Exception ex) when (!(ex is OutOfMemoryException))
            {
                record.State = SnapshotStates.ReleaseFailed;
                try { Store.Update(record.SnapshotId, record); } catch (Exception) { }
                _observer.Message(RunMessageLevel.Warning, $"Could not clean up snapshot {record.SnapshotId} after '{cause.Message}': {ex.Message}. The next run retries.");
            }
        }

        /// <summary>Get-NekkSnapshot: the snapshots this module made and has not removed.</summary>
        public IReadOnlyList<Snapshot> List() =>
            Store.Load().Where(r => r.State != SnapshotStates.Creating || SnapshotOwner.IsAlive(r)).OrderBy(r => r.CreatedUtc).Select(r => r.ToSnapshot()).ToList();

        public IReadOnlyList<SnapshotRecord> Records() => Store.Load();

        /// <summary>Remove-NekkSnapshot -SnapshotId: removes one recorded snapshot (NekkBackup.SnapshotNotFound when not ours).</summary>
        public async Task RemoveAsync(string snapshotId, CancellationToken ct)
        {
            var record = Store.Load().FirstOrDefault(r => string.Equals(r.SnapshotId, snapshotId, StringComparison.OrdinalIgnoreCase))
                ?? throw Fail.NotFound("SnapshotNotFound", $"No snapshot '{snapshotId}' made by NekkBackup is recorded on this machine (Get-NekkSnapshot lists them).", snapshotId);
            await RemoveRecordAsync(record, ct).ConfigureAwait(false);
        }

        private async Task RemoveRecordAsync(SnapshotRecord record, CancellationToken ct)
        {
            var provider = ProviderFor(record)
                ?? throw SnapshotErrors.Unsupported($"Snapshot {record.SnapshotId} was made by the {record.Provider} provider, which is not available here.", record.SnapshotId);
            if (await provider.ExistsAsync(record, ct).ConfigureAwait(false) != false)
                await provider.DeleteAsync(record, ct).ConfigureAwait(false);
            Store.Remove(record.SnapshotId);
            _observer.Message(RunMessageLevel.Verbose, $"Snapshot {record.SnapshotId} removed.");
        }

        /// <summary>
        /// Releases a run-owned snapshot (SourceView.Dispose). Never throws: on failure the record is
        /// marked ReleaseFailed so the next run (or Remove-NekkSnapshot -Orphaned) removes it.
        /// </summary>
        public void Release(string snapshotId)
        {
            try
            {
                RemoveAsync(snapshotId, CancellationToken.None).ConfigureAwait(false).GetAwaiter().GetResult();
            }
            catch (Exception ex) when (!(ex is OutOfMemoryException))
            {
                try
                {
                    var r = Store.Load().FirstOrDefault(x => x.SnapshotId == snapshotId);
                    if (r != null)
                    {
                        r.State = SnapshotStates.ReleaseFailed;
                        Store.Update(r.SnapshotId, r);
                    }
                }
                catch (Exception) { }
                _observer.Message(RunMessageLevel.Warning, $"Could not remove snapshot {snapshotId}: {ex.Message}. The next run removes it.");
            }
        }

        /// <summary>The recorded snapshots whose owner is gone (see <see cref="SnapshotOwner.IsOrphan"/>).</summary>
        public IReadOnlyList<SnapshotRecord> FindOrphans() => Store.Load().Where(SnapshotOwner.IsOrphan).ToList();

        /// <summary>Removes orphans left by crashed runs; returns the ids removed. Failures are warnings.</summary>
        public async Task<IReadOnlyList<string>> RemoveOrphansAsync(CancellationToken ct, Func<SnapshotRecord, bool>? shouldRemove = null)
        {
            var removed = new List<string>();
            foreach (var r in FindOrphans())
            {
                ct.ThrowIfCancellationRequested();
                if (shouldRemove != null && !shouldRemove(r)) continue;
                try
                {
                    var provider = ProviderFor(r);
                    if (provider == null) continue;
                    var exists = await provider.ExistsAsync(r, ct).ConfigureAwait(false);
                    if (exists == null && r.SnapshotId.StartsWith(VssSnapshotProvider.PendingPrefix, StringComparison.Ordinal))
                    {
                        Store.Remove(r.SnapshotId);
                        _observer.Message(RunMessageLevel.Warning, $"A run crashed while creating a shadow copy of {r.Volume} before VSS returned its id; if 'vssadmin list shadows' shows an unexpected ClientAccessible shadow from {r.CreatedUtc:u}, delete it by hand.");
                        continue;
                    }
                    if (exists == null) continue; // cannot be checked on this platform
                    if (exists == true) await provider.DeleteAsync(r, ct).ConfigureAwait(false);
                    Store.Remove(r.SnapshotId);
                    removed.Add(r.SnapshotId);
                    _observer.Message(RunMessageLevel.Warning, $"Removed orphaned snapshot {r.SnapshotId} of {r.Volume}, left by process {r.OwnerPid} on {r.CreatedUtc:u}.");
                }
                catch (NekkBackupException ex)
                {
                    _observer.Message(RunMessageLevel.Warning, $"Could not remove orphaned snapshot {r.SnapshotId}: {ex.Message}");
                }
            }
            return removed;
        }

        private sealed class Journal : ISnapshotJournal
        {
            private readonly SnapshotStateStore _store;
            public Journal(SnapshotStateStore store) => _store = store;
            public void Update(string previousId, SnapshotRecord record) => _store.Update(previousId, record);
        }
    }
}
