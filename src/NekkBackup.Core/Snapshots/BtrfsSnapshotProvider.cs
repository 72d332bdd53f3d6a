using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Snapshots
{
    /// <summary>
    /// btrfs: a read-only snapshot of the subvolume holding the path, made in `.nekk-snapshots/` at the
    /// root of the mounted filesystem (same filesystem, so it is instant), removed with
    /// `btrfs subvolume delete`. Nested subvolumes appear as empty directories inside the snapshot.
    /// </summary>
    public sealed class BtrfsSnapshotProvider : ISnapshotProvider
    {
        public const string SnapshotDirName = ".nekk-snapshots";

        /// <summary>Inode number of every btrfs subvolume root (BTRFS_FIRST_FREE_OBJECTID).</summary>
        public const long SubvolumeRootInode = 256;

        /// <summary>Subvolume id of the filesystem's top level (BTRFS_FS_TREE_OBJECTID).</summary>
        public const long TopLevelId = 5;

        private readonly IProcessRunner _runner;
        private readonly Func<bool> _isElevated;

        public BtrfsSnapshotProvider(IProcessRunner runner, Func<bool>? isElevated = null)
        {
            _runner = runner;
            _isElevated = isElevated ?? (() => OperatingSystemInfo.IsElevated);
        }

        public SnapshotProviderKind Kind => SnapshotProviderKind.Btrfs;

        public async Task PrepareAsync(string fullPath, SnapshotRecord record, CancellationToken ct)
        {
            if (!OperatingSystemInfo.IsLinux && _runner is ProcessRunner)
                throw SnapshotErrors.Unsupported("btrfs snapshots exist only on Linux.", fullPath);

            // On the real machine the mount table says "not btrfs" without spawning stat and findmnt (every Auto run asks).
            if (_runner is ProcessRunner && MountTable.Find(fullPath) is MountInfo m && m.FsType != "btrfs")
                throw SnapshotErrors.Unsupported($"'{fullPath}' is on {m.FsType} (mounted at {m.Target}), not btrfs.", fullPath);
            var fsType = (await _runner.RunCheckedAsync("SnapshotToolFailed", "stat", new[] { "--file-system", "--format=%T", fullPath }, fullPath, ct).ConfigureAwait(false)).StdOut.Trim();
            if (fsType != "btrfs")
                throw SnapshotErrors.Unsupported($"'{fullPath}' is on {await FileSystemNameAsync(fullPath, fsType, ct).ConfigureAwait(false)}, not btrfs.", fullPath);
            if (!_isElevated())
                throw new NekkBackupException("SnapshotRequiresElevation", FailureKind.PermissionDenied, $"btrfs snapshots of '{fullPath}' need root (run with sudo or as a root service).", fullPath);

            // Every btrfs subvolume has its own st_dev; its root directory has inode 256. The subvolume
            // holding the path is the topmost ancestor that still has the path's st_dev.
            var chain = LinuxMounts.SelfAndAncestors(fullPath);
            var statArgs = new List<string> { "--format=%d %i" };
            statArgs.AddRange(chain);
            var statOut = await _runner.RunAsync("stat", statArgs, ct).ConfigureAwait(false);
            var ids = ParseStatDevIno(statOut.StdOut);
            if (ids.Count == 0 || ids.Count > chain.Count)
                throw new NekkBackupException("SnapshotToolFailed", FailureKind.InvalidOperation, $"stat gave unexpected output for '{fullPath}': {statOut.StdErr}{statOut.StdOut}", fullPath);
            int top = FindSubvolumeRootIndex(ids);
            var subvolRoot = chain[top];
            if (ids[top].Ino != SubvolumeRootInode)
                throw SnapshotErrors.Unsupported($"The btrfs subvolume holding '{fullPath}' is not visible here (the mount at '{subvolRoot}' is a bind mount of a directory inside it).", fullPath);

            var rootIdText = (await _runner.RunCheckedAsync("SnapshotToolFailed", "btrfs", new[] { "inspect-internal", "rootid", fullPath }, fullPath, ct).ConfigureAwait(false)).StdOut.Trim();
            if (!long.TryParse(rootIdText, NumberStyles.Integer, CultureInfo.InvariantCulture, out var rootId))
                throw new NekkBackupException("SnapshotToolFailed", FailureKind.InvalidOperation, $"btrfs inspect-internal rootid gave '{rootIdText}' for '{fullPath}'.", fullPath);
            if (rootId != TopLevelId)
            {
                var show = await _runner.RunAsync("btrfs", new[] { "subvolume", "show", subvolRoot }, ct).ConfigureAwait(false);
                if (show.ExitCode != 0)
                    throw SnapshotErrors.Unsupported($"'{subvolRoot}' is not a btrfs subvolume: {show.StdErr.Trim()}", fullPath);
            }

            var mount = await LinuxMounts.FindMountAsync(_runner, fullPath, ct).ConfigureAwait(false);
            var name = SnapshotErrors.NewName();
            var snapDir = LinuxMounts.Join(mount.Target, SnapshotDirName);
            var dest = snapDir + "/" + name;
            record.SnapshotId = "Btrfs:" + name;
            record.Volume = subvolRoot;
            record.SnapshotPath = LinuxMounts.Join(dest, LinuxMounts.RelativeTo(subvolRoot, fullPath));
            record.Data["SubvolumeRoot"] = subvolRoot;
            record.Data["SubvolumeId"] = rootId.ToString(CultureInfo.InvariantCulture);
            record.Data["MountPoint"] = mount.Target;
            record.Data["Device"] = mount.Source;
            record.Data["SnapshotDir"] = dest;
        }

        public static IReadOnlyList<string> SnapshotArgs(string subvolRoot, string dest) =>
            new[] { "subvolume", "snapshot", "-r", subvolRoot, dest };

        public static IReadOnlyList<string> DeleteArgs(string dest) =>
            new[] { "subvolume", "delete", dest };

        /// <summary>
        /// "ext4 (mounted at /srv)": the type from the mount table (findmnt), which names ext4 as ext4 —
        /// stat's magic number cannot tell ext2, ext3 and ext4 apart ("ext2/ext3"), so it is only the fallback.
        /// </summary>
        private async Task<string> FileSystemNameAsync(string fullPath, string statType, CancellationToken ct)
        {
            try
            {
                var mount = await LinuxMounts.FindMountAsync(_runner, fullPath, ct).ConfigureAwait(false);
                if (!string.IsNullOrEmpty(mount.FsType)) return $"{mount.FsType} (mounted at {mount.Target})";
            }
            catch (NekkBackupException) { }
            return statType;
        }

        public async Task CreateAsync(SnapshotRecord record, ISnapshotJournal journal, CancellationToken ct)
        {
            var dest = Required(record, "SnapshotDir");
            var parent = Path.GetDirectoryName(dest)!;
            if (!Directory.Exists(parent))
            {
                Directory.CreateDirectory(parent);
#if NET
                if (!OperatingSystem.IsWindows())
                    try { File.SetUnixFileMode(parent, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute); } catch (IOException) { }
#endif
            }
            await _runner.RunCheckedAsync("SnapshotCreateFailed", "btrfs", SnapshotArgs(Required(record, "SubvolumeRoot"), dest), record.SourcePath, ct).ConfigureAwait(false);
        }

        public async Task DeleteAsync(SnapshotRecord record, CancellationToken ct)
        {
            var dest = Required(record, "SnapshotDir");
            if (!IsOurs(dest)) throw Fail.InvalidOperation("SnapshotNotOurs", $"Refusing to delete '{dest}': not a NekkBackup snapshot directory.", dest);
            if (!Directory.Exists(dest)) return;
            await _runner.RunCheckedAsync("SnapshotRemoveFailed", "btrfs", DeleteArgs(dest), record.SnapshotId, ct).ConfigureAwait(false);
        }

        public Task<bool?> ExistsAsync(SnapshotRecord record, CancellationToken ct)
        {
            var dest = record.Get("SnapshotDir");
            return Task.FromResult<bool?>(dest != null && Directory.Exists(dest));
        }

        /// <summary>Only paths of the form …/.nekk-snapshots/nekk_* are ever deleted.</summary>
        public static bool IsOurs(string dest)
        {
            var name = Path.GetFileName(dest);
            var parent = Path.GetFileName(Path.GetDirectoryName(dest) ?? "");
            return parent == SnapshotDirName && name.StartsWith("nekk_", StringComparison.Ordinal) && name.IndexOf("..", StringComparison.Ordinal) < 0;
        }

        public static List<(long Dev, long Ino)> ParseStatDevIno(string output)
        {
            var list = new List<(long, long)>();
            foreach (var line in output.Split('\n'))
            {
                var f = line.Trim().Split(' ');
                if (f.Length != 2) continue;
                if (long.TryParse(f[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var d) && long.TryParse(f[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var i))
                    list.Add((d, i));
            }
            return list;
        }

        /// <summary>Index (in self-and-ancestors order) of the topmost entry with the first entry's device.</summary>
        public static int FindSubvolumeRootIndex(IReadOnlyList<(long Dev, long Ino)> ids)
        {
            int top = 0;
            while (top + 1 < ids.Count && ids[top + 1].Dev == ids[0].Dev) top++;
            return top;
        }

        private static string Required(SnapshotRecord r, string key) =>
            r.Get(key) ?? throw Fail.InvalidData("SnapshotStateCorrupt", $"Snapshot '{r.SnapshotId}' has no {key} in the state file.", r.SnapshotId);
    }
}
