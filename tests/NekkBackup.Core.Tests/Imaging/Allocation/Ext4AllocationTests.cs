using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using NekkBackup.Core.Imaging;
using NekkBackup.Core.Imaging.Allocation;
using NekkBackup.Core.Tests.TestKit;
using Xunit;

namespace NekkBackup.Core.Tests.Imaging.Allocation
{
    /// <summary>
    /// The ext2/3/4 reader against e2fsprogs and partclone on real file systems of many shapes, and the property
    /// used-block capture rests on: a copy holding only the used blocks (zeros elsewhere) is a clean file system
    /// (e2fsck -fn) with every file intact (SHA-256 of each file, mounted read-only).
    /// </summary>
    public class Ext4AllocationTests
    {
        public static TheoryData<string, string, string, int, int> Configs => new()
        {
            // name, mkfs.X, options, image MiB, data MiB written (a third deleted again)
            { "4k-default", "ext4", "-b 4096", 96, 40 },
            { "1k-default", "ext4", "-b 1024", 64, 26 },
            { "4k-no-flex_bg", "ext4", "-b 4096 -g 8192 -O ^flex_bg", 128, 40 },
            { "1k-64bit-small-groups", "ext4", "-b 1024 -g 2048 -O 64bit", 48, 18 },
            { "4k-32bit-uninit_bg", "ext4", "-b 4096 -g 4096 -O ^64bit,^metadata_csum,uninit_bg", 96, 32 },
            { "1k-meta_bg", "ext4", "-b 1024 -g 1024 -O meta_bg,^resize_inode", 64, 24 },
            { "1k-sparse_super2", "ext4", "-b 1024 -g 2048 -O sparse_super2", 48, 18 },
            { "1k-no-sparse_super-no-flex", "ext4", "-b 1024 -g 2048 -O ^sparse_super,^flex_bg,^resize_inode", 48, 18 },
            { "1k-bigalloc-16k", "ext4", "-b 1024 -O bigalloc -C 16384", 64, 24 },
            { "4k-bigalloc-64k", "ext4", "-b 4096 -O bigalloc -C 65536", 96, 32 },
            { "ext3-1k", "ext3", "-b 1024", 48, 18 },
            { "ext2-4k", "ext2", "-b 4096 -g 8192", 96, 32 },
        };

        [RootTheory("mkfs.ext4", "dumpe2fs", "partclone.ext4", "e2fsck", "mount")]
        [MemberData(nameof(Configs))]
        public void MapMatchesDumpe2fsAndPartcloneAndUsedBlocksAloneAreAWholeFileSystem(string name, string mkfs, string options, int sizeMb, int dataMb)
        {
            using var dir = new TempDir("alloc-" + name);
            int seed = name.Sum(c => c) % 1000 + 1; // stable (string.GetHashCode is randomised per process)
            var img = TestVolumes.Ext(dir, mkfs, options, sizeMb, dataMb, seed);

            AllocationProbe probe;
            using (var src = BlockSources.Open(img)) probe = AllocationMaps.Read(src);
            Assert.True(probe.IsSupported, probe.Reason);
            var map = (AllocationBitmap)probe.Map!;
            Assert.Equal(mkfs, map.FileSystem);

            // dumpe2fs: every cluster, used or free, exactly.
            var reference = AllocationReference.Dumpe2fs(img);
            Assert.Equal(reference.ClusterSize, map.BlockSize);
            Assert.Equal(reference.Used.Length, map.TotalBlocks);
            Assert.Equal(reference.Blocks * reference.BlockSize, map.FileSystemBytes);
            var ours = new bool[reference.Used.Length];
            foreach (var r in map.UsedRuns(0, map.FileSystemBytes))
                for (long c = r.Offset / map.BlockSize; c * map.BlockSize < r.End; c++) ours[c] = true;
            int firstDiff = Enumerable.Range(0, ours.Length).FirstOrDefault(i => ours[i] != reference.Used[i], -1);
            Assert.True(firstDiff < 0, $"cluster {firstDiff}: ours {(firstDiff >= 0 && ours[firstDiff] ? "used" : "free")}, dumpe2fs the opposite");
            Assert.Equal(reference.UsedClusters, map.UsedBlocks);
            Assert.Equal(reference.SuperblockFreeBlocks, (map.TotalBlocks - map.UsedBlocks) * (map.BlockSize / reference.BlockSize));
            Assert.Equal(map.TotalBlocks * map.BlockSize, map.Length);
            Assert.Equal(map.UsedBlocks * map.BlockSize, map.UsedBytes);
            Assert.True(map.UsedBytes < map.Length * 3 / 4 && map.UsedBytes > (long)dataMb << 19, $"{map.UsedBytes} used of {map.Length}");

            // partclone (0.3.23 cannot map bigalloc file systems: "bitmap error at 0 group").
            if (!options.Contains("bigalloc"))
            {
                var (pc, end) = AllocationReference.Partclone("partclone." + mkfs, img, dir);
                Assert.Equal(map.FileSystemBytes, end);
                var mine = AllocationReference.Runs(map, end);
                Assert.True(mine.SequenceEqual(pc), AllocationReference.Describe(mine, pc));
            }

            UsedBlocksAloneAreAWholeFileSystem(dir, img, "ext", map, reference.UsedRuns(), reference.FileSystemBytes);
        }

