using System;
using System.Collections.Generic;
using static NekkBackup.Core.Imaging.Allocation.VolumeReader;

namespace NekkBackup.Core.Imaging.Allocation
{
    /// <summary>
    /// Reads the block (cluster) bitmaps of an ext2/3/4 file system into an <see cref="AllocationBitmap"/>:
    /// group descriptors (32- or 64-byte, classic or meta_bg placement), each initialised group's bitmap
    /// (checksum-verified with metadata_csum), and for BLOCK_UNINIT groups the bitmap the kernel would
    /// build (ext4_init_block_bitmap: superblock/descriptor copies plus the group's own bitmaps and inode
    /// table). Every group's free count is checked against its descriptor and every group's own metadata
    /// must be marked used, so a damaged bitmap is refused rather than trusted.
    /// </summary>
    internal static class Ext4AllocationReader
    {
        private const ushort InodeUninit = 0x1, BlockUninit = 0x2;
        private const int MaxCoalescedRead = 1 << 20;

        /// <summary>One group's descriptor, as a value (a list of them costs 48 bytes a group; at most <see cref="Ext4Superblock.MaxGroups"/>).</summary>
        internal struct Group
        {
            public long Index;
            public long BlockBitmap, InodeBitmap, InodeTable, FreeClusters;
            public bool Uninit, InodesUninit;
            public uint BitmapCsum, InodeBitmapCsum;
            /// <summary>Inodes at the end of the group's table never used (bg_itable_unused; 0 without descriptor checksums).</summary>
            public long InodesUnused;
        }

        /// <summary>Every group's descriptor, checked as <see cref="Read"/> checks them (the file table reads the inode tables they place).</summary>
        internal static List<Group> Descriptors(VolumeReader vol, Ext4Superblock sb)
        {
            var all = new List<Group>();
            for (long d = 0; d < sb.DescBlocks; d++)
            {
                long at = sb.DescriptorBlock(d);
                if (at >= sb.BlocksCount) throw new AllocationUnsupportedException($"descriptor block {d} at {at} is past the end of the file system");
                var block = vol.Read(at * sb.BlockSize, sb.BlockSize, $"group descriptor block {d}");
                for (long i = 0; i < sb.DescPerBlock && d * sb.DescPerBlock + i < sb.GroupCount; i++)
                    all.Add(ParseDescriptor(sb, block, (int)(i * sb.DescSize), d * sb.DescPerBlock + i));
            }
            return all;
        }

        public static AllocationBitmap Read(VolumeReader vol, byte[] superblock)
        {
            var sb = Ext4Superblock.Parse(superblock, vol.Length);
            var map = new AllocationBitmap(sb.Name, sb.BlockSize << sb.ClusterBits, sb.ClusterCount, sb.BlocksCount * sb.BlockSize, vol.Length);
            var metadata = Descriptors(vol, sb);
            var uninit = metadata.FindAll(g => g.Uninit);
            ReadBitmaps(vol, sb, map, metadata);
            // BLOCK_UNINIT groups: also mark their bitmaps and inode table wherever they are (e2fsprogs'
            // mark_uninit_bg_group_blocks); with flex_bg they normally sit in an initialised group already.
            foreach (var g in uninit)
            {
                MarkBlocks(sb, map, g.BlockBitmap, 1);
                MarkBlocks(sb, map, g.InodeBitmap, 1);
                MarkBlocks(sb, map, g.InodeTable, sb.InodeBlocksPerGroup);
            }
            map.Mark(0); // the boot block / superblock cluster (block 0 lies before the first group on 1 KiB file systems)
            foreach (var g in metadata)
            {
                if (!IsBlockMarked(sb, map, g.BlockBitmap) || !IsBlockMarked(sb, map, g.InodeBitmap)
                    || !IsBlockMarked(sb, map, g.InodeTable) || !IsBlockMarked(sb, map, g.InodeTable + sb.InodeBlocksPerGroup - 1))
                    throw new AllocationUnsupportedException($"group {g.Index}'s own bitmaps or inode table are not marked used (damaged bitmaps; run e2fsck)");
            }
            return map;
        }

