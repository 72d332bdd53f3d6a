using System;
using System.Diagnostics;
using System.IO;
using NekkBackup.Core.Imaging;
using NekkBackup.Core.Imaging.Allocation;
using NekkBackup.Core.Tests.TestKit;
using Xunit;

namespace NekkBackup.Core.Tests.Imaging.Allocation
{
    /// <summary>
    /// Everything read from a volume is untrusted: damaged or unusual metadata — made with e2fsprogs' own
    /// debugfs where it can be, by hand otherwise, and by random byte flips — gives an unsupported probe that
    /// names the problem, never an exception, a hang or a huge allocation.
    /// </summary>
    public class AllocationHostileTests
    {
        private static AllocationProbe Probe(string img)
        {
            using var src = BlockSources.Open(img);
            return AllocationMaps.Read(src);
        }

        private static string Ext(TempDir dir, string options = "", int sizeMb = 16, string mkfs = "ext4")
        {
            var img = Path.Combine(dir.Path, Guid.NewGuid().ToString("N").Substring(0, 8) + ".img");
            TestVolumes.Garbage(img, (long)sizeMb << 20, 5);
            ProcessHelper.Check("mkfs." + mkfs, $"-q -F -E nodiscard {options} \"{img}\"");
            return img;
        }

        private static void Debugfs(string img, params string[] commands)
        {
            var script = img + ".debugfs";
            File.WriteAllLines(script, commands);
            ProcessHelper.Check("debugfs", $"-w -f \"{script}\" \"{img}\"");
        }

        private static void Refused(string img, string fileSystem, string because)
        {
            var p = Probe(img);
            Assert.False(p.IsSupported, "expected a refusal: " + because);
            Assert.Equal(fileSystem, p.FileSystem);
            Assert.Contains(because, p.Reason);
        }

        [ToolFact("mkfs.ext4", "debugfs")]
        public void Ext4StatesAndFeaturesThatMakeTheBitmapUntrustworthyAreRefused()
        {
            using var dir = new TempDir("alloc-hostile");
            Assert.True(Probe(Ext(dir)).IsSupported);

            var img = Ext(dir); Debugfs(img, "feature needs_recovery");
            Refused(img, "ext2/3/4", "journal needs recovery");
            img = Ext(dir); Debugfs(img, "ssv state 3");
            Refused(img, "ext2/3/4", "having errors");
            img = Ext(dir); Debugfs(img, "ssv state 0");
            Refused(img, "ext2/3/4", "not marked clean");
            img = Ext(dir); Debugfs(img, "ssv feature_incompat 0x800002c2");
            Refused(img, "ext2/3/4", "unknown incompatible features 0x80000000");
            img = Ext(dir); Debugfs(img, "ssv feature_ro_compat 0x80");
            Refused(img, "ext2/3/4", "unknown read-only-compatible features 0x80");
        }

        [ToolFact("mkfs.ext4", "debugfs", "dumpe2fs")]
        public void Ext4DamagedDescriptorsAndBitmapsAreRefused()
        {
            using var dir = new TempDir("alloc-hostile");
            var img = Ext(dir); Debugfs(img, "set_bg 1 block_bitmap 999999", "set_bg 1 checksum calc");
            Refused(img, "ext2/3/4", "group 1's bitmaps or inode table lie outside the file system");
            img = Ext(dir); Debugfs(img, "set_bg 0 free_blocks_count 7", "set_bg 0 checksum calc");
            Refused(img, "ext2/3/4", "group 0's bitmap shows");
            img = Ext(dir); Debugfs(img, "set_bg 0 free_blocks_count 7");
            Refused(img, "ext2/3/4", "group 0's descriptor checksum does not match");
            img = Ext(dir, "-O ^metadata_csum,uninit_bg"); Debugfs(img, "set_bg 0 free_blocks_count 7");
            Refused(img, "ext2/3/4", "group 0's descriptor checksum does not match"); // the CRC-16 of uninit_bg
            img = Ext(dir); Debugfs(img, "set_bg 0 block_bitmap_csum 0x12345678", "set_bg 0 checksum calc");
            Refused(img, "ext2/3/4", "group 0's block bitmap checksum does not match");

            // A superblock byte changed behind its checksum; a file system larger than the volume.
            img = Ext(dir);
            using (var fs = new FileStream(img, FileMode.Open)) { fs.Position = 1024 + 0x20; fs.WriteByte(0x7F); }
            Refused(img, "ext2/3/4", "superblock checksum mismatch");
            img = Ext(dir);
            using (var fs = new FileStream(img, FileMode.Open)) fs.SetLength(15L << 20);
            Refused(img, "ext2/3/4", "more than the 15728640-byte volume holds");
        }

