using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Resilience;
using NekkBackup.Core.Snapshots;
using NekkBackup.Core.Tests.TestKit;
using Xunit;

namespace NekkBackup.Core.Tests.Snapshots
{
    /// <summary>
    /// Block-level snapshots (Ghost images) through the manager: LVM with a fake process runner (exact
    /// command lines, no mount), VSS with the fake CIM layer, state-file bookkeeping, undo and orphans.
    /// </summary>
    public class BlockSnapshotTests
    {
        private const string LvsJson = @"{""report"":[{""lv"":[
            {""vg_name"":""vg0"", ""lv_name"":""studio"", ""lv_path"":""/dev/vg0/studio"", ""lv_dm_path"":""/dev/mapper/vg0-studio"", ""lv_attr"":""-wi-ao----"", ""lv_size"":""107374182400"", ""lv_kernel_major"":""254"", ""lv_kernel_minor"":""3"", ""origin"":""""},
            {""vg_name"":""vg0"", ""lv_name"":""studio_snap"", ""lv_path"":""/dev/vg0/studio_snap"", ""lv_dm_path"":""/dev/mapper/vg0-studio_snap"", ""lv_attr"":""swi-a-s---"", ""lv_size"":""1073741824"", ""lv_kernel_major"":""254"", ""lv_kernel_minor"":""5"", ""origin"":""studio""},
            {""vg_name"":""vg1"", ""lv_name"":""media"", ""lv_path"":""/dev/vg1/media"", ""lv_dm_path"":""/dev/mapper/vg1-media"", ""lv_attr"":""Vwi-a-tz--"", ""lv_size"":""536870912000"", ""lv_kernel_major"":""254"", ""lv_kernel_minor"":""7"", ""origin"":""""},
            {""vg_name"":""my-vg"", ""lv_name"":""data-1"", ""lv_path"":""/dev/my-vg/data-1"", ""lv_dm_path"":""/dev/mapper/my--vg-data--1"", ""lv_attr"":""-wi-a-----"", ""lv_size"":""1073741824"", ""lv_kernel_major"":""-1"", ""lv_kernel_minor"":""-1"", ""origin"":""""}
        ]}]}";

        private static readonly string LvsAll = "lvs " + string.Join(" ", LvmSnapshotProvider.LvsArgs());
        private static string LvsOne(string lv) => "lvs " + string.Join(" ", LvmSnapshotProvider.LvsArgs(lv));

        /// <summary>
        /// A runner that behaves like LVM: lvcreate adds the snapshot LV, lvremove drops it, lvs vg/lv reports
        /// it (with <paramref name="snapshotPath"/> as lv_path when given, and <paramref name="attr"/>).
        /// </summary>
        internal sealed class LvmWorld
        {
            public readonly FakeProcessRunner Runner = new();
            public readonly HashSet<string> Existing = new();
            public string BlkidType = "ext4";
            public Func<string, string?>? SnapshotPath;
            public string Attr = "swi-a-s---";
            public Action<IReadOnlyList<string>>? OnLvcreate;

            public LvmWorld()
            {
                Runner.On("blkid", _ => true, _ => new ProcessOutput(BlkidType.Length == 0 ? 2 : 0, BlkidType + "\n", ""));
                Runner.On("lvs", a => a.Count == LvmSnapshotProvider.LvsArgs().Count, LvsJson);
                Runner.On("lvs", a => a.Last().Contains("/nekk_"), a =>
                {
                    var vgLv = a.Last();
                    if (!Existing.Contains(vgLv)) return new ProcessOutput(5, "", $"  Failed to find logical volume \"{vgLv}\"");
                    var parts = vgLv.Split('/');
                    var path = SnapshotPath?.Invoke(parts[1]) ?? "/dev/" + vgLv;
                    return new ProcessOutput(0, "{\"report\":[{\"lv\":[{\"vg_name\":\"" + parts[0] + "\",\"lv_name\":\"" + parts[1] + "\",\"lv_path\":\"" + path + "\",\"lv_attr\":\"" + Attr + "\"}]}]}", "");
                });
                Runner.On("vgs", _ => true, a => new ProcessOutput(0, "{\"report\":[{\"vg\":[{\"vg_name\":\"" + a.Last() + "\", \"vg_free\":\"" + (200L << 30) + "\"}]}]}", ""));
                Runner.On("lvcreate", _ => true, a =>
                {
                    OnLvcreate?.Invoke(a);
                    Existing.Add(a.Last().Split('/')[0] + "/" + a[a.ToList().IndexOf("--name") + 1]);
                    return new ProcessOutput(0, "", "");
                });
                Runner.On("lvremove", _ => true, a => { Existing.Remove(a.Last()); return new ProcessOutput(0, "", ""); });
            }

            public LvmSnapshotProvider Provider(Func<string, string?>? majMin = null) =>
                new(Runner, LvmSnapshotSizePolicy.Default, "/nonexistent/mnt", () => true, majMin ?? (_ => null));
        }

        internal static SnapshotManager LinuxManager(TempDir dir, ISnapshotProvider provider, IRunObserver? obs = null) =>
            new(new SnapshotStateStore(Path.Combine(dir.Path, "state", "snapshots.json")), new[] { provider }, obs ?? NullRunObserver.Instance, () => false, () => true);

        [Fact]
        public async Task Lvm_device_snapshot_is_lvcreated_not_mounted_and_lvremoved_on_release()
        {
            using var dir = new TempDir("blk");
            var w = new LvmWorld();
            var mgr = LinuxManager(dir, w.Provider());
            SnapshotRecord? duringCreate = null;
            w.OnLvcreate = _ => duringCreate = mgr.Records().Single();

            var snap = await mgr.CreateBlockAsync("/dev/vg0/studio", SnapshotProviderKind.Auto, persistent: false, CancellationToken.None);

            var name = snap.SnapshotId.Substring("Lvm:vg0/".Length);
            Assert.Matches("^nekk_[0-9]{8}T[0-9]{6}Z_[0-9a-f]{8}$", name);
            Assert.Equal("Lvm:vg0/" + name, snap.SnapshotId);
            Assert.Equal("Lvm", snap.Provider);
            Assert.Equal("vg0/studio", snap.Volume);
            Assert.Equal("/dev/vg0/studio", snap.SourcePath);
            Assert.Equal("/dev/vg0/" + name, snap.SnapshotPath);
            Assert.Equal(new[]
            {
                "blkid --probe --output value --match-tag TYPE /dev/vg0/studio",
                LvsAll,
                "vgs --reportformat json --units b --nosuffix --options vg_name,vg_free vg0",
                $"lvcreate --snapshot --size 20480m --name {name} vg0/studio",
                LvsOne("vg0/" + name),
            }, w.Runner.Calls);

            // The intent was in the state file before lvcreate ran; afterwards it is complete.
            Assert.NotNull(duringCreate);
            Assert.Equal(SnapshotStates.Creating, duringCreate!.State);
            Assert.Equal(snap.SnapshotId, duringCreate.SnapshotId);
            Assert.True(duringCreate.IsBlock);
            Assert.False(duringCreate.Persistent);
            var rec = mgr.Records().Single();
            Assert.Equal(SnapshotStates.Ready, rec.State);
            Assert.Equal("Block", rec.Get("Mode"));
            Assert.Null(rec.Get("MountPoint"));
            Assert.Equal("/dev/vg0/" + name, rec.SnapshotPath);
            Assert.Equal(SnapshotOwner.CurrentPid, rec.OwnerPid);

            w.Runner.Calls.Clear();
            mgr.Release(snap.SnapshotId);
            Assert.Equal(new[] { LvsOne("vg0/" + name), LvsOne("vg0/" + name), "lvremove -y vg0/" + name }, w.Runner.Calls);
            Assert.DoesNotContain(w.Runner.Calls, c => c.StartsWith("mount") || c.StartsWith("umount"));
            Assert.Empty(mgr.Records());
            Assert.Empty(w.Existing);
        }

        [Theory]
        [InlineData("/dev/vg0/studio", null, "vg0/studio")]
        [InlineData("/dev/mapper/vg0-studio", null, "vg0/studio")]
        [InlineData("/dev/dm-3", "254:3", "vg0/studio")]
        [InlineData("/dev/disk/by-id/dm-name-vg1-media", "254:7", "vg1/media")]
        [InlineData("/dev/mapper/my--vg-data--1", "254:9", "my-vg/data-1")]
        public void Device_paths_are_matched_to_their_logical_volume(string device, string? majMin, string expected)
        {
            var lv = LvmSnapshotProvider.MatchDevice(LvmSnapshotProvider.ParseLvs(LvsJson), device, majMin);
            Assert.NotNull(lv);
            Assert.Equal(expected, lv!.VgName + "/" + lv.LvName);
        }

        [Fact]
        public void Mapper_names_decode_doubled_hyphens()
        {
            Assert.Equal(("my-vg", "data-1"), LvmSnapshotProvider.ParseMapperName("/dev/mapper/my--vg-data--1"));
            Assert.Equal(("vg0", "root"), LvmSnapshotProvider.ParseMapperName("/dev/mapper/vg0-root"));
            Assert.Null(LvmSnapshotProvider.ParseMapperName("/dev/mapper/control"));
            Assert.Null(LvmSnapshotProvider.ParseMapperName("/dev/vg0/root"));
        }

        [Fact]
        public async Task Dm_device_resolved_by_major_minor_gets_a_snapshot_of_its_lv()
        {
            using var dir = new TempDir("blk");
            var w = new LvmWorld();
            var mgr = LinuxManager(dir, w.Provider(d => d == "/dev/dm-3" ? "254:3" : null));
            var snap = await mgr.CreateBlockAsync("/dev/dm-3", SnapshotProviderKind.Lvm, false, CancellationToken.None);
            Assert.Equal("vg0/studio", snap.Volume);
            Assert.Contains(w.Runner.Calls, c => c.StartsWith("lvcreate --snapshot --size 20480m --name nekk_") && c.EndsWith(" vg0/studio"));
            mgr.Release(snap.SnapshotId);
            Assert.Empty(mgr.Records());
        }

        [Fact]
        public async Task Thin_volume_device_gets_a_thin_snapshot_without_size()
        {
            using var dir = new TempDir("blk");
            var w = new LvmWorld();
            var mgr = LinuxManager(dir, w.Provider());
            var snap = await mgr.CreateBlockAsync("/dev/mapper/vg1-media", SnapshotProviderKind.Auto, false, CancellationToken.None);
            var name = snap.SnapshotId.Substring("Lvm:vg1/".Length);
            Assert.Contains($"lvcreate --snapshot --setactivationskip n --name {name} vg1/media", w.Runner.Calls);
            Assert.DoesNotContain(w.Runner.Calls, c => c.StartsWith("vgs"));
            mgr.Release(snap.SnapshotId);
        }

        [Theory]
        [InlineData("/dev/sdb1", "8:17", "not an LVM logical volume")]
        [InlineData("/dev/loop7", "7:7", "not an LVM logical volume")]
        [InlineData("/dev/vg0/studio_snap", null, "snapshot of a snapshot")]
        public async Task Devices_that_are_not_lvm_volumes_are_unsupported_and_nothing_is_recorded(string device, string? majMin, string why)
        {
            using var dir = new TempDir("blk");
            var w = new LvmWorld();
            var mgr = LinuxManager(dir, w.Provider(_ => majMin));
            var ex = await Assert.ThrowsAsync<NekkBackupException>(() => mgr.CreateBlockAsync(device, SnapshotProviderKind.Auto, false, CancellationToken.None));
            Assert.Equal("NekkBackup.SnapshotUnsupported", ex.ErrorId);
            Assert.Contains(why, ex.Message);
            Assert.DoesNotContain(w.Runner.Calls, c => c.StartsWith("lvcreate"));
            Assert.Empty(mgr.Records());
        }

        [Fact]
        public async Task Btrfs_device_is_file_level_only()
        {
            using var dir = new TempDir("blk");
            var w = new LvmWorld { BlkidType = "btrfs" };
            var mgr = LinuxManager(dir, w.Provider());
            var ex = await Assert.ThrowsAsync<NekkBackupException>(() => mgr.CreateBlockAsync("/dev/vg0/studio", SnapshotProviderKind.Auto, false, CancellationToken.None));
            Assert.Equal("NekkBackup.SnapshotUnsupported", ex.ErrorId);
            Assert.Contains("btrfs", ex.Message);
            Assert.Equal(new[] { "blkid --probe --output value --match-tag TYPE /dev/vg0/studio" }, w.Runner.Calls);
            var ex2 = await Assert.ThrowsAsync<NekkBackupException>(() => mgr.CreateBlockAsync("/dev/vg0/studio", SnapshotProviderKind.Btrfs, false, CancellationToken.None));
            Assert.Equal("NekkBackup.SnapshotUnsupported", ex2.ErrorId);
        }

        [Fact]
        public async Task A_snapshot_that_comes_up_inactive_is_removed_and_not_left_recorded()
        {
            using var dir = new TempDir("blk");
            var w = new LvmWorld { Attr = "swi---s---" };
            var mgr = LinuxManager(dir, w.Provider());
            var ex = await Assert.ThrowsAsync<NekkBackupException>(() => mgr.CreateBlockAsync("/dev/vg0/studio", SnapshotProviderKind.Auto, false, CancellationToken.None));
            Assert.Equal("NekkBackup.SnapshotCreateFailed", ex.ErrorId);
            Assert.Contains(w.Runner.Calls, c => c.StartsWith("lvremove -y vg0/nekk_"));
            Assert.Empty(w.Existing);
            Assert.Empty(mgr.Records());
        }

        [Fact]
        public async Task Cancel_while_lvcreate_runs_removes_what_it_made()
        {
            using var dir = new TempDir("blk");
            var w = new LvmWorld();
            var mgr = LinuxManager(dir, w.Provider());
            w.OnLvcreate = a =>
            {
                w.Existing.Add("vg0/" + a[a.ToList().IndexOf("--name") + 1]); // made, then Ctrl+C killed lvcreate
                throw new OperationCanceledException();
            };
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => mgr.CreateBlockAsync("/dev/vg0/studio", SnapshotProviderKind.Auto, false, CancellationToken.None));
            Assert.Contains(w.Runner.Calls, c => c.StartsWith("lvremove -y vg0/nekk_"));
            Assert.Empty(w.Existing);
            Assert.Empty(mgr.Records());
        }

        [Fact]
        public async Task Orphaned_block_snapshot_of_a_crashed_capture_is_lvremoved_without_umount()
        {
            using var dir = new TempDir("blk");
            var w = new LvmWorld();
            var mgr = LinuxManager(dir, w.Provider());
            var snap = await mgr.CreateBlockAsync("/dev/vg0/studio", SnapshotProviderKind.Auto, false, CancellationToken.None);
            // The capturing process "crashed": its pid is gone.
            var rec = mgr.Records().Single();
            rec.OwnerPid = DeadPid();
            rec.OwnerStartTicksUtc = 1;
            mgr.Store.Update(rec.SnapshotId, rec);
            w.Runner.Calls.Clear();

            Assert.Single(mgr.FindOrphans());
            var removed = await mgr.RemoveOrphansAsync(CancellationToken.None);
            Assert.Equal(new[] { snap.SnapshotId }, removed);
            Assert.Contains("lvremove -y vg0/" + snap.SnapshotId.Substring("Lvm:vg0/".Length), w.Runner.Calls);
            Assert.DoesNotContain(w.Runner.Calls, c => c.StartsWith("umount"));
            Assert.Empty(mgr.Records());
            Assert.Empty(w.Existing);
        }

        internal static int DeadPid()
        {
            for (int pid = 4_000_000; pid > 3_000_000; pid -= 7919)
            {
                try { using var p = System.Diagnostics.Process.GetProcessById(pid); }
                catch (ArgumentException) { return pid; }
            }
            throw new InvalidOperationException("no free pid found");
        }

        // ------------------------------------------------------------------ VSS

        private static readonly NekkResilience.RetryPreset Fast = new(3, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(5));

        internal static SnapshotManager WindowsManager(TempDir dir, FakeCim cim, FakeVolumes vols) =>
            new(new SnapshotStateStore(Path.Combine(dir.Path, "state", "snapshots.json")),
                new ISnapshotProvider[] { new VssSnapshotProvider(() => cim, vols, NullRunObserver.Instance, () => true, () => true, () => VssHostCheck.Result.Native, Fast) },
                NullRunObserver.Instance, () => true, () => false);

        [Theory]
        [InlineData(@"C:", @"C:\")]
        [InlineData(@"c", @"C:\")]
        [InlineData(@"D:\", @"D:\")]
        [InlineData(@"\\.\C:", @"C:\")]
        [InlineData(@"\\?\E:\", @"E:\")]
        [InlineData(@"\\?\Volume{0b1c2d3e-0000-0000-0000-100000000000}", @"\\?\Volume{0b1c2d3e-0000-0000-0000-100000000000}\")]
        [InlineData(@"\\.\Volume{0b1c2d3e-0000-0000-0000-100000000000}\", @"\\?\Volume{0b1c2d3e-0000-0000-0000-100000000000}\")]
        [InlineData(@"\\.\PhysicalDrive0", null)]
        [InlineData(@"\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy3", null)]
        [InlineData(@"C:\images\disk.img", null)]
        [InlineData(@"\\?\Volume{not-a-guid}", null)]
        public void Vss_volume_for_a_device_name(string device, string? expected) =>
            Assert.Equal(expected, VssPaths.VolumeForDevice(device));

        [Theory]
        [InlineData(@"\\.\C:")]
        [InlineData(@"C:")]
        [InlineData(@"\\?\Volume{0b1c2d3e-0000-0000-0000-100000000000}\")]
        public async Task Vss_device_snapshot_returns_the_DeviceObject_verbatim_and_deletes_the_shadow_on_release(string device)
        {
            using var dir = new TempDir("blk");
            var cim = new FakeCim { Counter = 7 };
            var vols = new FakeVolumes();
            var mgr = WindowsManager(dir, cim, vols);
            SnapshotRecord? duringCreate = null;
            cim.OnCreate = () => duringCreate = mgr.Records().Single();

            var snap = await mgr.CreateBlockAsync(device, SnapshotProviderKind.Auto, false, CancellationToken.None);

            Assert.Equal(@"Create Volume=\\?\Volume{0b1c2d3e-0000-0000-0000-100000000000}\ Context=ClientAccessible", cim.Calls[0]);
            var shadow = cim.Shadows.Values.Single();
            Assert.Equal(@"\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy7", shadow.DeviceObject);
            Assert.Equal(shadow.DeviceObject, snap.SnapshotPath); // as-is: no trailing backslash (opens the volume, not its root)
            Assert.Equal("Vss:" + shadow.Id, snap.SnapshotId);
            Assert.Equal(device, snap.SourcePath);
            Assert.NotNull(duringCreate);
            Assert.StartsWith(VssSnapshotProvider.PendingPrefix, duringCreate!.SnapshotId);
            Assert.True(duringCreate.IsBlock);
            var rec = mgr.Records().Single();
            Assert.Equal(shadow.Id, rec.Get("ShadowId"));
            Assert.Equal(SnapshotStates.Ready, rec.State);

            mgr.Release(snap.SnapshotId);
            Assert.Contains("Delete " + shadow.Id, cim.Calls);
            Assert.Empty(cim.Shadows);
            Assert.Empty(mgr.Records());
        }

        [Fact]
        public async Task Vss_refuses_devices_that_are_not_volumes()
        {
            using var dir = new TempDir("blk");
            var cim = new FakeCim();
            var mgr = WindowsManager(dir, cim, new FakeVolumes());
            var ex = await Assert.ThrowsAsync<NekkBackupException>(() => mgr.CreateBlockAsync(@"\\.\PhysicalDrive0", SnapshotProviderKind.Auto, false, CancellationToken.None));
            Assert.Equal("NekkBackup.SnapshotUnsupported", ex.ErrorId);
            Assert.Empty(cim.Calls);
            Assert.Empty(mgr.Records());
        }

        [Fact]
        public async Task Vss_create_failure_leaves_no_shadow_and_no_record()
        {
            using var dir = new TempDir("blk");
            var cim = new FakeCim();
            cim.ReturnCodes.Enqueue(6); // diff-area storage too small
            var mgr = WindowsManager(dir, cim, new FakeVolumes());
            await Assert.ThrowsAsync<NekkBackupException>(() => mgr.CreateBlockAsync("D:", SnapshotProviderKind.Auto, false, CancellationToken.None));
            Assert.Empty(cim.Shadows);
            Assert.Empty(mgr.Records());
        }
    }
}
