using System;
using System.Collections.Generic;
using System.Linq;
using NekkBackup.Core.Imaging;
using NekkBackup.Core.Imaging.Allocation;
using Xunit;

namespace NekkBackup.Core.Tests.Imaging.Allocation
{
    /// <summary>The bitmap map and the used-block view against plain bool[] references.</summary>
    public class AllocationBitmapTests
    {
        /// <summary>A bitmap of <paramref name="units"/> units with random runs, and the same as a bool per byte of the volume.</summary>
        private static (AllocationBitmap map, bool[] usedByte) Random(int seed, int unitSize, long units, long covered, long length)
        {
            var rnd = new Random(seed);
            var map = new AllocationBitmap("test", unitSize, units, covered, length);
            var used = new bool[length];
            for (long u = 0; u < units;)
            {
                long run = 1 + rnd.Next(rnd.Next(2) == 0 ? 3 : 200);
                bool on = rnd.Next(3) == 0;
                if (on)
                {
                    if (rnd.Next(2) == 0) map.MarkRange(u, run);
                    else for (long k = u; k < u + run; k++) map.Mark(k);
                    for (long b = u * unitSize; b < Math.Min((u + run) * unitSize, covered); b++) used[b] = true;
                }
                u += run;
            }
            for (long b = covered; b < length; b++) used[b] = true;
            return (map, used);
        }

        private static List<AllocationRun> ReferenceRuns(bool[] used, long from, long to)
        {
            var runs = new List<AllocationRun>();
            for (long b = Math.Max(0, from); b < Math.Min(to, used.Length); b++)
            {
                if (!used[b]) continue;
                if (runs.Count > 0 && runs[^1].End == b) runs[^1] = new AllocationRun(runs[^1].Offset, runs[^1].Length + 1);
                else runs.Add(new AllocationRun(b, 1));
            }
            return runs;
        }

        [Theory]
        [InlineData(1, 512, 3000, 3000 * 512, 3000 * 512 + 777)]   // tail past the file system
        [InlineData(2, 1024, 4099, 4099 * 1024, 4099 * 1024)]      // no tail, unit count not a multiple of 64
        [InlineData(3, 4096, 700, 699 * 4096 + 100, 699 * 4096 + 100)] // last unit partly outside the file system
        public void QueriesAgreeWithAByteByByteReference(int seed, int unitSize, long units, long covered, long length)
        {
            var (map, used) = Random(seed, unitSize, units, covered, length);
            Assert.Equal(length, map.Length);
            Assert.Equal(used.LongCount(u => u), map.UsedBytes);
            Assert.Equal(ReferenceRuns(used, 0, length), map.UsedRuns(0, length).ToList());
            var rnd = new Random(seed * 7);
            for (int i = 0; i < 400; i++)
            {
                long a = rnd.NextInt64(-1000, length + 1000), n = rnd.NextInt64(0, 40000);
                bool expect = false;
                for (long b = Math.Max(0, a); b < Math.Min(length, a + n); b++) if (used[b]) { expect = true; break; }
                Assert.Equal(expect, map.IsUsed(a, n));
                Assert.Equal(ReferenceRuns(used, a, a + n), map.UsedRuns(a, n).ToList());
            }
        }

        [Fact]
        public void MarkBitsReadsLittleEndianBitOrderAtAnyAlignment()
        {
            var bits = new byte[] { 0b0000_0101, 0xFF, 0x00, 0b1000_0000, 0xFF };
            foreach (long first in new long[] { 0, 1, 8, 13, 64, 65 })
            {
                var map = new AllocationBitmap("test", 4096, 200, 200 * 4096, 200 * 4096);
                map.MarkBits(first, bits, 0, 36); // the last byte counts only 4 bits
                var expect = new List<long> { 0, 2 };
                for (long k = 8; k < 16; k++) expect.Add(k);
                expect.Add(31);
                expect.AddRange(new long[] { 32, 33, 34, 35 });
                for (long u = 0; u < 200; u++) Assert.Equal(expect.Contains(u - first), map.IsMarked(u));
                Assert.Equal(expect.Count, map.UsedBlocks);
            }
        }

