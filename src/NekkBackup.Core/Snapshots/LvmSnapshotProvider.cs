using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Snapshots
{
    /// <summary>How big a classic (copy-on-write) LVM snapshot is made: it becomes invalid when full.</summary>
    public sealed class LvmSnapshotSizePolicy
    {
        public static readonly LvmSnapshotSizePolicy Default = new(20, 256);

        public LvmSnapshotSizePolicy(int percentOfOrigin, long minimumMiB)
        {
            if (percentOfOrigin < 1 || percentOfOrigin > 100) throw new ArgumentOutOfRangeException(nameof(percentOfOrigin));
            PercentOfOrigin = percentOfOrigin;
            MinimumMiB = minimumMiB;
        }

        public int PercentOfOrigin { get; }
        public long MinimumMiB { get; }

        /// <summary>Snapshot size in MiB for an origin of <paramref name="originBytes"/> (never more than the origin).</summary>
        public long SizeMiB(long originBytes)
        {
            long originMiB = (originBytes + (1 << 20) - 1) >> 20;
            long pct = (originMiB * PercentOfOrigin + 99) / 100;
            return Math.Min(Math.Max(pct, MinimumMiB), Math.Max(originMiB, 1));
        }
    }

    /// <summary>One row of `lvs --reportformat json`.</summary>
    public sealed class LvmVolume
    {
        public string VgName { get; set; } = "";
        public string LvName { get; set; } = "";
        public string LvPath { get; set; } = "";
        public string LvDmPath { get; set; } = "";
        public string LvAttr { get; set; } = "";
        public long SizeBytes { get; set; }
        public string KernelMajor { get; set; } = "";
        public string KernelMinor { get; set; } = "";
        public string Origin { get; set; } = "";

        /// <summary>lv_attr[0]: 's'/'S' snapshot, 'V' thin volume, 'o' origin, '-' plain.</summary>
        public char VolumeType => LvAttr.Length > 0 ? LvAttr[0] : '-';
        public bool IsThin => VolumeType == 'V';
        public bool IsSnapshot => VolumeType == 's' || VolumeType == 'S';
    }

    /// <summary>
    /// LVM: `lvcreate --snapshot --size &lt;policy&gt; --name nekk_… vg/lv` of the logical volume holding the
    /// path (found with findmnt + lvs), mounted read-only under the data folder (xfs: ro,nouuid),
    /// unmounted and `lvremove -y`'d afterwards. Thin volumes get a thin snapshot (no size).
    /// Block mode (Ghost images): the same snapshot of a logical volume named by its device
    /// (/dev/vg/lv, /dev/mapper/vg-lv, /dev/dm-N), not mounted; its device path is what is read.
    /// </summary>
    public sealed class LvmSnapshotProvider : IBlockSnapshotProvider
    {
        public static readonly string[] LvsFields = { "vg_name", "lv_name", "lv_path", "lv_dm_path", "lv_attr", "lv_size", "lv_kernel_major", "lv_kernel_minor", "origin" };

        private readonly IProcessRunner _runner;
        private readonly LvmSnapshotSizePolicy _size;
        private readonly string _mountRoot;

        private readonly Func<bool> _isElevated;
        private readonly Func<string, string?> _deviceNumber;

        /// <param name="deviceNumber">"major:minor" of a device path (default: sysfs after resolving symlinks); a seam for tests.</param>
        public LvmSnapshotProvider(IProcessRunner runner, LvmSnapshotSizePolicy? size = null, string? mountRoot = null, Func<bool>? isElevated = null,
            Func<string, string?>? deviceNumber = null)
        {
            _isElevated = isElevated ?? (() => OperatingSystemInfo.IsElevated);
            _deviceNumber = deviceNumber ?? LinuxMounts.DeviceNumber;
            _runner = runner;
            _size = size ?? LvmSnapshotSizePolicy.Default;
            _mountRoot = mountRoot ?? Path.Combine(OperatingSystemInfo.DataDirectory, "mnt");
        }

        public SnapshotProviderKind Kind => SnapshotProviderKind.Lvm;

        public static IReadOnlyList<string> LvsArgs(string? lv = null)
        {
            var a = new List<string> { "--reportformat", "json", "--units", "b", "--nosuffix", "--options", string.Join(",", LvsFields) };
            if (lv != null) a.Add(lv);
            return a;
        }

        public static IReadOnlyList<string> VgFreeArgs(string vg) =>
            new[] { "--reportformat", "json", "--units", "b", "--nosuffix", "--options", "vg_name,vg_free", vg };

        public static IReadOnlyList<string> LvCreateArgs(LvmVolume origin, string name, long sizeMiB) =>
            origin.IsThin
                ? new[] { "--snapshot", "--setactivationskip", "n", "--name", name, origin.VgName + "/" + origin.LvName }
                : new[] { "--snapshot", "--size", sizeMiB.ToString(CultureInfo.InvariantCulture) + "m", "--name", name, origin.VgName + "/" + origin.LvName };

        public static IReadOnlyList<string> MountArgs(string fsType, string device, string mountPoint) =>
            new[] { "-t", fsType, "-o", MountOptions(fsType), device, mountPoint };

        /// <summary>Read-only; xfs also needs nouuid (the snapshot carries the mounted origin's UUID).</summary>
        public static string MountOptions(string fsType) => fsType == "xfs" ? "ro,nouuid" : "ro";

        public static IReadOnlyList<string> LvRemoveArgs(string vg, string name) => new[] { "-y", vg + "/" + name };

        public async Task PrepareAsync(string fullPath, SnapshotRecord record, CancellationToken ct)
        {
            if (!OperatingSystemInfo.IsLinux && _runner is ProcessRunner)
                throw SnapshotErrors.Unsupported("LVM snapshots exist only on Linux.", fullPath);
            var mount = await LinuxMounts.FindMountAsync(_runner, fullPath, ct).ConfigureAwait(false);
            if (!_runner.HasTool("lvs"))
                throw SnapshotErrors.Unsupported($"'{fullPath}' is not on an LVM logical volume (the lvm2 tools are not installed).", fullPath);
            // Every logical volume is a device-mapper device: on the real machine anything else is answered without lvs.
            if (_runner is ProcessRunner && OperatingSystemInfo.IsLinux && mount.FsType != "btrfs" && !MountTable.IsDeviceMapper(mount.MajMin))
                throw SnapshotErrors.Unsupported($"'{fullPath}' is on {mount.Source} ({mount.FsType}), which is not an LVM logical volume.", fullPath);
            var lvs = await _runner.RunCheckedAsync("SnapshotToolFailed", "lvs", LvsArgs(), fullPath, ct).ConfigureAwait(false);
            var origin = MatchMount(ParseLvs(lvs.StdOut), mount)
                ?? throw SnapshotErrors.Unsupported($"'{fullPath}' is on {mount.Source} ({mount.FsType}), which is not an LVM logical volume.", fullPath);
            if (origin.IsSnapshot)
                throw SnapshotErrors.Unsupported($"'{fullPath}' is on the LVM snapshot {origin.VgName}/{origin.LvName}; a snapshot of a snapshot is not made.", fullPath);
            if (mount.FsType == "btrfs")
                throw SnapshotErrors.Unsupported($"'{fullPath}' is btrfs on LVM: use the Btrfs provider (a block snapshot of a mounted btrfs cannot be mounted beside it).", fullPath);
            if (!_isElevated())
                throw new NekkBackupException("SnapshotRequiresElevation", FailureKind.PermissionDenied, $"LVM snapshots of {origin.VgName}/{origin.LvName} need root (run with sudo or as a root service).", fullPath);

            var sizeMiB = await CheckSizeAsync(origin, ct).ConfigureAwait(false);

            var name = SnapshotErrors.NewName();
            var mp = Path.Combine(_mountRoot, name).Replace('\\', '/');
            record.SnapshotId = "Lvm:" + origin.VgName + "/" + name;
            record.Volume = origin.VgName + "/" + origin.LvName;
            record.SnapshotPath = LinuxMounts.Join(mp, LinuxMounts.RelativeTo(mount.Target, fullPath));
            record.Data["Vg"] = origin.VgName;
            record.Data["OriginLv"] = origin.LvName;
            record.Data["SnapshotLv"] = name;
            record.Data["Device"] = "/dev/" + origin.VgName + "/" + name;
            record.Data["FsType"] = mount.FsType;
            record.Data["MountPoint"] = mp;
            record.Data["SizeMiB"] = sizeMiB.ToString(CultureInfo.InvariantCulture);
            record.Data["Thin"] = origin.IsThin ? "true" : "false";
        }

        /// <summary>`blkid --probe --output value --match-tag TYPE dev`: the file system on a device, without mounting.</summary>
        public static IReadOnlyList<string> BlkidTypeArgs(string device) =>
            new[] { "--probe", "--output", "value", "--match-tag", "TYPE", device };

        public async Task PrepareDeviceAsync(string device, SnapshotRecord record, CancellationToken ct)
        {
            if (!OperatingSystemInfo.IsLinux && _runner is ProcessRunner)
                throw SnapshotErrors.Unsupported("LVM snapshots exist only on Linux.", device);
            if (_runner.HasTool("blkid"))
            {
                // A btrfs file system is snapshotted per subvolume, never as a block copy: a second device with
                // the same btrfs UUID can make the kernel use the copy instead of the original.
                var b = await _runner.RunAsync("blkid", BlkidTypeArgs(device), ct).ConfigureAwait(false);
                if (b.ExitCode == 0 && b.StdOut.Trim() == "btrfs")
                    throw SnapshotErrors.Unsupported($"'{device}' holds a btrfs file system; btrfs snapshots are file-level (subvolumes), so a block image of it can only be read live.", device);
            }
            if (!_runner.HasTool("lvs"))
                throw SnapshotErrors.Unsupported($"'{device}' is not an LVM logical volume (the lvm2 tools are not installed).", device);
            var lvs = await _runner.RunCheckedAsync("SnapshotToolFailed", "lvs", LvsArgs(), device, ct).ConfigureAwait(false);
            var origin = MatchDevice(ParseLvs(lvs.StdOut), device, _deviceNumber(device))
                ?? throw SnapshotErrors.Unsupported($"'{device}' is not an LVM logical volume; only LVM volumes have block snapshots on Linux.", device);
            if (origin.IsSnapshot)
                throw SnapshotErrors.Unsupported($"'{device}' is the LVM snapshot {origin.VgName}/{origin.LvName}; a snapshot of a snapshot is not made.", device);
            if (!_isElevated())
                throw new NekkBackupException("SnapshotRequiresElevation", FailureKind.PermissionDenied, $"LVM snapshots of {origin.VgName}/{origin.LvName} need root (run with sudo or as a root service).", device);
            var sizeMiB = await CheckSizeAsync(origin, ct).ConfigureAwait(false);

            var name = SnapshotErrors.NewName();
            record.SnapshotId = "Lvm:" + origin.VgName + "/" + name;
            record.Volume = origin.VgName + "/" + origin.LvName;
            record.SnapshotPath = "/dev/" + origin.VgName + "/" + name;
            record.Data[SnapshotRecord.ModeKey] = SnapshotRecord.BlockMode;
            record.Data["Vg"] = origin.VgName;
            record.Data["OriginLv"] = origin.LvName;
            record.Data["SnapshotLv"] = name;
            record.Data["Device"] = record.SnapshotPath;
            record.Data["SizeMiB"] = sizeMiB.ToString(CultureInfo.InvariantCulture);
            record.Data["Thin"] = origin.IsThin ? "true" : "false";
        }

        /// <summary>The snapshot size (0 for thin) after checking the volume group has the free extents for it.</summary>
        private async Task<long> CheckSizeAsync(LvmVolume origin, CancellationToken ct)
        {
            if (origin.IsThin) return 0;
            long sizeMiB = _size.SizeMiB(origin.SizeBytes);
            var vgs = await _runner.RunCheckedAsync("SnapshotToolFailed", "vgs", VgFreeArgs(origin.VgName), origin.VgName, ct).ConfigureAwait(false);
            var free = ParseVgFree(vgs.StdOut, origin.VgName);
            if (free.HasValue && free.Value < (sizeMiB << 20))
                throw new NekkBackupException("SnapshotInsufficientStorage", FailureKind.LimitsExceeded,
                    $"Volume group {origin.VgName} has {free.Value >> 20} MiB free; the snapshot of {origin.LvName} needs {sizeMiB} MiB ({_size.PercentOfOrigin} % of the volume).", origin.VgName);
            return sizeMiB;
        }

        public async Task CreateAsync(SnapshotRecord record, ISnapshotJournal journal, CancellationToken ct)
        {
            var origin = new LvmVolume { VgName = Req(record, "Vg"), LvName = Req(record, "OriginLv"), LvAttr = record.Get("Thin") == "true" ? "V" : "-" };
            var name = Req(record, "SnapshotLv");
            long size = long.Parse(record.Get("SizeMiB") ?? "0", CultureInfo.InvariantCulture);
            await _runner.RunCheckedAsync("SnapshotCreateFailed", "lvcreate", LvCreateArgs(origin, name, size), record.SourcePath, ct).ConfigureAwait(false);
            if (record.IsBlock)
            {
                // Not mounted: the device is what a Ghost capture reads. Take its path from LVM (and check it is active).
                var r = await _runner.RunCheckedAsync("SnapshotCreateFailed", "lvs", LvsArgs(origin.VgName + "/" + name), record.SourcePath, ct).ConfigureAwait(false);
                var snap = ParseLvs(r.StdOut).FirstOrDefault(v => v.VgName == origin.VgName && v.LvName == name)
                    ?? throw new NekkBackupException("SnapshotCreateFailed", FailureKind.InvalidOperation, $"lvcreate succeeded but lvs does not list {origin.VgName}/{name}.", record.SourcePath);
                if (snap.LvAttr.Length > 4 && snap.LvAttr[4] != 'a')
                    throw new NekkBackupException("SnapshotCreateFailed", FailureKind.InvalidOperation, $"The snapshot {origin.VgName}/{name} was created but is not active (lv_attr {snap.LvAttr}).", record.SourcePath);
                if (snap.LvPath.Length > 0) record.SnapshotPath = snap.LvPath;
                record.Data["Device"] = record.SnapshotPath;
                journal.Update(record.SnapshotId, record);
                return;
            }
            var mp = Req(record, "MountPoint");
            Directory.CreateDirectory(mp);
            await _runner.RunCheckedAsync("SnapshotMountFailed", "mount", MountArgs(Req(record, "FsType"), Req(record, "Device"), mp), record.SourcePath, ct).ConfigureAwait(false);
        }

        public async Task DeleteAsync(SnapshotRecord record, CancellationToken ct)
        {
            var vg = Req(record, "Vg");
            var name = Req(record, "SnapshotLv");
            if (!name.StartsWith("nekk_", StringComparison.Ordinal))
                throw Fail.InvalidOperation("SnapshotNotOurs", $"Refusing to remove {vg}/{name}: not a NekkBackup snapshot.", name);
            var mp = record.Get("MountPoint");
            if (mp != null && Directory.Exists(mp))
            {
                var u = await _runner.RunAsync("umount", new[] { mp }, ct).ConfigureAwait(false);
                if (u.ExitCode != 0 && u.StdErr.IndexOf("not mounted", StringComparison.OrdinalIgnoreCase) < 0)
                    throw new NekkBackupException("SnapshotRemoveFailed", FailureKind.InvalidOperation, $"umount {mp} failed: {u.StdErr.Trim()}", record.SnapshotId);
            }
            if (await ExistsAsync(record, ct).ConfigureAwait(false) == true)
                await _runner.RunCheckedAsync("SnapshotRemoveFailed", "lvremove", LvRemoveArgs(vg, name), record.SnapshotId, ct).ConfigureAwait(false);
            if (mp != null && Directory.Exists(mp))
            {
                try { Directory.Delete(mp, false); } catch (IOException) { }
            }
        }

        public async Task<bool?> ExistsAsync(SnapshotRecord record, CancellationToken ct)
        {
            var vg = record.Get("Vg");
            var name = record.Get("SnapshotLv");
            if (vg == null || name == null) return false;
            if (!_runner.HasTool("lvs")) return null;
            var r = await _runner.RunAsync("lvs", LvsArgs(vg + "/" + name), ct).ConfigureAwait(false);
            if (r.ExitCode != 0) return false;
            return ParseLvs(r.StdOut).Any(v => v.VgName == vg && v.LvName == name);
        }

        /// <summary>Parses `lvs --reportformat json --units b --nosuffix` output.</summary>
        public static List<LvmVolume> ParseLvs(string json)
        {
            var list = new List<LvmVolume>();
            using var doc = JsonDocument.Parse(json);
            if (!doc.RootElement.TryGetProperty("report", out var report)) return list;
            foreach (var rep in report.EnumerateArray())
            {
                if (!rep.TryGetProperty("lv", out var lvs)) continue;
                foreach (var lv in lvs.EnumerateArray())
                {
                    list.Add(new LvmVolume
                    {
                        VgName = Str(lv, "vg_name"),
                        LvName = Str(lv, "lv_name"),
                        LvPath = Str(lv, "lv_path"),
                        LvDmPath = Str(lv, "lv_dm_path"),
                        LvAttr = Str(lv, "lv_attr"),
                        SizeBytes = ParseBytes(Str(lv, "lv_size")),
                        KernelMajor = Str(lv, "lv_kernel_major"),
                        KernelMinor = Str(lv, "lv_kernel_minor"),
                        Origin = Str(lv, "origin"),
                    });
                }
            }
            return list;
        }

        /// <summary>vg_free in bytes from `vgs --reportformat json --units b --nosuffix`, or null.</summary>
        public static long? ParseVgFree(string json, string vg)
        {
            using var doc = JsonDocument.Parse(json);
            if (!doc.RootElement.TryGetProperty("report", out var report)) return null;
            foreach (var rep in report.EnumerateArray())
            {
                if (!rep.TryGetProperty("vg", out var vgs)) continue;
                foreach (var v in vgs.EnumerateArray())
                    if (Str(v, "vg_name") == vg) return ParseBytes(Str(v, "vg_free"));
            }
            return null;
        }

        /// <summary>The LV whose kernel major:minor (or path) is the mount's source.</summary>
        public static LvmVolume? MatchMount(IEnumerable<LvmVolume> lvs, MountInfo mount)
        {
            var all = lvs.ToList();
            var byDev = all.FirstOrDefault(v => v.KernelMajor.Length > 0 && v.KernelMajor != "-1" && (v.KernelMajor + ":" + v.KernelMinor) == mount.MajMin);
            if (byDev != null) return byDev;
            var src = mount.Source;
            int bracket = src.IndexOf('[');
            if (bracket > 0) src = src.Substring(0, bracket);
            return all.FirstOrDefault(v => v.LvPath == src || v.LvDmPath == src);
        }

        /// <summary>
        /// The LV a device path names: by lv_path (/dev/vg/lv) or lv_dm_path (/dev/mapper/vg-lv), then by the
        /// device's major:minor (/dev/dm-N, /dev/disk/by-id/… symlinks), then by decoding a /dev/mapper name.
        /// </summary>
        public static LvmVolume? MatchDevice(IEnumerable<LvmVolume> lvs, string device, string? majMin)
        {
            var all = lvs.ToList();
            var byPath = all.FirstOrDefault(v => (v.LvPath.Length > 0 && v.LvPath == device) || (v.LvDmPath.Length > 0 && v.LvDmPath == device));
            if (byPath != null) return byPath;
            if (!string.IsNullOrEmpty(majMin))
            {
                var byDev = all.FirstOrDefault(v => v.KernelMajor.Length > 0 && v.KernelMajor != "-1" && (v.KernelMajor + ":" + v.KernelMinor) == majMin);
                if (byDev != null) return byDev;
            }
            var parsed = ParseMapperName(device);
            return parsed == null ? null : all.FirstOrDefault(v => v.VgName == parsed.Value.Vg && v.LvName == parsed.Value.Lv);
        }

        /// <summary>
        /// /dev/mapper/vg-lv → (vg, lv): device-mapper joins the names with '-' and doubles each '-' inside
        /// them ("my--vg-data--1" → my-vg, data-1). Null when the path is not such a name.
        /// </summary>
        public static (string Vg, string Lv)? ParseMapperName(string device)
        {
            const string prefix = "/dev/mapper/";
            if (!device.StartsWith(prefix, StringComparison.Ordinal)) return null;
            var name = device.Substring(prefix.Length);
            for (int i = 0; i < name.Length; i++)
            {
                if (name[i] != '-') continue;
                if (i + 1 < name.Length && name[i + 1] == '-') { i++; continue; }
                if (i == 0 || i == name.Length - 1) return null;
                return (name.Substring(0, i).Replace("--", "-"), name.Substring(i + 1).Replace("--", "-"));
            }
            return null;
        }

        private static long ParseBytes(string s)
        {
            s = s.Trim().TrimEnd('B', 'b');
            return long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v
                : decimal.TryParse(s, NumberStyles.Number, CultureInfo.InvariantCulture, out var d) ? (long)d : 0;
        }

        private static string Str(JsonElement e, string name) =>
            e.TryGetProperty(name, out var v) ? (v.ValueKind == JsonValueKind.String ? v.GetString() ?? "" : v.ToString()) : "";

        private static string Req(SnapshotRecord r, string key) =>
            r.Get(key) ?? throw Fail.InvalidData("SnapshotStateCorrupt", $"Snapshot '{r.SnapshotId}' has no {key} in the state file.", r.SnapshotId);
    }
}
