using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Resilience;

namespace NekkBackup.Core.Snapshots
{
    /// <summary>
    /// Windows: a ClientAccessible (read-only, persistent, writer-less: crash-consistent) shadow copy
    /// through CIM Win32_ShadowCopy.Create, read through its DeviceObject path, removed by deleting the
    /// instance. Shadows are persistent, so the state file is what makes a crash recoverable. A source that is a
    /// volume's root maps to the shadow's root, which .NET cannot enumerate: it is read through a directory symlink
    /// (in the data folder's shadow-links\), made after the shadow and removed before it.
    /// Block mode (Ghost images): a shadow of a volume named as a device (\\.\C:, C:, \\?\Volume{GUID});
    /// the shadow's DeviceObject is returned as-is (no trailing backslash: it opens the volume, not its root).
    /// </summary>
    public sealed class VssSnapshotProvider : IBlockSnapshotProvider
    {
        public const string Context = "ClientAccessible";
        public const string PendingPrefix = "Vss:pending-";

        private readonly Func<ICimShadowCopyApi> _cim;
        private readonly IWindowsVolumeApi _volumes;
        private readonly IRunObserver _observer;
        private readonly Func<bool> _isElevated;
        private readonly Func<bool> _isWindows;
        private readonly Func<VssHostCheck.Result> _host;
        private readonly NekkResilience.RetryPreset _retry;
        private readonly string? _linkDirectory;

        /// <summary>Where shadow-root links live (inside the locked-down data folder).</summary>
        public string LinkDirectory => _linkDirectory ?? Path.Combine(OperatingSystemInfo.DataDirectory, "shadow-links");

        /// <summary>Data key of the directory link a shadow root is read through.</summary>
        public const string LinkKey = "Link";

        /// <summary>Back-off when another shadow copy is in progress (code 9).</summary>
        public static readonly NekkResilience.RetryPreset InProgressRetry = new(5, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30));

        public VssSnapshotProvider(IRunObserver observer)
            : this(() => new CimShadowCopyApi(), WindowsVolumeApi.Instance, observer, () => OperatingSystemInfo.IsElevated, () => OperatingSystemInfo.IsWindows,
                   () => VssHostCheck.Evaluate(Environment.Is64BitOperatingSystem, Environment.Is64BitProcess), InProgressRetry)
        {
        }

        public VssSnapshotProvider(Func<ICimShadowCopyApi> cim, IWindowsVolumeApi volumes, IRunObserver observer, Func<bool> isElevated, Func<bool> isWindows,
            Func<VssHostCheck.Result> host, NekkResilience.RetryPreset retry, string? linkDirectory = null)
        {
            _linkDirectory = linkDirectory;
            _cim = cim;
            _volumes = volumes;
            _observer = observer;
            _isElevated = isElevated;
            _isWindows = isWindows;
            _host = host;
            _retry = retry;
        }

        public SnapshotProviderKind Kind => SnapshotProviderKind.Vss;

        public Task PrepareDeviceAsync(string device, SnapshotRecord record, CancellationToken ct)
        {
            if (!_isWindows()) throw SnapshotErrors.Unsupported("VSS shadow copies exist only on Windows.", device);
            var volume = VssPaths.VolumeForDevice(device)
                ?? throw SnapshotErrors.Unsupported($@"'{device}' is not a volume VSS can shadow-copy (name it as C:, \\.\C: or \\?\Volume{{GUID}}).", device);
            CheckHost(device);
            var guid = VssPaths.IsDriveRoot(volume) ? _volumes.GetVolumeGuidPath(volume) : null;
            record.SnapshotId = PendingPrefix + Guid.NewGuid().ToString("N");
            record.Volume = VssPaths.WithTrailingBackslash(guid ?? volume);
            record.Data[SnapshotRecord.ModeKey] = SnapshotRecord.BlockMode;
            record.Data["MountPoint"] = volume;
            return Task.CompletedTask;
        }

        private void CheckHost(string target)
        {
            if (!_isElevated())
                throw new NekkBackupException("SnapshotRequiresElevation", FailureKind.PermissionDenied,
                    "VSS shadow copies need an elevated session (Administrators, Backup Operators or SYSTEM). Run PowerShell as administrator.", target);
            if (_host() == VssHostCheck.Result.Wow64) _observer.Message(RunMessageLevel.Verbose, VssHostCheck.Wow64Note);
        }