        [ToolFact("mkfs.ext2", "debugfs", "dumpe2fs")]
        public void Ext2WithoutChecksumsIsCheckedByCountsAndItsOwnMetadata()
        {
            using var dir = new TempDir("alloc-hostile");
            var img = Ext(dir, "-b 1024", mkfs: "ext2");
            Assert.True(Probe(img).IsSupported);
            // Free the block bitmap's own block in group 0's bitmap: the free count disagrees; make it agree: still refused.
            var groups = ProcessHelper.Check("dumpe2fs", $"\"{img}\"");
            long bitmap = long.Parse(System.Text.RegularExpressions.Regex.Match(groups, @"Group 0:[\s\S]*?Block bitmap at (\d+)").Groups[1].Value);
            long free = long.Parse(System.Text.RegularExpressions.Regex.Match(groups, @"Group 0:[\s\S]*?(\d+) free blocks").Groups[1].Value);
            Debugfs(img, $"freeb {bitmap}");
            Refused(img, "ext2/3/4", $"group 0's bitmap shows {free + 1} free clusters, its descriptor {free}");
            Debugfs(img, $"set_bg 0 free_blocks_count {free + 1}");
            var p = Probe(img);
            Assert.False(p.IsSupported);
            Assert.Contains("group 0's own bitmaps or inode table are not marked used", p.Reason);
            Assert.Equal(free + 1, long.Parse(System.Text.RegularExpressions.Regex.Match(ProcessHelper.Check("dumpe2fs", $"\"{img}\""), @"Group 0:[\s\S]*?(\d+) free blocks").Groups[1].Value));
        }

        [RootFact("mkntfs", "ntfs-3g")]
        public void NtfsDamageIsRefused()
        {
            using var dir = new TempDir("alloc-hostile");
            var pristine = File.ReadAllBytes(TestVolumes.Ntfs(dir, "", 16, 4, seed: 9));
            Assert.True(AllocationMaps.Read(new MemorySource(pristine)).IsSupported);
            long cs = BitConverter.ToUInt16(pristine, 0x0B) * (long)pristine[0x0D];
            long mft = BitConverter.ToInt64(pristine, 0x30) * cs;

            string Reason(Action<byte[]> damage)
            {
                var b = (byte[])pristine.Clone();
                damage(b);
                var p = AllocationMaps.Read(new MemorySource(b));
                Assert.False(p.IsSupported);
                Assert.Equal("ntfs", p.FileSystem);
                return p.Reason;
            }

            Assert.Contains("bytes per sector", Reason(b => b[0x0B] = 3));
            Assert.Contains("more than the", Reason(b => b[0x2F] = 0x10));
            Assert.Contains("MFT at cluster", Reason(b => BitConverter.GetBytes(1L << 40).CopyTo(b, 0x30)));
            Assert.Contains("55 AA", Reason(b => b[510] = 0));
            Assert.Contains("MFT record 6 is torn", Reason(b => b[mft + 6 * 1024 + 510] ^= 0xFF));
            Assert.Contains("MFT record 0 has no FILE signature", Reason(b => b[mft] = (byte)'X'));
            Assert.Contains("marked dirty", Reason(b => SetVolumeDirty(b, mft + 3 * 1024)));
        }

        /// <summary>Sets VOLUME_IS_DIRTY in $Volume's $VOLUME_INFORMATION (attribute 0x70), walking the record by hand.</summary>
        private static void SetVolumeDirty(byte[] b, long rec)
        {
            int p = BitConverter.ToUInt16(b, (int)rec + 0x14);
            while (BitConverter.ToUInt32(b, (int)rec + p) != 0x70) p += BitConverter.ToInt32(b, (int)rec + p + 4);
            int value = p + BitConverter.ToUInt16(b, (int)rec + p + 0x14);
            Assert.True(value + 11 < 510);
            b[rec + value + 10] |= 1;
        }