        private static Group ParseDescriptor(Ext4Superblock sb, byte[] block, int at, long g)
        {
            bool wide = sb.DescSize >= 64;
            if (sb.MetadataCsum)
            {
                uint c = Checksums.Crc32c(sb.CsumSeed, Le32(g), 0, 4);
                c = Checksums.Crc32c(c, block, at, 0x1E);
                c = Checksums.Crc32c(c, new byte[2], 0, 2);
                if (sb.DescSize > 0x20) c = Checksums.Crc32c(c, block, at + 0x20, sb.DescSize - 0x20);
                if ((ushort)(c & 0xFFFF) != U16(block, at + 0x1E)) throw new AllocationUnsupportedException($"group {g}'s descriptor checksum does not match (damaged descriptor)");
            }
            else if (sb.GdtCsum)
            {
                ushort c = Checksums.Crc16(0xFFFF, sb.Uuid, 0, 16);
                c = Checksums.Crc16(c, Le32(g), 0, 4);
                c = Checksums.Crc16(c, block, at, 0x1E);
                if (sb.Is64Bit && sb.DescSize > 0x20) c = Checksums.Crc16(c, block, at + 0x20, sb.DescSize - 0x20);
                if (c != U16(block, at + 0x1E)) throw new AllocationUnsupportedException($"group {g}'s descriptor checksum does not match (damaged descriptor)");
            }
            var grp = new Group
            {
                Index = g,
                BlockBitmap = U32(block, at) | (wide ? (long)U32(block, at + 0x20) << 32 : 0),
                InodeBitmap = U32(block, at + 0x04) | (wide ? (long)U32(block, at + 0x24) << 32 : 0),
                InodeTable = U32(block, at + 0x08) | (wide ? (long)U32(block, at + 0x28) << 32 : 0),
                FreeClusters = U16(block, at + 0x0C) | (wide ? (long)U16(block, at + 0x2C) << 16 : 0),
                Uninit = sb.HasGroupDescCsum && (U16(block, at + 0x12) & BlockUninit) != 0,
                InodesUninit = sb.HasGroupDescCsum && (U16(block, at + 0x12) & InodeUninit) != 0,
                BitmapCsum = U16(block, at + 0x18) | (wide ? (uint)U16(block, at + 0x38) << 16 : 0),
                InodeBitmapCsum = U16(block, at + 0x1A) | (wide ? (uint)U16(block, at + 0x3A) << 16 : 0),
                InodesUnused = sb.HasGroupDescCsum ? U16(block, at + 0x1C) | (wide ? (long)U16(block, at + 0x32) << 16 : 0) : 0,
            };
            if (grp.InodesUnused > sb.InodesPerGroup) throw new AllocationUnsupportedException($"group {g} claims {grp.InodesUnused} unused inodes of {sb.InodesPerGroup}");
            if (!InFs(sb, grp.BlockBitmap, 1) || !InFs(sb, grp.InodeBitmap, 1) || !InFs(sb, grp.InodeTable, sb.InodeBlocksPerGroup))
                throw new AllocationUnsupportedException($"group {g}'s bitmaps or inode table lie outside the file system");
            return grp;
        }

        private static bool InFs(Ext4Superblock sb, long block, long count) =>
            block >= sb.FirstDataBlock && block < sb.BlocksCount && count <= sb.BlocksCount - block;

        /// <summary>Reads (coalescing neighbours, as flex_bg packs them) or builds each group's bitmap, checks it and marks it.</summary>
        private static void ReadBitmaps(VolumeReader vol, Ext4Superblock sb, AllocationBitmap map, List<Group> groups)
        {
            int bytes = (int)(sb.ClustersPerGroup / 8);
            var disk = groups.FindAll(g => !g.Uninit);
            disk.Sort((a, b) => a.BlockBitmap.CompareTo(b.BlockBitmap));
            int maxRun = Math.Max(1, MaxCoalescedRead / sb.BlockSize);
            for (int i = 0; i < disk.Count;)
            {
                int j = i + 1;
                while (j < disk.Count && j - i < maxRun && disk[j].BlockBitmap == disk[j - 1].BlockBitmap + 1) j++;
                var buf = vol.Read(disk[i].BlockBitmap * sb.BlockSize, (j - i) * sb.BlockSize, $"block bitmap of group {disk[i].Index}");
                for (int k = i; k < j; k++) Apply(sb, map, disk[k], buf, (k - i) * sb.BlockSize, bytes);
                i = j;
            }
            foreach (var g in groups)
            {
                if (!g.Uninit) continue;
                var built = BuildUninitBitmap(sb, g, bytes);
                Apply(sb, map, g, built, 0, bytes);
            }
        }

