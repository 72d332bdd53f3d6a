using System;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Imaging;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Snapshots;
using NekkBackup.Core.Tests.Snapshots;
using NekkBackup.Core.Tests.TestKit;
using Xunit;

namespace NekkBackup.Core.Tests.Imaging
{
    /// <summary>
    /// New-NekkGhostImage -Snapshot: the capture reads the snapshot's device and the snapshot is removed
    /// after success, error and cancel (LVM faked: its snapshot "device" is a file the fake lvs reports as
    /// lv_path); real loop devices without LVM (Auto → warning + live capture, Required → SnapshotUnsupported);
    /// and a real LVM capture where device-mapper exists.
    /// </summary>
    public class GhostSnapshotTests
    {
        private static GhostCaptureOptions Options(string source, string repo, Func<string, CancellationToken, Task<(string, IDisposable)>>? hook) => new()
        {
            Source = source,
            Repository = repo,
            ChunkSize = 1 << 20,
            SkipPluginInventory = true,
            VolumeDigest = true,
            Snapshot = hook,
        };

        private sealed class Fixture : IDisposable
        {
            public readonly TempDir Dir = new("ghostsnap");
            public readonly BlockSnapshotTests.LvmWorld World = new();
            public readonly SnapshotManager Manager;
            public readonly string SnapshotFile;
            public readonly string Repo;

            public Fixture(long size = 8 << 20)
            {
                SnapshotFile = Path.Combine(Dir.Path, "snapshot-device.img");
                GhostTestSupport.WriteVolumeFile(SnapshotFile, size, 11, zeroFrom: 2 << 20, zeroLength: 1 << 20);
                World.SnapshotPath = _ => SnapshotFile;
                Manager = BlockSnapshotTests.LinuxManager(Dir, World.Provider());
                Repo = Path.Combine(Dir.Path, "repo");
            }

            public Func<string, CancellationToken, Task<(string, IDisposable)>>? Hook(SnapshotMode mode, IRunObserver obs) =>
                GhostSnapshots.ForMode(mode, obs, () => Manager, _ => true);

            public void Dispose() => Dir.Dispose();
        }

        [Fact]
        public async Task Capture_reads_the_snapshot_device_and_removes_the_snapshot_after()
        {
            using var f = new Fixture();
            var obs = new SpyObserver();
            // The live "device" does not exist: every byte must come from the snapshot.
            var image = await GhostRepository.CaptureAsync(Options("/dev/vg0/studio", f.Repo, f.Hook(SnapshotMode.Required, obs)), obs, CancellationToken.None);

            Assert.Equal("/dev/vg0/studio", image.Source);
            Assert.Contains(f.World.Runner.Calls, c => c.StartsWith("lvcreate --snapshot --size 20480m --name nekk_") && c.EndsWith(" vg0/studio"));
            Assert.Contains(f.World.Runner.Calls, c => c.StartsWith("lvremove -y vg0/nekk_"));
            Assert.DoesNotContain(f.World.Runner.Calls, c => c.StartsWith("mount"));
            Assert.Empty(f.World.Existing);
            Assert.Empty(f.Manager.Records());
            var manifest = File.ReadAllText(Directory.GetFiles(Path.Combine(f.Repo, "images"), image.ImageId + "*.json").Single());
            Assert.Contains(f.SnapshotFile, manifest);

            var restored = Path.Combine(f.Dir.Path, "restored.img");
            GhostTestSupport.Restore(f.Repo, image.ImageId, restored);
            Assert.Equal(GhostTestSupport.Sha256(f.SnapshotFile), GhostTestSupport.Sha256(restored));
        }

        [Fact]
        public async Task Snapshot_is_removed_when_the_capture_fails()
        {
            using var f = new Fixture();
            f.World.SnapshotPath = _ => Path.Combine(f.Dir.Path, "vanished-device");
            var obs = new SpyObserver();
            var ex = await Assert.ThrowsAsync<NekkBackupException>(() =>
                GhostRepository.CaptureAsync(Options("/dev/vg0/studio", f.Repo, f.Hook(SnapshotMode.Required, obs)), obs, CancellationToken.None));
            Assert.Equal("NekkBackup.SourceNotFound", ex.ErrorId);
            Assert.Contains(f.World.Runner.Calls, c => c.StartsWith("lvremove -y vg0/nekk_"));
            Assert.Empty(f.World.Existing);
            Assert.Empty(f.Manager.Records());
        }

