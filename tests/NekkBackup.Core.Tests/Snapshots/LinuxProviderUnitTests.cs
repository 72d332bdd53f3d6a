using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Snapshots;
using NekkBackup.Core.Tests.TestKit;
using Xunit;

namespace NekkBackup.Core.Tests.Snapshots
{
    /// <summary>Command building and output parsing of the LVM and btrfs providers, with a fake process runner.</summary>
    public class LinuxProviderUnitTests
    {
        private const string LvsJson = @"  {
      ""report"": [
          {
              ""lv"": [
                  {""vg_name"":""vg0"", ""lv_name"":""root"", ""lv_path"":""/dev/vg0/root"", ""lv_dm_path"":""/dev/mapper/vg0-root"", ""lv_attr"":""-wi-ao----"", ""lv_size"":""21474836480"", ""lv_kernel_major"":""254"", ""lv_kernel_minor"":""0"", ""origin"":""""},
                  {""vg_name"":""vg0"", ""lv_name"":""studio"", ""lv_path"":""/dev/vg0/studio"", ""lv_dm_path"":""/dev/mapper/vg0-studio"", ""lv_attr"":""owi-aos---"", ""lv_size"":""107374182400"", ""lv_kernel_major"":""254"", ""lv_kernel_minor"":""3"", ""origin"":""""},
                  {""vg_name"":""vg0"", ""lv_name"":""studio_snap"", ""lv_path"":""/dev/vg0/studio_snap"", ""lv_dm_path"":""/dev/mapper/vg0-studio_snap"", ""lv_attr"":""swi-aos---"", ""lv_size"":""1073741824"", ""lv_kernel_major"":""254"", ""lv_kernel_minor"":""5"", ""origin"":""studio""},
                  {""vg_name"":""vg1"", ""lv_name"":""media"", ""lv_path"":""/dev/vg1/media"", ""lv_dm_path"":""/dev/mapper/vg1-media"", ""lv_attr"":""Vwi-aotz--"", ""lv_size"":""536870912000"", ""lv_kernel_major"":""254"", ""lv_kernel_minor"":""7"", ""origin"":""""}
              ]
          }
      ]
      ,
      ""log"": [
      ]
  }
";

        private static string VgsJson(string vg, long free) =>
            "{\"report\":[{\"vg\":[{\"vg_name\":\"" + vg + "\", \"vg_free\":\"" + free + "\"}]}]}";

        private static FakeProcessRunner LvmRunner(string findmnt, long vgFree = 200L << 30)
        {
            var r = new FakeProcessRunner();
            r.On("findmnt", findmnt);
            r.On("lvs", a => a.Count == LvmSnapshotProvider.LvsArgs().Count, LvsJson);
            r.On("lvs", a => a.Last().Contains("/nekk_"), a => new ProcessOutput(0,
                "{\"report\":[{\"lv\":[{\"vg_name\":\"" + a.Last().Split('/')[0] + "\",\"lv_name\":\"" + a.Last().Split('/')[1] + "\"}]}]}", ""));
            r.On("vgs", a => true, a => new ProcessOutput(0, VgsJson(a.Last(), vgFree), ""));
            r.On("lvcreate", "");
            r.On("mount", "");
            r.On("umount", "");
            r.On("lvremove", "");
            return r;
        }

        private sealed class NoJournal : ISnapshotJournal
        {
            public void Update(string previousId, SnapshotRecord record) { }
        }

        [Fact]
        public async Task Lvm_snapshot_of_an_xfs_volume_is_sized_by_policy_and_mounted_ro_nouuid()
        {
            using var dir = new TempDir("lvm-unit");
            var runner = LvmRunner("/dev/mapper/vg0-studio /srv/studio xfs 254:3\n");
            var p = new LvmSnapshotProvider(runner, LvmSnapshotSizePolicy.Default, dir.Path, () => true);
            var rec = new SnapshotRecord { SourcePath = "/srv/studio/Sessions/Song A" };
            await p.PrepareAsync("/srv/studio/Sessions/Song A", rec, CancellationToken.None);
            await p.CreateAsync(rec, new NoJournal(), CancellationToken.None);

            var name = rec.Get("SnapshotLv")!;
            Assert.Matches("^nekk_[0-9]{8}T[0-9]{6}Z_[0-9a-f]{8}$", name);
            Assert.Equal("Lvm:vg0/" + name, rec.SnapshotId);
            Assert.Equal("vg0/studio", rec.Volume);
            var mp = Path.Combine(dir.Path, name);
            Assert.Equal(mp + "/Sessions/Song A", rec.SnapshotPath);
            Assert.Equal(new[]
            {
                "findmnt --noheadings --raw --output SOURCE,TARGET,FSTYPE,MAJ:MIN --target /srv/studio/Sessions/Song A",
                "lvs --reportformat json --units b --nosuffix --options vg_name,lv_name,lv_path,lv_dm_path,lv_attr,lv_size,lv_kernel_major,lv_kernel_minor,origin",
                "vgs --reportformat json --units b --nosuffix --options vg_name,vg_free vg0",
                $"lvcreate --snapshot --size 20480m --name {name} vg0/studio",
                $"mount -t xfs -o ro,nouuid /dev/vg0/{name} {mp}",
            }, runner.Calls);
        }

        [Fact]
        public async Task Lvm_remove_unmounts_then_lvremoves_and_deletes_the_mount_point()
        {
            using var dir = new TempDir("lvm-unit");
            var runner = LvmRunner("/dev/mapper/vg0-root / ext4 254:0\n");
            var p = new LvmSnapshotProvider(runner, LvmSnapshotSizePolicy.Default, dir.Path, () => true);
            var rec = new SnapshotRecord { SourcePath = "/home/studio" };
            await p.PrepareAsync("/home/studio", rec, CancellationToken.None);
            await p.CreateAsync(rec, new NoJournal(), CancellationToken.None);
            var name = rec.Get("SnapshotLv")!;
            var mp = rec.Get("MountPoint")!;
            Assert.Contains($"mount -t ext4 -o ro /dev/vg0/{name} {mp}", runner.Calls);
            Assert.Contains($"lvcreate --snapshot --size 4096m --name {name} vg0/root", runner.Calls);
            Assert.Equal(mp + "/home/studio", rec.SnapshotPath);
            runner.Calls.Clear();

            await p.DeleteAsync(rec, CancellationToken.None);
            Assert.Equal(new[]
            {
                "umount " + mp,
                "lvs --reportformat json --units b --nosuffix --options vg_name,lv_name,lv_path,lv_dm_path,lv_attr,lv_size,lv_kernel_major,lv_kernel_minor,origin vg0/" + name,
                "lvremove -y vg0/" + name,
            }, runner.Calls);
            Assert.False(Directory.Exists(mp));
        }

        [Fact]
        public async Task Lvm_thin_volume_gets_a_thin_snapshot_without_size()
        {
            using var dir = new TempDir("lvm-unit");
            var runner = LvmRunner("/dev/mapper/vg1-media /srv/media ext4 254:7\n");
            var p = new LvmSnapshotProvider(runner, LvmSnapshotSizePolicy.Default, dir.Path, () => true);
            var rec = new SnapshotRecord();
            await p.PrepareAsync("/srv/media", rec, CancellationToken.None);
            await p.CreateAsync(rec, new NoJournal(), CancellationToken.None);
            Assert.Contains($"lvcreate --snapshot --setactivationskip n --name {rec.Get("SnapshotLv")} vg1/media", runner.Calls);
            Assert.DoesNotContain(runner.Calls, c => c.StartsWith("vgs"));
        }

        [Theory]
        [InlineData("/dev/sda1 /data ext4 8:1\n", "not an LVM logical volume")]
        [InlineData("/dev/mapper/vg0-studio_snap /mnt/old ext4 254:5\n", "a snapshot of a snapshot")]
        [InlineData("/dev/mapper/vg0-studio /srv/studio btrfs 254:3\n", "use the Btrfs provider")]
        public async Task Lvm_refuses_what_it_cannot_snapshot(string findmnt, string why)
        {
            var p = new LvmSnapshotProvider(LvmRunner(findmnt), null, "/nonexistent", () => true);
            var ex = await Assert.ThrowsAsync<NekkBackupException>(() => p.PrepareAsync("/data/x", new SnapshotRecord(), CancellationToken.None));
            Assert.Equal("NekkBackup.SnapshotUnsupported", ex.ErrorId);
            Assert.Contains(why, ex.Message);
        }

        [Fact]
        public async Task Lvm_without_lvm2_tools_is_unsupported()
        {
            var runner = LvmRunner("/dev/sda1 /data ext4 8:1\n");
            runner.MissingTools.Add("lvs");
            var ex = await Assert.ThrowsAsync<NekkBackupException>(() => new LvmSnapshotProvider(runner, null, "/x", () => true).PrepareAsync("/data", new SnapshotRecord(), CancellationToken.None));
            Assert.Equal("NekkBackup.SnapshotUnsupported", ex.ErrorId);
        }

        [Fact]
        public async Task Lvm_checks_free_extents_before_creating()
        {
            var runner = LvmRunner("/dev/mapper/vg0-studio /srv/studio xfs 254:3\n", vgFree: 1L << 30);
            var ex = await Assert.ThrowsAsync<NekkBackupException>(() => new LvmSnapshotProvider(runner, null, "/x", () => true).PrepareAsync("/srv/studio", new SnapshotRecord(), CancellationToken.None));
            Assert.Equal("NekkBackup.SnapshotInsufficientStorage", ex.ErrorId);
            Assert.Equal(FailureKind.LimitsExceeded, ex.Kind);
            Assert.DoesNotContain(runner.Calls, c => c.StartsWith("lvcreate"));
        }

        [Fact]
        public async Task Lvm_refuses_to_remove_a_volume_it_did_not_name()
        {
            var runner = LvmRunner("");
            var rec = new SnapshotRecord { SnapshotId = "Lvm:vg0/root" };
            rec.Data["Vg"] = "vg0";
            rec.Data["SnapshotLv"] = "root";
            var ex = await Assert.ThrowsAsync<NekkBackupException>(() => new LvmSnapshotProvider(runner, null, "/x", () => true).DeleteAsync(rec, CancellationToken.None));
            Assert.Equal("NekkBackup.SnapshotNotOurs", ex.ErrorId);
            Assert.Empty(runner.Calls);
        }

        [Fact]
        public void Lvs_json_is_parsed_and_matched_by_major_minor_then_path()
        {
            var lvs = LvmSnapshotProvider.ParseLvs(LvsJson);
            Assert.Equal(4, lvs.Count);
            Assert.Equal(107374182400L, lvs[1].SizeBytes);
            Assert.True(lvs[2].IsSnapshot);
            Assert.True(lvs[3].IsThin);
            Assert.Equal("studio", LvmSnapshotProvider.MatchMount(lvs, new MountInfo("/dev/dm-3", "/srv", "xfs", "254:3"))!.LvName);
            Assert.Equal("root", LvmSnapshotProvider.MatchMount(lvs, new MountInfo("/dev/mapper/vg0-root", "/", "ext4", ""))!.LvName);
            Assert.Equal("root", LvmSnapshotProvider.MatchMount(lvs, new MountInfo("/dev/vg0/root", "/", "ext4", "9:9"))!.LvName);
            Assert.Null(LvmSnapshotProvider.MatchMount(lvs, new MountInfo("/dev/sda1", "/", "ext4", "8:1")));
            Assert.Equal(5L << 30, LvmSnapshotProvider.ParseVgFree(VgsJson("vg0", 5L << 30), "vg0"));
        }

        [Fact]
        public void Lvm_size_policy()
        {
            var p = LvmSnapshotSizePolicy.Default;
            Assert.Equal(20480, p.SizeMiB(100L << 30));
            Assert.Equal(256, p.SizeMiB(1L << 30));
            Assert.Equal(100, p.SizeMiB(100L << 20));
            Assert.Equal(5120, new LvmSnapshotSizePolicy(50, 64).SizeMiB(10L << 30));
            Assert.Equal("ro,nouuid", LvmSnapshotProvider.MountOptions("xfs"));
            Assert.Equal("ro", LvmSnapshotProvider.MountOptions("ext4"));
        }

        [Fact]
        public void Findmnt_raw_output_is_unescaped()
        {
            var m = LinuxMounts.ParseFindMnt("/dev/mapper/vg0-studio /srv/Studio\\x20Sessions xfs 254:3\n")!;
            Assert.Equal("/srv/Studio Sessions", m.Target);
            Assert.Equal("254:3", m.MajMin);
            Assert.Equal("/dev/loop3[/sessions]", LinuxMounts.ParseFindMnt("/dev/loop3[/sessions] /mnt btrfs 0:52")!.Source);
            Assert.Null(LinuxMounts.ParseFindMnt(""));
        }

        // ---- btrfs ----

        private static FakeProcessRunner BtrfsRunner(string fsType, string statChain, string findmnt = "/dev/loop0 /mnt/pool btrfs 0:45\n", string rootId = "257\n")
        {
            var r = new FakeProcessRunner();
            r.On("stat", a => a[0] == "--file-system", fsType + "\n");
            r.On("stat", a => a[0] == "--format=%d %i", statChain);
            r.On("btrfs", a => a[0] == "inspect-internal", rootId);
            r.On("btrfs", a => a[0] == "subvolume" && a[1] == "show", "sessions\n\tName: sessions\n");
            r.On("findmnt", findmnt);
            return r;
        }

        [Fact]
        public async Task Btrfs_finds_the_subvolume_root_and_plans_the_snapshot_on_the_same_filesystem()
        {
            var runner = BtrfsRunner("btrfs", "45 300\n45 256\n40 256\n30 2\n28 2\n");
            var rec = new SnapshotRecord();
            await new BtrfsSnapshotProvider(runner, () => true).PrepareAsync("/mnt/pool/sessions/Song A", rec, CancellationToken.None);
            var name = rec.SnapshotId.Substring("Btrfs:".Length);
            Assert.Matches("^nekk_[0-9]{8}T[0-9]{6}Z_[0-9a-f]{8}$", name);
            Assert.Equal("/mnt/pool/sessions", rec.Volume);
            Assert.Equal("257", rec.Get("SubvolumeId"));
            Assert.Equal("/mnt/pool/.nekk-snapshots/" + name, rec.Get("SnapshotDir"));
            Assert.Equal("/mnt/pool/.nekk-snapshots/" + name + "/Song A", rec.SnapshotPath);
            Assert.Equal(new[]
            {
                "stat --file-system --format=%T /mnt/pool/sessions/Song A",
                "stat --format=%d %i /mnt/pool/sessions/Song A /mnt/pool/sessions /mnt/pool /mnt /",
                "btrfs inspect-internal rootid /mnt/pool/sessions/Song A",
                "btrfs subvolume show /mnt/pool/sessions",
                "findmnt --noheadings --raw --output SOURCE,TARGET,FSTYPE,MAJ:MIN --target /mnt/pool/sessions/Song A",
            }, runner.Calls);
            Assert.Equal(new[] { "subvolume", "snapshot", "-r", "/mnt/pool/sessions", "/mnt/pool/.nekk-snapshots/" + name },
                BtrfsSnapshotProvider.SnapshotArgs(rec.Get("SubvolumeRoot")!, rec.Get("SnapshotDir")!));
            Assert.Equal(new[] { "subvolume", "delete", "/x/.nekk-snapshots/nekk_1" }, BtrfsSnapshotProvider.DeleteArgs("/x/.nekk-snapshots/nekk_1"));
        }

        [Fact]
        public async Task Btrfs_top_level_subvolume_is_snapshotted_too()
        {
            var runner = BtrfsRunner("btrfs", "45 300\n45 256\n28 2\n", rootId: "5\n");
            var rec = new SnapshotRecord();
            await new BtrfsSnapshotProvider(runner, () => true).PrepareAsync("/mnt/Song", rec, CancellationToken.None);
            Assert.Equal("/mnt", rec.Volume);
            Assert.DoesNotContain(runner.Calls, c => c.StartsWith("btrfs subvolume show"));
        }

        [Fact]
        public async Task Btrfs_refuses_other_filesystems_and_bind_mounted_subdirectories()
        {
            var ex = await Assert.ThrowsAsync<NekkBackupException>(() => new BtrfsSnapshotProvider(isElevated: () => true, runner: BtrfsRunner("ext2/ext3", "", findmnt: "/dev/sda2 /data ext4 8:2\n")).PrepareAsync("/data", new SnapshotRecord(), CancellationToken.None));
            Assert.Equal("NekkBackup.SnapshotUnsupported", ex.ErrorId);
            // stat's magic number says "ext2/ext3" for ext4 too: the message names the mount table's type.
            Assert.Contains("is on ext4 (mounted at /data), not btrfs", ex.Message);

            ex = await Assert.ThrowsAsync<NekkBackupException>(() => new BtrfsSnapshotProvider(isElevated: () => true, runner: BtrfsRunner("btrfs", "45 300\n45 290\n28 2\n")).PrepareAsync("/srv/x", new SnapshotRecord(), CancellationToken.None));
            Assert.Equal("NekkBackup.SnapshotUnsupported", ex.ErrorId);
            Assert.Contains("bind mount", ex.Message);
        }

        [Fact]
        public async Task Btrfs_only_deletes_nekk_snapshots()
        {
            Assert.True(BtrfsSnapshotProvider.IsOurs("/mnt/pool/.nekk-snapshots/nekk_20261125T000000Z_0011aabb"));
            Assert.False(BtrfsSnapshotProvider.IsOurs("/mnt/pool/sessions"));
            Assert.False(BtrfsSnapshotProvider.IsOurs("/mnt/pool/.nekk-snapshots/other"));
            var rec = new SnapshotRecord { SnapshotId = "Btrfs:x" };
            rec.Data["SnapshotDir"] = "/mnt/pool/sessions";
            var runner = new FakeProcessRunner();
            var ex = await Assert.ThrowsAsync<NekkBackupException>(() => new BtrfsSnapshotProvider(runner, () => true).DeleteAsync(rec, CancellationToken.None));
            Assert.Equal("NekkBackup.SnapshotNotOurs", ex.ErrorId);
            Assert.Empty(runner.Calls);
        }

        [Fact]
        public async Task Btrfs_and_Lvm_need_root_once_the_file_system_qualifies()
        {
            var ex = await Assert.ThrowsAsync<NekkBackupException>(() => new BtrfsSnapshotProvider(BtrfsRunner("btrfs", "45 256\n28 2\n"), () => false).PrepareAsync("/mnt", new SnapshotRecord(), CancellationToken.None));
            Assert.Equal("NekkBackup.SnapshotRequiresElevation", ex.ErrorId);
            Assert.Equal(FailureKind.PermissionDenied, ex.Kind);
            ex = await Assert.ThrowsAsync<NekkBackupException>(() => new BtrfsSnapshotProvider(BtrfsRunner("ext2/ext3", "", findmnt: "/dev/sda2 /data ext4 8:2\n"), () => false).PrepareAsync("/data", new SnapshotRecord(), CancellationToken.None));
            Assert.Equal("NekkBackup.SnapshotUnsupported", ex.ErrorId);
            ex = await Assert.ThrowsAsync<NekkBackupException>(() => new LvmSnapshotProvider(LvmRunner("/dev/mapper/vg0-studio /srv/studio xfs 254:3\n"), null, "/x", () => false).PrepareAsync("/srv/studio", new SnapshotRecord(), CancellationToken.None));
            Assert.Equal("NekkBackup.SnapshotRequiresElevation", ex.ErrorId);
        }

        [Fact]
        public void Auto_on_an_unknown_platform_is_unsupported()
        {
            using var dir = new TempDir("auto");
            var m = new SnapshotManager(new SnapshotStateStore(Path.Combine(dir.Path, "s.json")), Array.Empty<ISnapshotProvider>(), new RecordingObserver(), () => false, () => false);
            var ex = Assert.ThrowsAsync<NekkBackupException>(() => m.CreateAsync(dir.Path, SnapshotProviderKind.Auto, false, CancellationToken.None)).Result;
            Assert.Equal("NekkBackup.SnapshotUnsupported", ex.ErrorId);
            Assert.Empty(m.Records());
        }

        [Fact]
        public void Windows_argument_quoting_for_net472()
        {
            Assert.Equal("plain", ProcessRunner.QuoteArgument("plain"));
            Assert.Equal("\"a b\"", ProcessRunner.QuoteArgument("a b"));
            Assert.Equal("\"\"", ProcessRunner.QuoteArgument(""));
            Assert.Equal("\"a\\\"b\"", ProcessRunner.QuoteArgument("a\"b"));
            Assert.Equal("\"c:\\dir x\\\\\"", ProcessRunner.QuoteArgument("c:\\dir x\\"));
        }
    }
}