        private static void Apply(Ext4Superblock sb, AllocationBitmap map, Group g, byte[] buf, int at, int bytes)
        {
            if (sb.MetadataCsum && !g.Uninit)
            {
                uint c = Checksums.Crc32c(sb.CsumSeed, buf, at, bytes);
                if (sb.DescSize < 64) c &= 0xFFFF;
                if (c != g.BitmapCsum) throw new AllocationUnsupportedException($"group {g.Index}'s block bitmap checksum does not match (damaged bitmap)");
            }
            long clusters = sb.GroupBlocks(g.Index) >> sb.ClusterBits;
            if (sb.GroupBlocks(g.Index) % (1L << sb.ClusterBits) != 0) clusters++;
            long free = clusters - CountSet(buf, at, clusters);
            if (free != g.FreeClusters)
                throw new AllocationUnsupportedException($"group {g.Index}'s bitmap shows {free} free clusters, its descriptor {g.FreeClusters} (run e2fsck)");
            map.MarkBits(sb.GroupFirstBlock(g.Index) >> sb.ClusterBits, buf, at, clusters);
        }

        /// <summary>The kernel's ext4_init_block_bitmap: base metadata at the group's start, plus its own bitmaps and inode table when they lie in it.</summary>
        private static byte[] BuildUninitBitmap(Ext4Superblock sb, Group g, int bytes)
        {
            var bits = new byte[bytes];
            long start = sb.GroupFirstBlock(g.Index), end = start + sb.GroupBlocks(g.Index);
            void Set(long block, long count)
            {
                for (long b = Math.Max(block, start); b < Math.Min(block + count, end); b++)
                {
                    long c = (b - start) >> sb.ClusterBits;
                    bits[c >> 3] |= (byte)(1 << (int)(c & 7));
                }
            }
            // ext2fs_super_and_bgd_loc2 / ext2fs_reserve_super_and_bgd
            long groupBlock = start == 0 && sb.BlockSize == 1024 ? 1 : start;
            bool hasSuper = sb.HasSuper(g.Index);
            if (start == 0 && sb.BlockSize == 1024) Set(0, 1);
            if (hasSuper) Set(groupBlock, 1);
            long metaGroups = sb.DescPerBlock;
            if (!sb.MetaBg || g.Index / metaGroups < sb.FirstMetaBg)
            {
                if (hasSuper) Set(groupBlock + 1, sb.MetaBg ? sb.FirstMetaBg : sb.DescBlocks + sb.ReservedGdtBlocks);
            }
            else
            {
                long r = g.Index % metaGroups;
                if (r == 0 || r == 1 || r == metaGroups - 1) Set(groupBlock + (hasSuper ? 1 : 0), 1);
            }
            Set(g.BlockBitmap, 1);
            Set(g.InodeBitmap, 1);
            Set(g.InodeTable, sb.InodeBlocksPerGroup);
            return bits;
        }

        private static long CountSet(byte[] buf, int at, long bits)
        {
            long n = 0, whole = bits >> 3;
            for (long i = 0; i < whole; i++) n += BitsIn(buf[at + i]);
            if ((bits & 7) != 0) n += BitsIn(buf[at + whole] & ((1 << (int)(bits & 7)) - 1));
            return n;
        }

        private static int BitsIn(int b)
        {
            int n = 0;
            for (; b != 0; b &= b - 1) n++;
            return n;
        }

        private static void MarkBlocks(Ext4Superblock sb, AllocationBitmap map, long block, long count)
        {
            if (count <= 0) return;
            long first = block >> sb.ClusterBits, last = (block + count - 1) >> sb.ClusterBits;
            map.MarkRange(first, last - first + 1);
        }

        private static bool IsBlockMarked(Ext4Superblock sb, AllocationBitmap map, long block) => map.IsMarked(block >> sb.ClusterBits);

        private static byte[] Le32(long v) => new[] { (byte)(v & 0xFF), (byte)((v >> 8) & 0xFF), (byte)((v >> 16) & 0xFF), (byte)((v >> 24) & 0xFF) };
    }
}