        private sealed class CancelOnProgress : IRunObserver
        {
            private readonly CancellationTokenSource _cts;
            public int Progresses;
            public CancelOnProgress(CancellationTokenSource cts) => _cts = cts;
            public void Progress(RunProgress progress) { Interlocked.Increment(ref Progresses); _cts.Cancel(); }
            public void Message(RunMessageLevel level, string text) { }
            public void ItemFailed(string item, NekkBackupException error) { }
        }

        [Fact]
        public async Task Snapshot_is_removed_when_the_capture_is_cancelled()
        {
            using var f = new Fixture(32 << 20);
            using var cts = new CancellationTokenSource();
            var obs = new CancelOnProgress(cts);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
                GhostRepository.CaptureAsync(Options("/dev/vg0/studio", f.Repo, f.Hook(SnapshotMode.Auto, obs)), obs, cts.Token));
            Assert.True(obs.Progresses > 0, "the capture had started reading the snapshot");
            Assert.Contains(f.World.Runner.Calls, c => c.StartsWith("lvremove -y vg0/nekk_"));
            Assert.Empty(f.World.Existing);
            Assert.Empty(f.Manager.Records());
            Assert.Empty(GhostRepository.List(f.Repo));
        }

        [Fact]
        public async Task A_crashed_capture_snapshot_is_removed_by_the_next_capture()
        {
            using var f = new Fixture();
            var snap = await f.Manager.CreateBlockAsync("/dev/vg0/studio", SnapshotProviderKind.Auto, false, CancellationToken.None);
            var rec = f.Manager.Records().Single();
            rec.OwnerPid = BlockSnapshotTests.DeadPid();
            f.Manager.Store.Update(rec.SnapshotId, rec);

            var obs = new SpyObserver();
            await GhostRepository.CaptureAsync(Options("/dev/vg0/studio", f.Repo, f.Hook(SnapshotMode.Required, obs)), obs, CancellationToken.None);
            Assert.Contains("lvremove -y vg0/" + snap.SnapshotId.Substring("Lvm:vg0/".Length), f.World.Runner.Calls);
            Assert.Empty(f.World.Existing);
            Assert.Empty(f.Manager.Records());
        }

        [Fact]
        public async Task Btrfs_device_Auto_warns_and_images_live_Required_fails()
        {
            using var f = new Fixture();
            f.World.BlkidType = "btrfs";
            var live = Path.Combine(f.Dir.Path, "live.img");
            GhostTestSupport.WriteVolumeFile(live, 4 << 20, 5);

            var obs = new SpyObserver();
            var image = await GhostRepository.CaptureAsync(Options(live, f.Repo, f.Hook(SnapshotMode.Auto, obs)), obs, CancellationToken.None);
            Assert.Contains(obs.Messages, m => m.StartsWith("Warning: No snapshot of") && m.Contains("btrfs") && m.Contains("live"));
            var restored = Path.Combine(f.Dir.Path, "restored.img");
            GhostTestSupport.Restore(f.Repo, image.ImageId, restored);
            Assert.Equal(GhostTestSupport.Sha256(live), GhostTestSupport.Sha256(restored));

            var ex = await Assert.ThrowsAsync<NekkBackupException>(() =>
                GhostRepository.CaptureAsync(Options(live, f.Repo, f.Hook(SnapshotMode.Required, obs)), obs, CancellationToken.None));
            Assert.Equal("NekkBackup.SnapshotUnsupported", ex.ErrorId);
            Assert.Single(GhostRepository.List(f.Repo));
            Assert.DoesNotContain(f.World.Runner.Calls, c => c.StartsWith("lvcreate"));
        }

