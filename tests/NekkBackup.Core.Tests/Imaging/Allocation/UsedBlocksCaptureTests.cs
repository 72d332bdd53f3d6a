using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Imaging;
using NekkBackup.Core.Imaging.Allocation;
using NekkBackup.Core.Tests.TestKit;
using Xunit;
using static NekkBackup.Core.Tests.Imaging.GhostTestSupport;

namespace NekkBackup.Core.Tests.Imaging.Allocation
{
    /// <summary>
    /// New-NekkGhostImage -Mode UsedBlocks end to end on real file systems: what it stores against AllBlocks,
    /// that the restored volume equals the source with free space zeroed (made independently from dumpe2fs /
    /// partclone), that e2fsck/ntfsfix accept it and every file is intact, that the drill checks the image's
    /// own bitmaps, and that it falls back to every block when no bitmap can be trusted.
    /// </summary>
    public class UsedBlocksCaptureTests
    {
        private const int Chunk = 256 << 10;

        [RootFact("mkfs.ext4", "dumpe2fs", "e2fsck", "losetup", "mount")]
        public void Ext4UsedBlocksImageRestoresToTheSourceWithFreeSpaceZeroed()
        {
            using var dir = new TempDir("ub-ext4");
            var img = TestVolumes.Ext(dir, "ext4", "-b 4096", 128, 56, seed: 41);
            var digests = TestVolumes.Digests(img, "ext", dir);
            var sourceSha = Sha256(img);
            var reference = AllocationReference.Dumpe2fs(img);
            var expected = Path.Combine(dir.Path, "expected.img");
            AllocationReference.ZeroedCopy(img, expected, reference.UsedRuns(), reference.FileSystemBytes);
            var expectedSha = Sha256(expected);

            var all = Capture(img, Path.Combine(dir.Path, "repo-all"));
            var spy = new SpyObserver();
            var repo = Path.Combine(dir.Path, "repo-used");
            var used = Capture(img, repo, mode: GhostCaptureMode.UsedBlocks, observer: spy, volumeDigest: false);
            Assert.Equal(GhostCaptureMode.AllBlocks, all.Mode);
            Assert.Equal(all.SizeBytes, all.UsedBytes);
            Assert.Equal(GhostCaptureMode.UsedBlocks, used.Mode);
            Assert.Equal(reference.UsedClusters * reference.ClusterSize, used.UsedBytes);
            Assert.Contains(spy.Messages, m => m.StartsWith("Verbose: UsedBlocks: ext4") && m.Contains("free space is stored as zeros"));
            // Free space held random bytes: AllBlocks had to store them, UsedBlocks did not.
            long free = all.SizeBytes - used.UsedBytes;
            Assert.True(all.StoredBytes - used.StoredBytes > free * 9 / 10, $"AllBlocks stored {all.StoredBytes}, UsedBlocks {used.StoredBytes}, free {free}");
            var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(repo, "images", used.ImageId + ".json")))!;
            Assert.Equal("UsedBlocks", (string?)manifest["mode"]);
            Assert.Equal(1, (int)manifest["formatVersion"]!);
            Assert.Equal("ext4", (string?)manifest["allocation"]!["fileSystem"]);
            long freeChunks = Enumerable.Range(0, (int)(used.SizeBytes / Chunk)).LongCount(c => !reference.UsedRuns().Any(r => r.Offset < (c + 1L) * Chunk && r.End > (long)c * Chunk));
            Assert.True(freeChunks > 50);
            Assert.True((long)manifest["zeroChunks"]! >= freeChunks, $"{manifest["zeroChunks"]} zero chunks, {freeChunks} wholly free");

            // Restore to a new file and onto a block device full of other data: both are the zeroed source.
            var restored = Path.Combine(dir.Path, "restored.img");
            Restore(repo, used.ImageId, restored);
            Assert.Equal(expectedSha, Sha256(restored));
            Assert.NotEqual(sourceSha, expectedSha);
            var fsck = ProcessHelper.Run("e2fsck", $"-fn \"{restored}\"");
            Assert.True(fsck.ExitCode == 0, fsck.StdOut + fsck.StdErr);
            Assert.True(TestVolumes.SameDigests(digests, TestVolumes.Digests(restored, "ext", dir)));
            var disk = Path.Combine(dir.Path, "disk.img");
            TestVolumes.Garbage(disk, 130L << 20, 99);
            var dev = ProcessHelper.Check("losetup", $"--find --show \"{disk}\"").Trim();
            try
            {
                Restore(repo, used.ImageId, dev, force: true);
                Assert.Equal(expectedSha, Sha256(dev, 0, used.SizeBytes));
            }
            finally { ProcessHelper.Run("losetup", $"-d {dev}"); }

