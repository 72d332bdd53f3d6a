using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Snapshots;

namespace NekkBackup.Core.Imaging
{
    /// <summary>
    /// Linux: `losetup --find --show --read-only` over the sparse raw file, `blkid -p` for the file system, then a
    /// read-only mount that never writes to the image: ext2/3/4 `ro,noload` (no journal replay), xfs
    /// `ro,norecovery,nouuid` (the source volume may be mounted with the same UUID), btrfs `ro,rescue=nologreplay`,
    /// NTFS through `ntfs-3g -o ro`, anything else `ro`. Undo: `umount` (only a mount whose source is a loop device
    /// backed by the record's image file), then `losetup -d` of every loop device backed by that file.
    /// </summary>
    public sealed class LinuxLoopMounter : IImageMounter
    {
        private readonly IProcessRunner _runner;
        private readonly Func<string, IEnumerable<string>> _loopsBackedBy;
        private readonly Func<IEnumerable<string>> _mountInfo;

        public LinuxLoopMounter(IProcessRunner runner, Func<string, IEnumerable<string>>? loopsBackedBy = null, Func<IEnumerable<string>>? mountInfo = null)
        {
            _runner = runner;
            _loopsBackedBy = loopsBackedBy ?? (f => MountCheck.LoopDevicesBackedBy(f).ToList());
            _mountInfo = mountInfo ?? (() => File.Exists("/proc/self/mountinfo") ? File.ReadAllLines("/proc/self/mountinfo") : Array.Empty<string>());
        }

        public GhostRestoreFormat Format => GhostRestoreFormat.Raw;

        public string? Unavailable()
        {
            if (!OperatingSystemInfo.IsLinux) return "loop-mounting images needs Linux";
            if (!OperatingSystemInfo.IsElevated) return "mounting an image needs root (loop devices and mount(8)); run it with sudo or as the root service";
            foreach (var tool in new[] { "losetup", "blkid", "mount", "umount" })
                if (!_runner.HasTool(tool)) return $"the tool '{tool}' is not installed (util-linux)";
            return null;
        }

        /// <summary>The tool and arguments that mount <paramref name="fileSystem"/> read-only.</summary>
        public static (string Tool, string[] Args) MountCommand(string fileSystem, string device, string mountPoint) => fileSystem switch
        {
            "ntfs" => ("ntfs-3g", new[] { "-o", "ro", device, mountPoint }),
            "ext2" or "ext3" or "ext4" => ("mount", new[] { "-t", fileSystem, "-o", "ro,noload", device, mountPoint }),
            "xfs" => ("mount", new[] { "-t", "xfs", "-o", "ro,norecovery,nouuid", device, mountPoint }),
            "btrfs" => ("mount", new[] { "-t", "btrfs", "-o", "ro,rescue=nologreplay", device, mountPoint }),
            _ => ("mount", new[] { "-t", fileSystem, "-o", "ro", device, mountPoint }),
        };

        public async Task<(string Device, string FileSystem)> AttachAsync(string imageFile, string mountPoint, Action<string> attached, CancellationToken ct)
        {
            var loop = (await _runner.RunCheckedAsync("MountFailed", "losetup", new[] { "--find", "--show", "--read-only", imageFile }, imageFile, ct).ConfigureAwait(false)).StdOut.Trim();
            if (!loop.StartsWith("/dev/loop", StringComparison.Ordinal))
                throw Fail.InvalidOperation("MountFailed", $"losetup attached '{imageFile}' but named the device '{loop}'.", imageFile);
            attached(loop);
            var probe = await _runner.RunAsync("blkid", new[] { "-p", "-o", "value", "-s", "TYPE", loop }, ct).ConfigureAwait(false);
            var fs = probe.StdOut.Trim();
            if (probe.ExitCode != 0 || fs.Length == 0)
                throw new NekkBackupException("UnsupportedFileSystem", FailureKind.NotSupported, $"No file system was recognised in the image (blkid: {(probe.StdErr.Trim().Length > 0 ? probe.StdErr.Trim() : "no signature")}); only images of a volume with a file system can be browsed.", imageFile);
            if (fs is "crypto_LUKS" or "BitLocker")
                throw new NekkBackupException("UnsupportedFileSystem", FailureKind.NotSupported, $"The image holds an encrypted volume ({fs}); unlock it with its own tools to browse it.", imageFile);
            var (tool, args) = MountCommand(fs, loop, mountPoint);
            if (!_runner.HasTool(tool))
                throw new NekkBackupException("ToolNotFound", FailureKind.NotSupported, $"Mounting {fs} needs '{tool}', which is not installed{(fs == "ntfs" ? " (Debian/Ubuntu: apt-get install ntfs-3g)" : "")}.", tool);
            await _runner.RunCheckedAsync("MountFailed", tool, args, mountPoint, ct).ConfigureAwait(false);
            return (loop, fs);
        }

        public async Task DetachAsync(MountRecord record, CancellationToken ct)
        {
            var ours = OurLoops(record);
            for (int attempt = 0; ; attempt++)
            {
                var source = SourceMountedAt(record.MountPoint);
                if (source == null || !ours.Contains(source)) break; // nothing of ours is mounted there
                var r = await _runner.RunAsync("umount", new[] { record.MountPoint }, ct).ConfigureAwait(false);
                if (r.ExitCode == 0) continue;
                if (attempt >= 10)
                    throw new NekkBackupException("MountBusy", FailureKind.ResourceUnavailable,
                        $"'{record.MountPoint}' cannot be unmounted: {r.StdErr.Trim()} Close the files and shells that use it, then run Dismount-NekkGhostImage again.", record.MountPoint);
                await Task.Delay(200, ct).ConfigureAwait(false);
            }
            foreach (var loop in ours)
                await _runner.RunCheckedAsync("DismountFailed", "losetup", new[] { "-d", loop }, record.MountPoint, ct).ConfigureAwait(false);
        }

        public Task<bool> IsLiveAsync(MountRecord record, CancellationToken ct)
        {
            var source = SourceMountedAt(record.MountPoint);
            return Task.FromResult(source != null && OurLoops(record).Contains(source));
        }

        /// <summary>Loop devices backed by the record's image file (the recorded one is trusted only if it still is).</summary>
        private HashSet<string> OurLoops(MountRecord record) =>
            new(string.IsNullOrEmpty(record.ImageFile) ? Enumerable.Empty<string>() : _loopsBackedBy(record.ImageFile), StringComparer.Ordinal);

        /// <summary>The source of the mount at exactly <paramref name="mountPoint"/>, or null.</summary>
        internal string? SourceMountedAt(string mountPoint)
        {
            string? found = null;
            foreach (var line in _mountInfo())
            {
                var f = line.Split(' ');
                if (f.Length < 7) continue;
                int dash = Array.IndexOf(f, "-", 6);
                if (dash < 0 || dash + 2 >= f.Length) continue;
                if (MountCheck.Unescape(f[4]) == mountPoint.TrimEnd('/')) found = MountCheck.Unescape(f[dash + 2]); // the last one is on top
            }
            return found;
        }
    }
}
