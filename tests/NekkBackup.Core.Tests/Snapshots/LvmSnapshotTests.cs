using System;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Snapshots;
using NekkBackup.Core.Tests.TestKit;
using Xunit;

namespace NekkBackup.Core.Tests.Snapshots
{
    /// <summary>
    /// Real LVM: a volume group on a loop device, an ext4 logical volume with studio data, a snapshot
    /// through the provider. Runs only where device-mapper has the snapshot target (not on this CI).
    /// </summary>
    public class LvmSnapshotTests
    {
        [LvmFact]
        public async Task Lvm_snapshot_is_mounted_read_only_holds_its_moment_and_is_removed()
        {
            using var dir = new TempDir("lvm");
            var img = Path.Combine(dir.Path, "pv.img");
            using (var f = new FileStream(img, FileMode.CreateNew)) f.SetLength(512L << 20);
            var loop = ProcessHelper.Check("losetup", $"--find --show \"{img}\"").Trim();
            var vg = "nekktest" + Guid.NewGuid().ToString("N").Substring(0, 6);
            var mnt = dir.Sub("mnt");
            try
            {
                ProcessHelper.Check("pvcreate", $"-q {loop}");
                ProcessHelper.Check("vgcreate", $"-q {vg} {loop}");
                ProcessHelper.Check("lvcreate", $"-q -y --size 200m --name studio {vg}");
                ProcessHelper.Check("mkfs.ext4", $"-q /dev/{vg}/studio");
                ProcessHelper.Check("mount", $"/dev/{vg}/studio \"{mnt}\"");
                var src = Path.Combine(mnt, "Sessions");
                StudioData.Generate(src, 10, 21);
                var before = StudioData.Digest(src);

                var obs = new RecordingObserver();
                var manager = new SnapshotManager(new SnapshotStateStore(Path.Combine(dir.Path, "state", "snapshots.json")),
                    new ISnapshotProvider[] { new LvmSnapshotProvider(ProcessRunner.Instance, new LvmSnapshotSizePolicy(20, 32), dir.Sub("snapmnt")) }, obs);
                var snap = await manager.CreateAsync(src, SnapshotProviderKind.Lvm, false, CancellationToken.None);
                Assert.Equal(vg + "/studio", snap.Volume);
                StudioData.Mutate(src, 40, 3);
                Assert.True(StudioData.Diff(before, StudioData.Digest(snap.SnapshotPath)).Length == 0);
                Assert.ThrowsAny<IOException>(() => File.WriteAllText(Path.Combine(snap.SnapshotPath, "x"), "x"));
                Assert.Contains("nekk_", ProcessHelper.Check("lvs", vg));

                await manager.RemoveAsync(snap.SnapshotId, CancellationToken.None);
                Assert.DoesNotContain("nekk_", ProcessHelper.Check("lvs", vg));
                Assert.Empty(manager.Records());
            }
            finally
            {
                ProcessHelper.Run("umount", $"\"{mnt}\"");
                ProcessHelper.Run("vgremove", $"-f -y {vg}");
                ProcessHelper.Run("pvremove", $"-y {loop}");
                ProcessHelper.Run("losetup", $"-d {loop}");
            }
        }
    }
}