        [Fact]
        public void Image_files_and_None_need_no_snapshot()
        {
            Assert.Null(GhostSnapshots.ForMode(SnapshotMode.None, NullRunObserver.Instance));
            using var f = new Fixture();
            var hook = GhostSnapshots.ForMode(SnapshotMode.Required, NullRunObserver.Instance, () => throw new InvalidOperationException("no manager for files"));
            var (device, release) = hook!(f.SnapshotFile, CancellationToken.None).GetAwaiter().GetResult();
            Assert.Equal(f.SnapshotFile, device);
            release.Dispose();
            Assert.True(GhostSnapshots.IsShadowDevice(@"\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy3"));
        }

        // ------------------------------------------------------------------ real devices

        private static string Losetup(string image) => ProcessHelper.Check("losetup", $"--find --show \"{image}\"").Trim();

        [RootFact("losetup", "mkfs.ext4", "blkid")]
        public async Task Real_loop_device_without_lvm_Auto_images_live_with_a_warning_Required_fails()
        {
            using var dir = new TempDir("ghostloop");
            var img = Path.Combine(dir.Path, "ext4.img");
            using (var fs = new FileStream(img, FileMode.CreateNew)) fs.SetLength(24L << 20);
            ProcessHelper.Check("mkfs.ext4", $"-q -F \"{img}\"");
            File.WriteAllBytes(Path.Combine(dir.Path, "marker"), new byte[] { 1 });
            var loop = Losetup(img);
            try
            {
                Assert.True(GhostSnapshots.IsDevice(loop));
                var state = new SnapshotStateStore(Path.Combine(dir.Path, "state", "snapshots.json"));
                var obs = new SpyObserver();
                var repo = Path.Combine(dir.Path, "repo");
                var image = await GhostRepository.CaptureAsync(
                    Options(loop, repo, GhostSnapshots.ForMode(SnapshotMode.Auto, obs, () => SnapshotManager.CreateDefault(obs, state))), obs, CancellationToken.None);
                Assert.Contains(obs.Messages, m => m.StartsWith("Warning: No snapshot of '" + loop + "'") && m.Contains("NekkBackup.SnapshotUnsupported") && m.Contains("not an LVM logical volume"));
                Assert.Equal(24L << 20, image.SizeBytes);
                var restored = Path.Combine(dir.Path, "restored.img");
                GhostTestSupport.Restore(repo, image.ImageId, restored);
                Assert.Equal(GhostTestSupport.Sha256(img), GhostTestSupport.Sha256(restored));
                Assert.Contains("ext4", ProcessHelper.Check("blkid", $"-p -o value -s TYPE \"{restored}\""));

                var ex = await Assert.ThrowsAsync<NekkBackupException>(() => GhostRepository.CaptureAsync(
                    Options(loop, repo, GhostSnapshots.ForMode(SnapshotMode.Required, obs, () => SnapshotManager.CreateDefault(obs, state))), obs, CancellationToken.None));
                Assert.Equal("NekkBackup.SnapshotUnsupported", ex.ErrorId);
                Assert.Single(GhostRepository.List(repo));
                Assert.Empty(state.Load());
            }
            finally
            {
                ProcessHelper.Run("losetup", $"-d {loop}");
            }
        }

        [RootFact("losetup", "mkfs.btrfs", "blkid")]
        public async Task Real_btrfs_loop_device_is_file_level_only()
        {
            using var dir = new TempDir("ghostloop");
            var img = Path.Combine(dir.Path, "btrfs.img");
            using (var fs = new FileStream(img, FileMode.CreateNew)) fs.SetLength(128L << 20);
            ProcessHelper.Check("mkfs.btrfs", $"-q -f \"{img}\"");
            var loop = Losetup(img);
            try
            {
                var state = new SnapshotStateStore(Path.Combine(dir.Path, "state", "snapshots.json"));
                var obs = new SpyObserver();
                var hook = GhostSnapshots.ForMode(SnapshotMode.Required, obs, () => SnapshotManager.CreateDefault(obs, state))!;
                var ex = await Assert.ThrowsAsync<NekkBackupException>(() => hook(loop, CancellationToken.None));
                Assert.Equal("NekkBackup.SnapshotUnsupported", ex.ErrorId);
                Assert.Contains("btrfs", ex.Message);

                var (device, release) = await GhostSnapshots.ForMode(SnapshotMode.Auto, obs, () => SnapshotManager.CreateDefault(obs, state))!(loop, CancellationToken.None);
                Assert.Equal(loop, device);
                release.Dispose();
                Assert.Contains(obs.Messages, m => m.StartsWith("Warning: No snapshot of") && m.Contains("btrfs"));
                Assert.Empty(state.Load());
            }
            finally
            {
                ProcessHelper.Run("losetup", $"-d {loop}");
            }
        }

