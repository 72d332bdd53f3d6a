using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Primitives;
using NekkBackup.Core.Snapshots;

namespace NekkBackup.Core.Imaging
{
    /// <summary>
    /// Mount-NekkGhostImage / Dismount-NekkGhostImage. Mount: record the intent (mounts.json), materialise the image
    /// in &lt;repository&gt;/mounts/&lt;MountId&gt;/ on the repository's volume (a sparse raw file on Linux, a fixed VHD
    /// on Windows; all-zero chunks are never written), attach and mount it read-only, mark the record Ready.
    /// Dismount: unmount, detach, delete the work folder (and the mount folder when Mount created it), forget the
    /// record. Every call first cleans what a crashed call left: a record whose owner died before it was Ready, or
    /// a Ready one whose mount is gone (a reboot).
    /// </summary>
    public sealed class GhostMountManager
    {
        public const string MountsFolder = "mounts";
        private readonly MountStateStore _store;
        private readonly IImageMounter _mounter;
        private readonly IRunObserver _observer;

        public GhostMountManager(MountStateStore store, IImageMounter mounter, IRunObserver? observer = null)
        {
            _store = store;
            _mounter = mounter;
            _observer = observer ?? NullRunObserver.Instance;
        }

        /// <summary>The platform's mounter and the state file in the data folder.</summary>
        public static GhostMountManager CreateDefault(IRunObserver? observer = null, MountStateStore? store = null, IProcessRunner? runner = null)
        {
            runner ??= ProcessRunner.Instance;
            IImageMounter mounter = OperatingSystemInfo.IsWindows ? new WindowsDiskImageMounter(runner) : new LinuxLoopMounter(runner);
            return new GhostMountManager(store ?? MountStateStore.Default(), mounter, observer);
        }

        public MountStateStore Store => _store;

        public async Task<GhostMount> MountAsync(string repository, string imageId, string mountPoint, CancellationToken ct)
        {
            if (string.IsNullOrWhiteSpace(mountPoint)) throw Fail.Argument("MountPointMissing", "A -MountPoint folder is required.");
            var repo = ImageRepository.Open(repository);
            var manifest = repo.ReadManifest(imageId);
            var mp = Path.GetFullPath(mountPoint).TrimEnd(Path.DirectorySeparatorChar);
            var why = _mounter.Unavailable();
            if (why != null) throw new NekkBackupException("MountUnavailable", FailureKind.PermissionDenied, $"Cannot mount image '{imageId}': {why}.", imageId);
            if (File.Exists(mp)) throw Fail.Argument("MountPointIsFile", $"The mount point '{mp}' is a file; give an empty folder.", mp);
            var parent = Path.GetDirectoryName(mp);
            if (parent == null || !Directory.Exists(parent)) throw Fail.NotFound("MountPointNotFound", $"The folder holding the mount point '{mp}' does not exist.", mp);

            await CleanStaleAsync(ct).ConfigureAwait(false);
            bool created = !Directory.Exists(mp);
            if (!created && Directory.EnumerateFileSystemEntries(mp).Any())
                throw Fail.InvalidOperation("MountPointNotEmpty", $"The mount point '{mp}' is not an empty folder.", mp);
            if (!created && MountCheck.FindMountAt(mp))
                throw Fail.InvalidOperation("MountPointInUse", $"Something is already mounted at '{mp}'.", mp);

            var id = RunId.New(); // invariant digits and calendar, whatever the current culture
            var work = Path.Combine(repo.Root, MountsFolder, id);
            var record = new MountRecord
            {
                MountId = id, Repository = repo.Root, ImageId = manifest.ImageId, Source = manifest.Source, Host = manifest.Host, SizeBytes = manifest.SizeBytes,
                MountPoint = mp, WorkDirectory = work,
                ImageFile = Path.Combine(work, _mounter.Format == GhostRestoreFormat.Vhd ? "volume.vhd" : "volume.raw"),
                CreatedMountPoint = created, CreatedUtc = DateTime.UtcNow, OwnerPid = SnapshotOwner.CurrentPid,
                OwnerStartTicksUtc = SnapshotOwner.CurrentStartTicks, OwnerHost = OperatingSystemInfo.HostName,
            };
            // Recorded before anything exists: whatever happens next, the next call can find and undo it.
            _store.Add(record);
            _observer.Message(RunMessageLevel.Verbose, $"Recorded mount {id} of image {imageId} at '{mp}' in {_store.FilePath}.");
            try
            {
                CheckSpace(repo, manifest, work);
                Directory.CreateDirectory(work);
                if (created) Directory.CreateDirectory(mp);
                _observer.Message(RunMessageLevel.Verbose, $"Materialising image {imageId} ({manifest.SizeBytes:N0} bytes, {manifest.Chunks - manifest.ZeroChunks:N0} non-zero chunks) as '{record.ImageFile}'.");
                await GhostRepository.RestoreAsync(repo.Root, imageId, record.ImageFile, _mounter.Format, false, _observer, ct).ConfigureAwait(false);
                var (device, fs) = await _mounter.AttachAsync(record.ImageFile, mp, dev =>
                {
                    record.Device = dev;
                    _store.Update(record);
                    _observer.Message(RunMessageLevel.Verbose, $"Attached '{record.ImageFile}' read-only as {dev}.");
                }, ct).ConfigureAwait(false);
                record.Device = device;
                record.FileSystem = fs;
                _observer.Message(RunMessageLevel.Verbose, $"Mounted the {fs} file system of image {imageId} read-only at '{mp}'.");
                record.State = MountStates.Ready;
                _store.Update(record);
            }
            catch (Exception ex)
            {
                // Stopped (Ctrl+C) or failed: nothing of this mount may stay behind.
                try { await UndoAsync(record, CancellationToken.None).ConfigureAwait(false); }
                catch (NekkBackupException undo) { _observer.Message(RunMessageLevel.Warning, $"Could not clean up mount {id}: {undo.Message} The next Mount/Dismount-NekkGhostImage retries."); }
                if (ex is IOException or UnauthorizedAccessException) throw Fail.FromIo(ex, record.ImageFile);
                throw;
            }
            return ToMount(record);
        }