        [RootFact("mkfs.ext4", "dumpe2fs", "e2fsck")]
        public void BytesPastTheFileSystemCountAsUsed()
        {
            using var dir = new TempDir("alloc-tail");
            var img = TestVolumes.Ext(dir, "ext4", "-b 4096", 48, 16, seed: 77, fsSize: "40M");
            using var src = BlockSources.Open(img);
            var probe = AllocationMaps.Read(src);
            Assert.True(probe.IsSupported, probe.Reason);
            var map = (AllocationBitmap)probe.Map!;
            Assert.Equal(40L << 20, map.FileSystemBytes);
            Assert.Equal(48L << 20, map.Length);
            Assert.True(map.IsUsed((44L << 20), 4096));
            Assert.Equal(new AllocationRun(40L << 20, 8L << 20), map.UsedRuns(40L << 20, 8L << 20).Single());
            var reference = AllocationReference.Dumpe2fs(img);
            Assert.Equal(reference.UsedClusters * 4096 + (8L << 20), map.UsedBytes);
            Assert.False(map.IsUsed(map.Length, 4096));
        }

        /// <summary>
        /// Copies the image through <see cref="UsedBlockSource"/> (what a used-block capture stores), then checks
        /// the copy against a copy zeroed from the reference map alone, with e2fsck/ntfsfix, and file by file.
        /// </summary>
        internal static void UsedBlocksAloneAreAWholeFileSystem(TempDir dir, string img, string kind, IAllocationMap map, List<AllocationRun> referenceUsed, long fileSystemEnd)
        {
            var copy = Path.Combine(dir.Path, "used-only.img");
            using (var src = BlockSources.Open(img))
            using (var used = new UsedBlockSource(src, map))
            using (var outp = new FileStream(copy, FileMode.CreateNew))
            {
                var buf = new byte[1 << 20];
                for (long at = 0; at < used.Length; at += buf.Length)
                {
                    int n = used.Read(at, buf, (int)Math.Min(buf.Length, used.Length - at));
                    outp.Write(buf, 0, n);
                }
            }
            // The same copy made from the reference's map alone.
            var expected = Path.Combine(dir.Path, "reference-zeroed.img");
            AllocationReference.ZeroedCopy(img, expected, referenceUsed, fileSystemEnd);
            var copySha = GhostTestSupport.Sha256(copy);
            Assert.Equal(GhostTestSupport.Sha256(expected), copySha);
            Assert.NotEqual(GhostTestSupport.Sha256(img), copySha); // free space held data: the copy really dropped it

            if (kind == "ntfs")
            {
                var r = ProcessHelper.Run("ntfsfix", $"-n \"{copy}\"");
                Assert.True(r.ExitCode == 0, r.StdOut + r.StdErr);
            }
            else
            {
                var r = ProcessHelper.Run("e2fsck", $"-fn \"{copy}\"");
                Assert.True(r.ExitCode == 0, r.StdOut + r.StdErr);
            }
            var before = TestVolumes.Digests(img, kind, dir);
            var after = TestVolumes.Digests(copy, kind, dir);
            Assert.True(before.Count > 5);
            Assert.True(TestVolumes.SameDigests(before, after), $"{before.Count} files before, {after.Count} after; differing: {string.Join(", ", before.Where(kv => !after.TryGetValue(kv.Key, out var v) || v != kv.Value).Select(kv => kv.Key).Take(5))}");
        }
    }
}