        /// <summary>
        /// Real LVM (needs the device-mapper snapshot target; skips here): the origin is changed right after
        /// the snapshot is taken, and the image must still hold the bytes from before; the snapshot LV is gone after.
        /// </summary>
        [LvmFact]
        public async Task Lvm_capture_reads_the_snapshot_lv_and_removes_it()
        {
            using var dir = new TempDir("ghostlvm");
            var pv = Path.Combine(dir.Path, "pv.img");
            using (var fs = new FileStream(pv, FileMode.CreateNew)) fs.SetLength(256L << 20);
            var loop = Losetup(pv);
            var vg = "nekkghost" + Guid.NewGuid().ToString("N").Substring(0, 6);
            try
            {
                ProcessHelper.Check("pvcreate", $"-q {loop}");
                ProcessHelper.Check("vgcreate", $"-q {vg} {loop}");
                ProcessHelper.Check("lvcreate", $"-q -y --size 64m --name disk {vg}");
                var lv = $"/dev/{vg}/disk";
                var content = Path.Combine(dir.Path, "content.img");
                GhostTestSupport.WriteVolumeFile(content, 64L << 20, 42, zeroFrom: 8 << 20, zeroLength: 4 << 20);
                ProcessHelper.Check("dd", $"if=\"{content}\" of={lv} bs=1M conv=fsync status=none");
                var before = GhostTestSupport.Sha256(lv);

                var state = new SnapshotStateStore(Path.Combine(dir.Path, "state", "snapshots.json"));
                var obs = new ScribbleAfterSnapshot(lv);
                var manager = new SnapshotManager(state, new ISnapshotProvider[] { new LvmSnapshotProvider(ProcessRunner.Instance, new LvmSnapshotSizePolicy(50, 16)) }, obs);
                var repo = Path.Combine(dir.Path, "repo");
                var image = await GhostRepository.CaptureAsync(Options(lv, repo, GhostSnapshots.ForMode(SnapshotMode.Required, obs, () => manager)), obs, CancellationToken.None);

                Assert.True(obs.Scribbled, "the origin was written after the snapshot was taken");
                Assert.NotEqual(before, GhostTestSupport.Sha256(lv));
                var restored = Path.Combine(dir.Path, "restored.img");
                GhostTestSupport.Restore(repo, image.ImageId, restored);
                Assert.Equal(before, GhostTestSupport.Sha256(restored));
                Assert.DoesNotContain("nekk_", ProcessHelper.Check("lvs", vg));
                Assert.Empty(state.Load());
            }
            finally
            {
                ProcessHelper.Run("vgremove", $"-f -y {vg}");
                ProcessHelper.Run("pvremove", $"-y {loop}");
                ProcessHelper.Run("losetup", $"-d {loop}");
            }
        }

        /// <summary>Writes to the origin the moment the hook reports the snapshot (before any byte is read).</summary>
        private sealed class ScribbleAfterSnapshot : IRunObserver
        {
            private readonly string _origin;
            public bool Scribbled;
            public ScribbleAfterSnapshot(string origin) => _origin = origin;
            public void Progress(RunProgress progress) { }
            public void Message(RunMessageLevel level, string text)
            {
                if (Scribbled || !text.StartsWith("Imaging '", StringComparison.Ordinal)) return;
                GhostTestSupport.Scribble(_origin, 1 << 20, 1 << 20, 99);
                ProcessHelper.Check("sync", "");
                Scribbled = true;
            }
            public void ItemFailed(string item, NekkBackupException error) { }
        }
    }
}