        /// <summary>Removes the mount at <paramref name="mountPoint"/>; NekkBackup.MountNotFound when none of ours is there.</summary>
        public async Task<GhostMount> DismountAsync(string mountPoint, CancellationToken ct)
        {
            if (string.IsNullOrWhiteSpace(mountPoint)) throw Fail.Argument("MountPointMissing", "A -MountPoint folder is required.");
            var mp = Path.GetFullPath(mountPoint).TrimEnd(Path.DirectorySeparatorChar);
            var cleaned = await CleanStaleAsync(ct).ConfigureAwait(false);
            var crashed = cleaned.FirstOrDefault(r => MountStateStore.SamePath(r.MountPoint, mp));
            if (crashed != null) return ToMount(crashed); // a crashed or vanished mount at this folder: cleaned just now
            var record = _store.Load().FirstOrDefault(r => MountStateStore.SamePath(r.MountPoint, mp))
                ?? throw Fail.NotFound("MountNotFound", $"No image mounted by NekkBackup at '{mp}' (Mount-NekkGhostImage records its mounts in {_store.FilePath}).", mp);
            var why = _mounter.Unavailable();
            if (why != null) throw new NekkBackupException("MountUnavailable", FailureKind.PermissionDenied, $"Cannot dismount '{mp}': {why}.", mp);
            await UndoAsync(record, ct).ConfigureAwait(false);
            _observer.Message(RunMessageLevel.Verbose, $"Dismounted image {record.ImageId} from '{mp}' and deleted '{record.WorkDirectory}'.");
            return ToMount(record);
        }

        /// <summary>The mounts this module made (as recorded).</summary>
        public IReadOnlyList<GhostMount> List() => _store.Load().Select(ToMount).ToList();