        [Fact]
        public void HugeVolumesCoarsenButNeverUnderstate()
        {
            long units = AllocationBitmap.MaxUnits * 4 + 3; // 4 TiB of 4 KiB clusters and a bit
            var map = new AllocationBitmap("test", 4096, units, units * 4096, units * 4096);
            Assert.Equal(4096 * 8, map.BlockSize);           // 2^28 < units / 4 + 1: each bit covers 8 clusters
            Assert.True(map.TotalBlocks <= AllocationBitmap.MaxUnits);
            map.Mark(12345);                                   // one cluster marks its whole 32 KiB unit
            Assert.True(map.IsMarked(12345) && map.IsMarked(12344) && !map.IsMarked(12352));
            Assert.True(map.IsUsed(12345L * 4096, 1));
            Assert.Equal(new AllocationRun(12344L * 4096, 8 * 4096), map.UsedRuns(0, 1L << 40).Single());
            Assert.True(map.AllMarked(12344, 8) && !map.AllMarked(12344, 9));
        }

        [Fact]
        public void InconsistentSizesAreRefused()
        {
            Assert.Throws<AllocationUnsupportedException>(() => new AllocationBitmap("t", 4096, 10, 11 * 4096, 20 * 4096));
            Assert.Throws<AllocationUnsupportedException>(() => new AllocationBitmap("t", 4096, 10, 10 * 4096, 9 * 4096));
            Assert.Throws<AllocationUnsupportedException>(() => new AllocationBitmap("t", 0, 10, 1, 1));
        }

        [Fact]
        public void UsedBlockSourceSkipsFreeRangesAndZeroesFreeParts()
        {
            var data = new byte[64 * 1024];
            new Random(1).NextBytes(data);
            var inner = new MemorySource(data);
            var map = new AllocationBitmap("test", 4096, 16, 16 * 4096, data.Length);
            map.MarkRange(2, 3);   // bytes 8192..20479
            map.Mark(9);           // bytes 36864..40959
            using var used = new UsedBlockSource(inner, map);
            var buf = Enumerable.Repeat((byte)0xEE, 32768).ToArray();

            Assert.Equal(8192, used.Read(0, buf, 8192)); // wholly free: no read of the volume, zeros
            Assert.Equal(0, inner.Reads);
            Assert.True(buf.Take(8192).All(b => b == 0));

            Assert.Equal(32768, used.Read(4096, buf, 32768)); // 4096..36863: used 8192..20479 only
            Assert.Equal(1, inner.Reads);
            for (int i = 0; i < 32768; i++)
                Assert.Equal(4096 + i >= 8192 && 4096 + i < 20480 ? data[4096 + i] : 0, buf[i]);

            Assert.Equal(4096, used.Read(60 * 1024, buf, 8192)); // short at the end, like the source
        }

        [Fact]
        public void LiveSourcesAreNotReadByTheirBitmap()
        {
            Assert.Null(UsedBlocks.LiveReason("/srv/vol.img", windows: false, _ => null));
            Assert.Contains("mounted at /mnt/x", UsedBlocks.LiveReason("/dev/sdb1", windows: false, _ => "/mnt/x"));
            Assert.Contains("live volume", UsedBlocks.LiveReason(@"\\.\C:", windows: true, _ => null));
            Assert.Contains("live volume", UsedBlocks.LiveReason(@"\\?\Volume{6d0a8a3b-0000-0000-0000-100000000000}", windows: true, _ => null));
            Assert.Null(UsedBlocks.LiveReason(@"\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy7", windows: true, _ => "ignored"));
            Assert.Null(UsedBlocks.LiveReason(@"D:\images\daw.img", windows: true, _ => null));
        }
    }
}
