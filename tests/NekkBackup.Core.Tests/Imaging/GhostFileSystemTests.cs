using System;
using System.IO;
using System.Linq;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Imaging;
using NekkBackup.Core.Tests.TestKit;
using Xunit;
using static NekkBackup.Core.Tests.Imaging.GhostTestSupport;

namespace NekkBackup.Core.Tests.Imaging
{
    /// <summary>Real file systems (root): ext4 and NTFS images with studio data, a loop block device, mounted targets.</summary>
    public class GhostFileSystemTests
    {
        private const long MiB = 1 << 20;

        [RootFact("mkfs.ext4", "losetup", "mount")]
        public void Ext4ImageAndLoopDeviceRoundTripAfterA5PercentChange() => RoundTrip("ext4", 256, 60, viaLoopDevice: true, mutateSeed: 2);

        [RootFact("mkntfs", "ntfs-3g")]
        public void NtfsImageRoundTripAfterA5PercentChange() => RoundTrip("ntfs", 128, 40, viaLoopDevice: false, mutateSeed: 5);

        private static void RoundTrip(string kind, int sizeMb, int dataMb, bool viaLoopDevice, int mutateSeed)
        {
            using var work = new TempDir("ghostfs");
            var repo = Path.Combine(work.Path, "repo");
            using var fs = new LoopFileSystem(kind, sizeMb);
            StudioData.Generate(Path.Combine(fs.MountPoint, "studio"), dataMb, seed: 21);
            var digest1 = StudioData.Digest(Path.Combine(fs.MountPoint, "studio"));
            fs.Unmount();
            var sha1 = Sha256(fs.ImagePath);

            var first = Capture(fs.ImagePath, repo);
            Assert.Equal(sha1, first.VolumeSha256);
            Assert.Equal((long)sizeMb << 20, first.SizeBytes);
            long afterFirst = DirectoryBytes(repo);

            if (viaLoopDevice)
            {
                var dev = ProcessHelper.Check("losetup", $"--find --show \"{fs.ImagePath}\"").Trim();
                try
                {
                    Assert.StartsWith("/dev/loop", dev);
                    var viaDev = Capture(dev, repo);
                    Assert.Equal(dev, viaDev.Source);
                    Assert.Equal((long)sizeMb << 20, viaDev.SizeBytes); // BLKGETSIZE64
                    Assert.Equal(sha1, viaDev.VolumeSha256);
                    Assert.Equal(0, viaDev.NewBytes);                  // same bytes: all deduplicated
                }
                finally { ProcessHelper.Run("losetup", $"-d {dev}"); }
            }

            Mount(fs.ImagePath, kind, fs.MountPoint);
            // The seeds write ~2 % of the bytes of these small trees (studiogen: 1.2 MB of 60, 0.75 MB of 40): with tens
            // of MB, some seeds rewrite one 20–30 MB WAV (half the data), which is not "a 5 % change".
            try { StudioData.Mutate(Path.Combine(fs.MountPoint, "studio"), 5, seed: mutateSeed); }
            finally { Unmount(fs.MountPoint); }
            Mount(fs.ImagePath, kind, fs.MountPoint);
            var digest2 = StudioData.Digest(Path.Combine(fs.MountPoint, "studio"));
            Unmount(fs.MountPoint);
            var sha2 = Sha256(fs.ImagePath);
            Assert.NotEqual(sha1, sha2);

            long before = DirectoryBytes(repo);
            var second = Capture(fs.ImagePath, repo);
            long growth = DirectoryBytes(repo) - before;
            Assert.Equal(sha2, second.VolumeSha256);
            Assert.True(second.NewBytes < first.NewBytes / 10, $"second capture stored {second.NewBytes} new bytes vs {first.NewBytes}");
            Assert.True(growth < afterFirst / 10, $"repository grew {growth} bytes vs {afterFirst} after the first capture");

            var r1 = Path.Combine(work.Path, "r1.img");
            var r2 = Path.Combine(work.Path, "r2.img");
            Restore(repo, first.ImageId, r1);
            Restore(repo, second.ImageId, r2);
            Assert.Equal(sha1, Sha256(r1));
            Assert.Equal(sha2, Sha256(r2));
            var m1 = MountedDigest(r1, kind, "studio");
            var m2 = MountedDigest(r2, kind, "studio");
            Assert.True(digest1.Count == m1.Count && !digest1.Except(m1).Any(), StudioData.Diff(digest1, m1));
            Assert.True(digest2.Count == m2.Count && !digest2.Except(m2).Any(), StudioData.Diff(digest2, m2));
            Assert.Equal("Passed", Test(repo, full: true).Status);
        }

        [RootFact("mkfs.ext4", "losetup", "mount")]
        public void RestoreRefusesMountedAndTooSmallTargets()
        {
            using var work = new TempDir("ghostfs");
            var src = Path.Combine(work.Path, "vol.img");
            WriteVolumeFile(src, 12 * MiB, seed: 31);
            var repo = Path.Combine(work.Path, "repo");
            var img = Capture(src, repo);

            // A block device smaller than the image.
            var small = Path.Combine(work.Path, "small.img");
            using (var f = File.Create(small)) f.SetLength(8 * MiB);
            var dev = ProcessHelper.Check("losetup", $"--find --show \"{small}\"").Trim();
            try
            {
                var ex = Assert.Throws<NekkBackupException>(() => Restore(repo, img.ImageId, dev, force: true));
                Assert.Equal("NekkBackup.TargetTooSmall", ex.ErrorId);
                Assert.Equal("NekkBackup.VhdNeedsFileTarget", Assert.Throws<NekkBackupException>(() => Restore(repo, img.ImageId, dev, GhostRestoreFormat.Vhd)).ErrorId);
            }
            finally { ProcessHelper.Run("losetup", $"-d {dev}"); }

            // A mounted ext4 image: refused as a file (its loop device is mounted) and as the loop device.
            using var fs = new LoopFileSystem("ext4", 16);
            var ex2 = Assert.Throws<NekkBackupException>(() => Restore(repo, img.ImageId, fs.ImagePath, force: false));
            Assert.Equal("NekkBackup.TargetMounted", ex2.ErrorId);
            var loop = ProcessHelper.Check("losetup", $"-j \"{fs.ImagePath}\"").Split(':')[0].Trim();
            Assert.StartsWith("/dev/loop", loop);
            var ex3 = Assert.Throws<NekkBackupException>(() => Restore(repo, img.ImageId, loop));
            Assert.Equal("NekkBackup.TargetMounted", ex3.ErrorId);
            Assert.Contains(fs.MountPoint, ex3.Message);
            fs.Unmount();

            // A large-enough, unmounted block device: written bit for bit (the tail past the image is left alone).
            var big = Path.Combine(work.Path, "big.img");
            using (var f = File.Create(big)) f.SetLength(16 * MiB);
            var dev2 = ProcessHelper.Check("losetup", $"--find --show \"{big}\"").Trim();
            try
            {
                Restore(repo, img.ImageId, dev2);
                Assert.Equal(Sha256(src), Sha256(dev2, 0, img.SizeBytes));
            }
            finally { ProcessHelper.Run("losetup", $"-d {dev2}"); }
        }
    }
}