        /// <summary>
        /// Undoes what crashed calls left: records not Ready whose owner process is gone, and Ready records whose
        /// mount no longer exists. Returns the records cleaned. Another host's records are never touched.
        /// </summary>
        public async Task<IReadOnlyList<MountRecord>> CleanStaleAsync(CancellationToken ct)
        {
            var cleaned = new List<MountRecord>();
            foreach (var r in _store.Load())
            {
                if (!string.IsNullOrEmpty(r.OwnerHost) && !string.Equals(r.OwnerHost, OperatingSystemInfo.HostName, StringComparison.OrdinalIgnoreCase)) continue;
                bool stale = r.State == MountStates.Ready
                    ? !await _mounter.IsLiveAsync(r, ct).ConfigureAwait(false)
                    : !SnapshotOwner.IsAlive(r.OwnerHost, r.OwnerPid, r.OwnerStartTicksUtc);
                if (!stale) continue;
                _observer.Message(RunMessageLevel.Warning, r.State == MountStates.Ready
                    ? $"The mount of image {r.ImageId} at '{r.MountPoint}' is gone (a reboot or a manual umount); removing its temporary files."
                    : $"Cleaning the mount of image {r.ImageId} at '{r.MountPoint}' left by a process that stopped (pid {r.OwnerPid}).");
                await UndoAsync(r, ct).ConfigureAwait(false);
                cleaned.Add(r);
            }
            return cleaned;
        }

        /// <summary>Unmount, detach, delete the work folder and a mount folder Mount created, then drop the record.</summary>
        private async Task UndoAsync(MountRecord r, CancellationToken ct)
        {
            await _mounter.DetachAsync(r, ct).ConfigureAwait(false);
            if (IsOurWorkDirectory(r)) DeleteTree(r.WorkDirectory);
            if (r.CreatedMountPoint && Directory.Exists(r.MountPoint) && !Directory.EnumerateFileSystemEntries(r.MountPoint).Any())
            {
                try { Directory.Delete(r.MountPoint); } catch (IOException) { }
            }
            _store.Remove(r.MountId);
        }

        /// <summary>Only &lt;repository&gt;/mounts/&lt;MountId&gt; is ever deleted (the record is untrusted input too).</summary>
        private static bool IsOurWorkDirectory(MountRecord r)
        {
            if (string.IsNullOrEmpty(r.WorkDirectory) || string.IsNullOrEmpty(r.Repository) || string.IsNullOrEmpty(r.MountId)) return false;
            if (r.MountId.IndexOfAny(new[] { '/', '\\', '.' }) >= 0) return false;
            var expected = Path.Combine(Path.GetFullPath(r.Repository), MountsFolder, r.MountId);
            return MountStateStore.SamePath(Path.GetFullPath(r.WorkDirectory), expected);
        }

        private static void DeleteTree(string dir)
        {
            if (!Directory.Exists(dir)) return;
            foreach (var f in Directory.EnumerateFiles(dir)) File.Delete(f);
            Directory.Delete(dir, true);
            var parent = Path.GetDirectoryName(dir);
            try { if (parent != null && !Directory.EnumerateFileSystemEntries(parent).Any()) Directory.Delete(parent); } catch (IOException) { }
        }

        /// <summary>The sparse file needs room for the non-zero chunks; say so before writing gigabytes.</summary>
        private static void CheckSpace(ImageRepository repo, ImageManifest m, string work)
        {
            long needed = (m.Chunks - m.ZeroChunks) * (long)m.ChunkSize + (16L << 20);
            long free;
            try { free = new DriveInfo(repo.Root).AvailableFreeSpace; }
            catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException) { return; } // unknown: let the write tell
            if (free < needed)
                throw new NekkBackupException("DestinationFull", FailureKind.LimitsExceeded,
                    $"Mounting image '{m.ImageId}' writes up to {needed:N0} bytes to '{work}', but its volume has {free:N0} bytes free.", work);
        }

        private static GhostMount ToMount(MountRecord r) => new()
        {
            MountPoint = r.MountPoint, ImageId = r.ImageId, Repository = r.Repository, FileSystem = r.FileSystem ?? "", Device = r.Device ?? "",
            ImageFile = r.ImageFile, Mounted = DateTime.SpecifyKind(r.CreatedUtc, DateTimeKind.Utc), Source = r.Source, Host = r.Host, SizeBytes = r.SizeBytes,
        };
    }
}