        public Task PrepareAsync(string fullPath, SnapshotRecord record, CancellationToken ct)
        {
            if (!_isWindows()) throw SnapshotErrors.Unsupported("VSS shadow copies exist only on Windows.", fullPath);
            if (VssPaths.IsUnc(fullPath))
                throw SnapshotErrors.Unsupported($"'{fullPath}' is a network path; only local volumes can be shadow-copied (snapshot it on the NAS itself).", fullPath);
            CheckHost(fullPath);

            var mountPoint = _volumes.GetVolumePathName(fullPath);
            var volume = VssPaths.WithTrailingBackslash(_volumes.GetVolumeGuidPath(mountPoint) ?? mountPoint);
            record.SnapshotId = PendingPrefix + Guid.NewGuid().ToString("N");
            record.Volume = volume;
            record.Data["MountPoint"] = mountPoint;
            record.Data["Relative"] = VssPaths.RelativeToMountPoint(mountPoint, fullPath);
            return Task.CompletedTask;
        }

        public async Task CreateAsync(SnapshotRecord record, ISnapshotJournal journal, CancellationToken ct)
        {
            using var api = _cim();
            var volume = VssPaths.WithTrailingBackslash(record.Volume);
            var pipeline = NekkResilience.ForFileShare(null, _observer, _retry, ex => ex is NekkBackupException n && n.ErrorId == "NekkBackup.SnapshotInProgress");
            var result = await pipeline.ExecuteAsync(_ =>
            {
                var r = api.Create(volume, Context);
                var err = VssReturnCodes.ToException(r.ReturnValue, volume);
                if (err != null) throw err;
                return new ValueTask<VssCreateResult>(r);
            }, ct).ConfigureAwait(false);

            var id = result.ShadowId;
            if (id == null || !VssPaths.IsShadowId(id))
                throw new NekkBackupException("SnapshotProviderFailure", FailureKind.InvalidOperation, $"Win32_ShadowCopy.Create succeeded but returned the id '{id}'.", volume);
            // Record the id at once: from here on a crash leaves a shadow the next run can find by ID.
            var previous = record.SnapshotId;
            record.SnapshotId = "Vss:" + id;
            record.Data["ShadowId"] = id;
            journal.Update(previous, record);

            var info = api.Get(id)
                ?? throw new NekkBackupException("SnapshotProviderFailure", FailureKind.InvalidOperation, $"The shadow copy {id} vanished right after it was created.", volume);
            record.Data["DeviceObject"] = info.DeviceObject;
            // Block mode reads the shadow volume itself: DeviceObject verbatim (windows-notes §2.1: no trailing
            // backslash, which would open the file-system root); file mode maps the path inside it.
            var relative = record.Get("Relative") ?? "";
            if (record.IsBlock) record.SnapshotPath = info.DeviceObject;
            else if (relative.Length > 0) record.SnapshotPath = VssPaths.MapToShadow(info.DeviceObject, relative);
            else
            {
                // The source is a volume's root (a drive or a mount point of another volume): .NET cannot enumerate
                // ...ShadowCopyN\ (dotnet/runtime#119009), so the root is read through a directory symlink to it
                // (windows-notes.md §1.7). Recorded before it is made, so a crash leaves nothing unknown behind.
                var link = Path.Combine(LinkDirectory, id.Trim('{', '}'));
                record.Data[LinkKey] = link;
                journal.Update(record.SnapshotId, record);
                Directory.CreateDirectory(LinkDirectory);
                _volumes.CreateDirectoryLink(link, VssPaths.MapToShadow(info.DeviceObject, ""));
                record.SnapshotPath = link;
            }
            journal.Update(record.SnapshotId, record);
        }

        public Task DeleteAsync(SnapshotRecord record, CancellationToken ct)
        {
            var id = record.Get("ShadowId");
            if (id == null) return Task.CompletedTask; // intent only: nothing identifiable was made
            if (!_isWindows()) throw SnapshotErrors.Unsupported($"The VSS shadow copy {id} can only be removed on Windows.", record.SnapshotId);
            // The link first (RemoveDirectoryW: the link, never the shadow's content), then the shadow.
            var link = record.Get(LinkKey);
            if (link != null) _volumes.RemoveDirectoryLink(link);
            using var api = _cim();
            api.Delete(id);
            return Task.CompletedTask;
        }

        public Task<bool?> ExistsAsync(SnapshotRecord record, CancellationToken ct)
        {
            var id = record.Get("ShadowId");
            if (id == null) return Task.FromResult<bool?>(null);
            if (!_isWindows()) return Task.FromResult<bool?>(null);
            using var api = _cim();
            return Task.FromResult<bool?>(api.Get(id) != null);
        }
    }
}