        [RootFact("mkfs.ext2", "mkntfs", "ntfs-3g", "mount", "dumpe2fs")]
        public void RandomDamageNeverThrowsHangsOrAllocatesFromAField()
        {
            using var dir = new TempDir("alloc-fuzz");
            var ext2 = File.ReadAllBytes(TestVolumes.Ext(dir, "ext2", "-b 1024", 16, 5, seed: 3));
            var ntfs = File.ReadAllBytes(TestVolumes.Ntfs(dir, "", 16, 5, seed: 4));
            long mft = BitConverter.ToInt64(ntfs, 0x30) * BitConverter.ToUInt16(ntfs, 0x0B) * ntfs[0x0D];
            var rnd = new Random(20261125);
            int supported = 0, refused = 0;
            // ext2 (no checksums to stop a flip early): superblock, descriptors and group 0's bitmap; NTFS: boot sector, MFT records 0–7.
            long bitmap = long.Parse(System.Text.RegularExpressions.Regex.Match(ProcessHelper.Check("dumpe2fs", $"\"{Path.Combine(dir.Path, "ext2-3.img")}\""), @"Group 0:[\s\S]*?Block bitmap at (\d+)").Groups[1].Value) * 1024;
            foreach (var (pristine, lo, hi) in new[] { (ext2, 1024L, 3072L), (ext2, bitmap, bitmap + 1024), (ntfs, 0L, 512L), (ntfs, mft, mft + 8 * 1024) })
            {
                for (int i = 0; i < 150; i++)
                {
                    var b = (byte[])pristine.Clone();
                    int flips = 1 + rnd.Next(8);
                    for (int k = 0; k < flips; k++) b[lo + (long)(rnd.NextDouble() * (hi - lo))] = (byte)rnd.Next(256);
                    long allocated = GC.GetAllocatedBytesForCurrentThread();
                    var clock = Stopwatch.StartNew();
                    var p = AllocationMaps.Read(new MemorySource(b));
                    Assert.True(clock.ElapsedMilliseconds < 5000, $"probe took {clock.ElapsedMilliseconds} ms");
                    Assert.True(GC.GetAllocatedBytesForCurrentThread() - allocated < 32L << 20, "probe allocated more than 32 MiB for a 16 MiB volume");
                    if (p.IsSupported)
                    {
                        supported++;
                        Assert.True(p.Map!.UsedBytes > 0 && p.Map.UsedBytes <= b.Length);
                        Assert.True(p.Map.IsUsed(0, 512), "the boot sector is always used");
                    }
                    else
                    {
                        refused++;
                        Assert.False(string.IsNullOrWhiteSpace(p.Reason));
                    }
                }
            }
            // Many flips hit fields that do not matter to the map (times, names, inode counts): supported. NTFS keeps no
            // count to check a flipped $Bitmap bit against (neither do ntfsclone and partclone), so bitmap data is not fuzzed.
            Assert.True(refused > 150 && supported > 20, $"{supported} supported, {refused} refused");
        }

        [Fact]
        public void OtherFileSystemsAndNoneAreNamed()
        {
            var b = new byte[1 << 20];
            Assert.Equal("unknown", AllocationMaps.Read(new MemorySource(b)).FileSystem);
            Assert.Contains("no ext2/3/4 or NTFS", AllocationMaps.Read(new MemorySource(b)).Reason);
            "XFSB"u8.ToArray().CopyTo(b, 0);
            var p = AllocationMaps.Read(new MemorySource(b));
            Assert.Equal("xfs", p.FileSystem);
            Assert.Contains("this volume holds xfs", p.Reason);
            b = new byte[1 << 20];
            "_BHRfS_M"u8.ToArray().CopyTo(b, 0x10040);
            Assert.Equal("btrfs", AllocationMaps.Read(new MemorySource(b)).FileSystem);
            Assert.Contains("only 100 bytes", AllocationMaps.Read(new MemorySource(new byte[100])).Reason);
        }
    }
}
