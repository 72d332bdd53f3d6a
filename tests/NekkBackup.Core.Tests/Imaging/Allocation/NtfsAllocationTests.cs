using System.Linq;
using NekkBackup.Core.Imaging;
using NekkBackup.Core.Imaging.Allocation;
using NekkBackup.Core.Tests.TestKit;
using Xunit;

namespace NekkBackup.Core.Tests.Imaging.Allocation
{
    /// <summary>The NTFS reader against partclone.ntfs and ntfscluster on real NTFS images written through ntfs-3g.</summary>
    public class NtfsAllocationTests
    {
        public static TheoryData<string, string, int, int> Configs => new()
        {
            // name, mkntfs options, image MiB, data MiB written (a third deleted again)
            { "4k-clusters", "", 96, 36 },
            { "512-byte-clusters", "-c 512", 64, 24 },
            { "64k-clusters", "-c 65536", 96, 36 },
            { "4k-sectors-4k-records", "-s 4096", 96, 40 },
        };

        [RootTheory("mkntfs", "ntfs-3g", "partclone.ntfs", "ntfscluster", "ntfsfix")]
        [MemberData(nameof(Configs))]
        public void MapMatchesPartcloneAndNtfsclusterAndUsedBlocksAloneAreAWholeFileSystem(string name, string options, int sizeMb, int dataMb)
        {
            using var dir = new TempDir("alloc-ntfs-" + name);
            var img = TestVolumes.Ntfs(dir, options, sizeMb, dataMb, seed: name.Sum(c => c) % 1000 + 1);

            AllocationProbe probe;
            using (var src = BlockSources.Open(img)) probe = AllocationMaps.Read(src);
            Assert.True(probe.IsSupported, probe.Reason);
            var map = (AllocationBitmap)probe.Map!;
            Assert.Equal("ntfs", map.FileSystem);

            var (clusterSize, free) = AllocationReference.Ntfscluster(img);
            Assert.Equal(clusterSize, map.BlockSize);
            Assert.Equal(free, map.TotalBlocks - map.UsedBlocks);

            var (pc, end) = AllocationReference.Partclone("partclone.ntfs", img, dir);
            Assert.Equal(map.FileSystemBytes, end);
            var mine = AllocationReference.Runs(map, end);
            Assert.True(mine.SequenceEqual(pc), AllocationReference.Describe(mine, pc));

            // The sectors after the last whole cluster hold the backup boot sector: used, though no cluster covers them.
            Assert.True(map.Length > map.FileSystemBytes);
            Assert.True(map.IsUsed(map.Length - 512, 512));
            Assert.Equal(map.UsedBlocks * map.BlockSize + (map.Length - map.FileSystemBytes), map.UsedBytes);
            Assert.True(map.UsedBytes < map.Length * 3 / 4 && map.UsedBytes > (long)dataMb << 19, $"{map.UsedBytes} used of {map.Length}");

            Ext4AllocationTests.UsedBlocksAloneAreAWholeFileSystem(dir, img, "ntfs", map, pc, end);
        }
    }
}
