using System;
using System.IO;
using System.Linq;
using NekkBackup.Core.Imaging;
using NekkBackup.Core.Imaging.Allocation;
using NekkBackup.Core.Tests.TestKit;
using Xunit;

namespace NekkBackup.Core.Tests.Imaging.Allocation
{
    /// <summary>
    /// A Windows volume opened unbuffered (windows-notes.md §2.1) reads only whole sectors and at most its transfer
    /// buffer at a time: the readers must give the same map through such a source as through a plain file.
    /// </summary>
    public class SectorAlignmentTests
    {
        /// <summary>Refuses what ReadFile refuses on a FILE_FLAG_NO_BUFFERING handle: unaligned offsets or lengths, and more than 1 MiB.</summary>
        private sealed class UnbufferedVolume : IBlockSource
        {
            private readonly byte[] _bytes;
            private readonly int _sector;
            public UnbufferedVolume(byte[] bytes, int sector) { _bytes = bytes; _sector = sector; }
            public string Path => "unbuffered";
            public long Length => _bytes.Length;
            public int Read(long offset, byte[] buffer, int count)
            {
                if (offset % _sector != 0 || count % _sector != 0) throw new IOException($"ERROR_INVALID_PARAMETER: {count} bytes at {offset} with {_sector}-byte sectors");
                if (count > 1 << 20) throw new ArgumentOutOfRangeException(nameof(count));
                int n = (int)Math.Min(count, _bytes.Length - offset);
                Buffer.BlockCopy(_bytes, (int)offset, buffer, 0, n);
                return n;
            }
            public void Dispose() { }
        }

        [RootFact("mkfs.ext4", "mkntfs", "ntfs-3g", "mount")]
        public void SameMapThroughWholeSectorReads()
        {
            using var dir = new TempDir("alloc-sectors");
            var ext = TestVolumes.Ext(dir, "ext4", "-b 1024 -g 2048", 24, 8, seed: 61);
            var ntfs512 = TestVolumes.Ntfs(dir, "", 24, 8, seed: 62);
            using (var f = new FileStream(ntfs512, FileMode.Open)) f.SetLength(f.Length + 512); // a volume of an odd number of sectors
            var ntfs4k = TestVolumes.Ntfs(dir, "-s 4096", 24, 8, seed: 63);
            foreach (var (img, sector) in new[] { (ext, 512), (ext, 4096), (ntfs512, 512), (ntfs4k, 4096) })
            {
                var bytes = File.ReadAllBytes(img);
                var plain = AllocationMaps.Read(new MemorySource(bytes));
                var strict = AllocationMaps.Read(new UnbufferedVolume(bytes, sector));
                Assert.True(plain.IsSupported, plain.Reason);
                Assert.True(strict.IsSupported, strict.Reason);
                Assert.Equal(plain.Map!.UsedRuns(0, bytes.Length).ToList(), strict.Map!.UsedRuns(0, bytes.Length).ToList());
            }
        }
    }
}