            // AllBlocks is still bit for bit; the drill of the used-block image reads its own bitmaps back.
            var allRestored = Path.Combine(dir.Path, "all.img");
            Restore(Path.Combine(dir.Path, "repo-all"), all.ImageId, allRestored);
            Assert.Equal(sourceSha, Sha256(allRestored));
            var drill = Test(repo, full: true, used.ImageId);
            Assert.True(drill.Status == "Passed", string.Join("; ", drill.Problems.Select(p => p.ToString())));
            var record = JsonNode.Parse(File.ReadAllText(drill.DrillRecords.Single()))!;
            Assert.Equal("stream-verify+allocation", (string?)record["method"]);

            // A second capture after files change stores only what changed.
            var mnt = dir.Sub("change");
            TestVolumes.Mount(img, "ext", mnt, readOnly: false);
            try { TestVolumes.Populate(Path.Combine(mnt, "new"), 3 << 20, seed: 5); }
            finally { Unmount(mnt); }
            var second = Capture(img, repo, mode: GhostCaptureMode.UsedBlocks, volumeDigest: false);
            Assert.True(second.NewBytes < used.NewBytes / 5, $"second capture stored {second.NewBytes} new bytes, the first {used.NewBytes}");
            var restored2 = Path.Combine(dir.Path, "restored2.img");
            Restore(repo, second.ImageId, restored2);
            Assert.True(TestVolumes.SameDigests(TestVolumes.Digests(img, "ext", dir), TestVolumes.Digests(restored2, "ext", dir)));
        }

        [RootFact("mkntfs", "ntfs-3g", "partclone.ntfs", "ntfsfix")]
        public void NtfsUsedBlocksImageRestoresToTheSourceWithFreeSpaceZeroed()
        {
            using var dir = new TempDir("ub-ntfs");
            var img = TestVolumes.Ntfs(dir, "", 96, 40, seed: 43);
            var digests = TestVolumes.Digests(img, "ntfs", dir);
            var (pc, end) = AllocationReference.Partclone("partclone.ntfs", img, dir);
            var expected = Path.Combine(dir.Path, "expected.img");
            AllocationReference.ZeroedCopy(img, expected, pc, end);

            var repo = Path.Combine(dir.Path, "repo");
            var used = Capture(img, repo, mode: GhostCaptureMode.UsedBlocks);
            Assert.Equal(GhostCaptureMode.UsedBlocks, used.Mode);
            Assert.Equal(pc.Sum(r => r.Length) + (used.SizeBytes - end), used.UsedBytes);
            var restored = Path.Combine(dir.Path, "restored.img");
            Restore(repo, used.ImageId, restored);
            Assert.Equal(Sha256(expected), Sha256(restored));
            Assert.Equal(Sha256(expected), used.VolumeSha256); // the digest recorded is of the image as stored (free space zeroed)
            var fix = ProcessHelper.Run("ntfsfix", $"-n \"{restored}\"");
            Assert.True(fix.ExitCode == 0, fix.StdOut + fix.StdErr);
            Assert.True(TestVolumes.SameDigests(digests, TestVolumes.Digests(restored, "ntfs", dir)));
            Assert.Equal("Passed", Test(repo, full: true, used.ImageId).Status);
        }

        [RootFact("mkfs.ext4", "mount")]
        public void FallsBackToEveryBlockWhereNoBitmapCanBeTrusted()
        {
            using var dir = new TempDir("ub-fallback");
            // No file system at all: every block, bit for bit, with the reason at Verbose level.
            var raw = Path.Combine(dir.Path, "raw.img");
            WriteVolumeFile(raw, 3 << 20, seed: 8);
            var spy = new SpyObserver();
            var img = Capture(raw, Path.Combine(dir.Path, "repo"), mode: GhostCaptureMode.UsedBlocks, observer: spy);
            Assert.Equal(GhostCaptureMode.AllBlocks, img.Mode);
            Assert.Equal(img.SizeBytes, img.UsedBytes);
            Assert.Contains(spy.Messages, m => m.StartsWith("Verbose: UsedBlocks: every block of") && m.Contains("no ext2/3/4 or NTFS file system was found"));
            Assert.DoesNotContain(spy.Messages, m => m.StartsWith("Warning"));
            Assert.Equal(Sha256(raw), img.VolumeSha256);

            // A mounted (live) ext4 image.
            using var fs = new LoopFileSystem("ext4", 16);
            spy = new SpyObserver();
            img = Capture(fs.ImagePath, Path.Combine(dir.Path, "repo"), mode: GhostCaptureMode.UsedBlocks, observer: spy);
            Assert.Equal(GhostCaptureMode.AllBlocks, img.Mode);
            Assert.Contains(spy.Messages, m => m.Contains("is mounted at " + fs.MountPoint));
            var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(dir.Path, "repo", "images", img.ImageId + ".json")))!;
            Assert.Equal("AllBlocks", (string?)manifest["mode"]);
            Assert.Null(manifest["allocation"]);
        }

        /// <summary>
        /// What an LVM snapshot of a mounted ext4 holds: the kernel freezes the file system first, which flushes the
        /// journal and clears needs_recovery. A copy taken while frozen is read by its bitmap and restores whole; the
        /// mounted volume itself falls back to every block.
        /// </summary>
        [RootFact("mkfs.ext4", "mount", "fsfreeze", "e2fsck")]
        public void AFrozenMountedExt4IsReadByItsBitmapLikeAnLvmSnapshot()
        {
            using var dir = new TempDir("ub-frozen");
            var img = TestVolumes.Ext(dir, "ext4", "-b 4096", 64, 4, seed: 71);
            var mnt = dir.Sub("live");
            var snapshot = Path.Combine(dir.Path, "snapshot.img");
            TestVolumes.Mount(img, "ext", mnt, readOnly: false);
            try
            {
                TestVolumes.Populate(Path.Combine(mnt, "session"), 12 << 20, seed: 72);
                var repo = Path.Combine(dir.Path, "repo");
                var spy = new SpyObserver();
                Assert.Equal(GhostCaptureMode.AllBlocks, Capture(img, repo, mode: GhostCaptureMode.UsedBlocks, observer: spy, volumeDigest: false).Mode);
                Assert.Contains(spy.Messages, m => m.Contains("is mounted at"));
                using (var src = BlockSources.Open(img))
                    Assert.Contains("journal needs recovery", AllocationMaps.Read(src).Reason); // even without the mount check

                ProcessHelper.Check("fsfreeze", $"-f \"{mnt}\"");
                Dictionary<string, string> digests;
                try
                {
                    File.Copy(img, snapshot);
                    digests = StudioData.Digest(mnt);
                }
                finally { ProcessHelper.Check("fsfreeze", $"-u \"{mnt}\""); }
                var used = Capture(snapshot, repo, mode: GhostCaptureMode.UsedBlocks, volumeDigest: false);
                Assert.Equal(GhostCaptureMode.UsedBlocks, used.Mode);
                var restored = Path.Combine(dir.Path, "restored.img");
                Restore(repo, used.ImageId, restored);
                var fsck = ProcessHelper.Run("e2fsck", $"-fn \"{restored}\"");
                Assert.True(fsck.ExitCode == 0, fsck.StdOut + fsck.StdErr);
                Assert.True(TestVolumes.SameDigests(digests, TestVolumes.Digests(restored, "ext", dir)));
            }
            finally { Unmount(mnt); }
        }

        /// <summary>
        /// A volume that changes between the bitmap read and the data read (what a live capture risks): the
        /// capture follows the old bitmap and zeroes blocks the new files use. The restored volume even passes
        /// e2fsck — but the drill reads the image's own bitmap back, sees it differ, and fails.
        /// </summary>
        [RootFact("mkfs.ext4", "mount", "e2fsck")]
        public void TheDrillCatchesABitmapThatDoesNotMatchTheDataCaptured()
        {
            using var dir = new TempDir("ub-drill");
            var before = TestVolumes.Ext(dir, "ext4", "-b 4096", 48, 8, seed: 12);
            var after = Path.Combine(dir.Path, "after.img");
            File.Copy(before, after);
            var mnt = dir.Sub("grow");
            TestVolumes.Mount(after, "ext", mnt, readOnly: false);
            try { TestVolumes.Populate(Path.Combine(mnt, "late"), 8 << 20, seed: 13); }
            finally { Unmount(mnt); }

            var repo = Path.Combine(dir.Path, "repo");
            GhostImage img;
            using (var oldMeta = new MemorySource(File.ReadAllBytes(before), after))
            using (var newData = new MemorySource(File.ReadAllBytes(after), after))
            using (var torn = new SplitSource(oldMeta, newData))
                img = GhostRepository.CaptureAsync(torn, after, new GhostCaptureOptions { Repository = repo, Mode = GhostCaptureMode.UsedBlocks, SkipPluginInventory = true },
                    new SpyObserver(), CancellationToken.None).GetAwaiter().GetResult();
            Assert.Equal(GhostCaptureMode.UsedBlocks, img.Mode);
            var drill = Test(repo, full: true, img.ImageId);
            Assert.Equal("Failed", drill.Status);
            var problem = drill.Problems.Single();
            Assert.Equal("AllocationMismatch", problem.Problem);
            Assert.Contains("blocks in use may have been stored as zeros", problem.Message);

            // A manifest whose recorded map was edited is caught the same way; an intact one passes.
            var good = Capture(after, repo, mode: GhostCaptureMode.UsedBlocks, volumeDigest: false);
            Assert.Equal("Passed", Test(repo, full: true, good.ImageId).Status);
            var path = Path.Combine(repo, "images", good.ImageId + ".json");
            var m = JsonNode.Parse(File.ReadAllText(path))!;
            m["allocation"]!["usedBytes"] = (long)m["allocation"]!["usedBytes"]! - 4096;
            File.WriteAllText(path, m.ToJsonString());
            Assert.Equal("AllocationMismatch", Test(repo, full: true, good.ImageId).Problems.Single().Problem);
        }

        /// <summary>Small (metadata) reads from one volume, chunk-sized reads from another.</summary>
        private sealed class SplitSource : IBlockSource
        {
            private readonly IBlockSource _meta, _data;
            public SplitSource(IBlockSource meta, IBlockSource data) { _meta = meta; _data = data; }
            public string Path => _data.Path;
            public long Length => _data.Length;
            public int Read(long offset, byte[] buffer, int count) => (count < 65536 ? _meta : _data).Read(offset, buffer, count);
            public void Dispose() { }
        }

        [Fact]
        public void ManifestsFromANewerFormatOrWithAnUnknownModeAreRefusedAndKeepTheirChunks()
        {
            using var dir = new TempDir("ub-manifest");
            var vol = Path.Combine(dir.Path, "vol.img");
            WriteVolumeFile(vol, 2 << 20, seed: 3);
            var repo = Path.Combine(dir.Path, "repo");
            var a = Capture(vol, repo, chunkSize: 64 << 10);
            var b = Capture(vol, repo, chunkSize: 64 << 10);
            var pathA = Path.Combine(repo, "images", a.ImageId + ".json");

            // An image written before used-block mode has no "mode": AllBlocks.
            var m = JsonNode.Parse(File.ReadAllText(pathA))!.AsObject();
            m.Remove("mode");
            File.WriteAllText(pathA, m.ToJsonString());
            var listed = GhostRepository.List(repo).Single(i => i.ImageId == a.ImageId);
            Assert.Equal(GhostCaptureMode.AllBlocks, listed.Mode);
            Assert.Equal(listed.SizeBytes, listed.UsedBytes);

            m["formatVersion"] = 2;
            File.WriteAllText(pathA, m.ToJsonString());
            var ex = Assert.Throws<NekkBackupException>(() => Restore(repo, a.ImageId, Path.Combine(dir.Path, "r.img")));
            Assert.Equal("NekkBackup.UnsupportedImageVersion", ex.ErrorId);
            Assert.Contains("Update NekkBackup", ex.Message);
            var spy = new SpyObserver();
            Assert.DoesNotContain(GhostRepository.List(repo, spy), i => i.ImageId == a.ImageId);
            Assert.Contains(spy.Failures, f => f.Contains("format version 2"));

            // Removing the other image must not free chunks the unreadable one may use.
            var removed = GhostRepository.RemoveAsync(repo, new[] { b.ImageId }, spy, CancellationToken.None).GetAwaiter().GetResult();
            Assert.True(removed.GarbageCollectionDeferred);
            Assert.Contains(spy.Messages, x => x.StartsWith("Warning") && x.Contains("cannot be read"));
            m["formatVersion"] = 1;
            m["mode"] = "SparseBlocks";
            File.WriteAllText(pathA, m.ToJsonString());
            Assert.Equal("NekkBackup.ManifestCorrupt", Assert.Throws<NekkBackupException>(() => Test(repo, true, a.ImageId)).ErrorId);
            m["mode"] = "AllBlocks";
            File.WriteAllText(pathA, m.ToJsonString());
            var r = Path.Combine(dir.Path, "r.img");
            Restore(repo, a.ImageId, r);
            Assert.Equal(Sha256(vol), Sha256(r)); // every chunk survived the deferred collection
        }
    }
}
