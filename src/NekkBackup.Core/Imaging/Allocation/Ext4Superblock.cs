using System;
using static NekkBackup.Core.Imaging.Allocation.VolumeReader;

namespace NekkBackup.Core.Imaging.Allocation
{
    /// <summary>
    /// The ext2/3/4 superblock (1024 bytes at byte 1024), parsed and checked the way e2fsprogs'
    /// ext2fs_open2 checks it before trusting anything it points to. Field offsets: the kernel's
    /// fs/ext4/ext4.h (struct ext4_super_block). Every problem is an <see cref="AllocationUnsupportedException"/>.
    /// </summary>
    internal sealed class Ext4Superblock
    {
        public const int Offset = 1024;
        public const int Size = 1024;
        public const ushort Magic = 0xEF53;
        /// <summary>Most block groups read (2^20: 128 TiB in 128 MiB groups); more is refused rather than held in memory.</summary>
        public const long MaxGroups = 1 << 20;

        // s_feature_compat
        private const uint CompatHasJournal = 0x4, CompatSparseSuper2 = 0x200;
        // s_feature_incompat: what this reader knows; anything else is refused (it might move metadata).
        private const uint IncompatFiletype = 0x2, IncompatRecover = 0x4, IncompatJournalDev = 0x8, IncompatMetaBg = 0x10,
            IncompatExtents = 0x40, Incompat64Bit = 0x80, IncompatMmp = 0x100, IncompatFlexBg = 0x200, IncompatEaInode = 0x400,
            IncompatDirData = 0x1000, IncompatCsumSeed = 0x2000, IncompatLargeDir = 0x4000, IncompatInlineData = 0x8000,
            IncompatEncrypt = 0x10000, IncompatCasefold = 0x20000;
        private const uint IncompatKnown = IncompatFiletype | IncompatRecover | IncompatJournalDev | IncompatMetaBg | IncompatExtents
            | Incompat64Bit | IncompatMmp | IncompatFlexBg | IncompatEaInode | IncompatDirData | IncompatCsumSeed | IncompatLargeDir
            | IncompatInlineData | IncompatEncrypt | IncompatCasefold;
        // s_feature_ro_compat (0x80 HAS_SNAPSHOT, next3's exclude bitmaps, is deliberately not in the known set).
        private const uint RoSparseSuper = 0x1, RoLargeFile = 0x2, RoBtreeDir = 0x4, RoHugeFile = 0x8, RoGdtCsum = 0x10,
            RoDirNlink = 0x20, RoExtraIsize = 0x40, RoQuota = 0x100, RoBigalloc = 0x200, RoMetadataCsum = 0x400,
            RoReplica = 0x800, RoReadonly = 0x1000, RoProject = 0x2000, RoSharedBlocks = 0x4000, RoVerity = 0x8000,
            RoOrphanPresent = 0x10000;
        private const uint RoKnown = RoSparseSuper | RoLargeFile | RoBtreeDir | RoHugeFile | RoGdtCsum | RoDirNlink | RoExtraIsize
            | RoQuota | RoBigalloc | RoMetadataCsum | RoReplica | RoReadonly | RoProject | RoSharedBlocks | RoVerity | RoOrphanPresent;

        private Ext4Superblock() { }

        public string Name { get; private set; } = "ext4";
        public int BlockSize { get; private set; }
        /// <summary>log2(blocks per cluster): 0 unless bigalloc.</summary>
        public int ClusterBits { get; private set; }
        public long BlocksCount { get; private set; }
        public long FirstDataBlock { get; private set; }
        public long BlocksPerGroup { get; private set; }
        public long ClustersPerGroup { get; private set; }
        public long InodeBlocksPerGroup { get; private set; }
        public long InodesPerGroup { get; private set; }
        public int InodeSize { get; private set; }
        /// <summary>s_first_ino: inodes below it are reserved for the file system itself.</summary>
        public long FirstInode { get; private set; }
        /// <summary>Inodes the file system writes for itself (journal, quota files, orphan file, orphan list head): never user data.</summary>
        public long[] SpecialInodes { get; private set; } = Array.Empty<long>();
        public bool Extents { get; private set; }
        public long GroupCount { get; private set; }
        public int DescSize { get; private set; }
        public long DescPerBlock { get; private set; }
        public long DescBlocks { get; private set; }
        public long ReservedGdtBlocks { get; private set; }
        public bool MetaBg { get; private set; }
        public long FirstMetaBg { get; private set; }
        public bool Is64Bit { get; private set; }
        public bool SparseSuper { get; private set; }
        public bool SparseSuper2 { get; private set; }
        public long BackupBg0 { get; private set; }
        public long BackupBg1 { get; private set; }
        /// <summary>metadata_csum: CRC-32C of descriptors and bitmaps.</summary>
        public bool MetadataCsum { get; private set; }
        /// <summary>gdt_csum (uninit_bg): CRC-16 of descriptors.</summary>
        public bool GdtCsum { get; private set; }
        /// <summary>BLOCK_UNINIT is honoured only when descriptors carry a checksum (as e2fsprogs does).</summary>
        public bool HasGroupDescCsum => MetadataCsum || GdtCsum;
        public uint CsumSeed { get; private set; }
        public byte[] Uuid { get; private set; } = Array.Empty<byte>();
        public long ClusterCount => ((BlocksCount - 1) >> ClusterBits) + 1;

        public static Ext4Superblock Parse(byte[] sb, long volumeLength)
        {
            if (sb.Length < Size || U16(sb, 0x38) != Magic) throw Bad("no ext2/3/4 superblock magic");
            uint rev = U32(sb, 0x4C);
            if (rev > 1) throw Bad($"superblock revision {rev} is unknown");
            uint compat = rev >= 1 ? U32(sb, 0x5C) : 0, incompat = rev >= 1 ? U32(sb, 0x60) : 0, ro = rev >= 1 ? U32(sb, 0x64) : 0;
            var s = new Ext4Superblock { MetadataCsum = (ro & RoMetadataCsum) != 0 };
            if (s.MetadataCsum)
            {
                if (sb[0x175] != 1) throw Bad($"unknown checksum type {sb[0x175]}");
                if (Checksums.Crc32c(~0u, sb, 0, 0x3FC) != U32(sb, 0x3FC)) throw Bad("superblock checksum mismatch (damaged superblock)");
            }
            if ((incompat & ~IncompatKnown) != 0) throw Bad($"unknown incompatible features 0x{incompat & ~IncompatKnown:x}");
            if ((ro & ~RoKnown) != 0) throw Bad($"unknown read-only-compatible features 0x{ro & ~RoKnown:x}");
            if ((incompat & IncompatJournalDev) != 0) throw Bad("this is an external journal device, not a file system");
            if ((incompat & IncompatRecover) != 0)
                throw Bad("the journal needs recovery (the volume is mounted, or was not cleanly unmounted): its bitmaps may not yet show blocks the journal allocates");
            ushort state = U16(sb, 0x3A);
            if ((state & 1) == 0) throw Bad("the file system is not marked clean (mounted without a journal, or unchecked): run e2fsck, or image it unmounted or from a snapshot");
            if ((state & 2) != 0) throw Bad("the file system is marked as having errors: run e2fsck first");

            uint logBlock = U32(sb, 0x18), logCluster = U32(sb, 0x1C);
            if (logBlock > 6) throw Bad($"block size 1024 << {logBlock} is out of range");
            s.BlockSize = 1024 << (int)logBlock;
            bool bigalloc = (ro & RoBigalloc) != 0;
            if (bigalloc)
            {
                if (logCluster < logBlock || logCluster - logBlock > 16) throw Bad($"bigalloc cluster size 1024 << {logCluster} is out of range");
                s.ClusterBits = (int)(logCluster - logBlock);
            }
            else if (rev >= 1 && logCluster != logBlock) throw Bad("cluster size differs from block size without bigalloc");

            s.Is64Bit = (incompat & Incompat64Bit) != 0;
            s.BlocksCount = (long)U32(sb, 0x04) | (s.Is64Bit ? (long)U32(sb, 0x150) << 32 : 0);
            if (s.BlocksCount <= 0 || s.BlocksCount > volumeLength / s.BlockSize)
                throw Bad($"the file system claims {s.BlocksCount} blocks of {s.BlockSize} bytes, more than the {volumeLength}-byte volume holds");
            s.FirstDataBlock = U32(sb, 0x14);
            long expectedFirst = s.BlockSize == 1024 && !bigalloc ? 1 : 0;
            if (s.FirstDataBlock != expectedFirst) throw Bad($"first data block {s.FirstDataBlock} (expected {expectedFirst})");
            if (s.BlocksCount <= s.FirstDataBlock + 1) throw Bad("file system too small");

            s.BlocksPerGroup = U32(sb, 0x20);
            s.ClustersPerGroup = bigalloc ? U32(sb, 0x24) : s.BlocksPerGroup;
            if (s.BlocksPerGroup < 256 || s.ClustersPerGroup <= 0 || s.ClustersPerGroup > 8L * s.BlockSize || s.ClustersPerGroup % 8 != 0
                || s.BlocksPerGroup != s.ClustersPerGroup << s.ClusterBits)
                throw Bad($"{s.BlocksPerGroup} blocks / {s.ClustersPerGroup} clusters per group is inconsistent with {s.BlockSize}-byte blocks");
            s.GroupCount = (s.BlocksCount - s.FirstDataBlock + s.BlocksPerGroup - 1) / s.BlocksPerGroup;
            if (s.GroupCount > MaxGroups) throw Bad($"{s.GroupCount} block groups is more than this reader holds ({MaxGroups})");

            long inodesPerGroup = U32(sb, 0x28);
            int inodeSize = rev >= 1 ? U16(sb, 0x58) : 128;
            if (inodesPerGroup <= 0 || inodesPerGroup > 8L * s.BlockSize) throw Bad($"{inodesPerGroup} inodes per group is out of range");
            if (inodeSize < 128 || inodeSize > s.BlockSize || (inodeSize & (inodeSize - 1)) != 0) throw Bad($"inode size {inodeSize} is out of range");
            if ((long)U32(sb, 0x00) != inodesPerGroup * s.GroupCount)
                throw Bad($"inode count {U32(sb, 0x00)} is not {inodesPerGroup} per group × {s.GroupCount} groups");
            s.InodeBlocksPerGroup = (inodesPerGroup * inodeSize + s.BlockSize - 1) / s.BlockSize;
            s.InodesPerGroup = inodesPerGroup;
            s.InodeSize = inodeSize;
            s.FirstInode = rev >= 1 ? U32(sb, 0x54) : 11;
            // s_journal_inum, s_last_orphan, s_usr/grp_quota_inum, s_prj_quota_inum, s_orphan_file_inum (fs/ext4/ext4.h).
            s.SpecialInodes = new long[] { U32(sb, 0xE0), U32(sb, 0xE8), U32(sb, 0x240), U32(sb, 0x244), U32(sb, 0x26C), U32(sb, 0x280) };
            s.Extents = (incompat & IncompatExtents) != 0;

            s.DescSize = 32;
            if (s.Is64Bit)
            {
                s.DescSize = U16(sb, 0xFE);
                if (s.DescSize < 64 || s.DescSize > 1024 || (s.DescSize & (s.DescSize - 1)) != 0) throw Bad($"group descriptor size {s.DescSize} is out of range");
            }
            s.DescPerBlock = s.BlockSize / s.DescSize;
            s.DescBlocks = (s.GroupCount + s.DescPerBlock - 1) / s.DescPerBlock;
            s.ReservedGdtBlocks = rev >= 1 ? U16(sb, 0xCE) : 0;
            if (s.ReservedGdtBlocks > s.BlockSize / 4) throw Bad($"{s.ReservedGdtBlocks} reserved descriptor blocks is out of range");
            s.MetaBg = (incompat & IncompatMetaBg) != 0;
            if (s.MetaBg)
            {
                s.FirstMetaBg = U32(sb, 0x104);
                if (s.FirstMetaBg > s.DescBlocks) throw Bad($"first meta block group {s.FirstMetaBg} is past the {s.DescBlocks} descriptor blocks");
            }
            else if (s.DescBlocks + s.ReservedGdtBlocks >= s.BlocksPerGroup) throw Bad("the group descriptors do not fit in the first group");
            s.SparseSuper = (ro & RoSparseSuper) != 0;
            s.SparseSuper2 = (compat & CompatSparseSuper2) != 0;
            if (s.SparseSuper2)
            {
                s.BackupBg0 = U32(sb, 0x24C);
                s.BackupBg1 = U32(sb, 0x250);
            }
            s.GdtCsum = (ro & RoGdtCsum) != 0;
            s.Uuid = new byte[16];
            Array.Copy(sb, 0x68, s.Uuid, 0, 16);
            s.CsumSeed = (incompat & IncompatCsumSeed) != 0 ? U32(sb, 0x270) : Checksums.Crc32c(~0u, s.Uuid, 0, 16);
            s.Name = (incompat & ~(IncompatFiletype | IncompatRecover | IncompatMetaBg)) != 0 || (ro & ~(RoSparseSuper | RoLargeFile | RoBtreeDir)) != 0
                ? "ext4" : (compat & CompatHasJournal) != 0 ? "ext3" : "ext2";
            return s;
        }

        public long GroupFirstBlock(long group) => FirstDataBlock + group * BlocksPerGroup;

        /// <summary>Blocks in a group (the last one may be short).</summary>
        public long GroupBlocks(long group) => group == GroupCount - 1 ? BlocksCount - GroupFirstBlock(group) : BlocksPerGroup;

        /// <summary>e2fsprogs ext2fs_bg_has_super: does this group hold a superblock backup?</summary>
        public bool HasSuper(long group)
        {
            if (group == 0) return true;
            if (SparseSuper2) return group == BackupBg0 || group == BackupBg1;
            if (group <= 1 || !SparseSuper) return true;
            if ((group & 1) == 0) return false;
            return IsPowerOf(group, 3) || IsPowerOf(group, 5) || IsPowerOf(group, 7);
        }

        private static bool IsPowerOf(long n, long b)
        {
            long p = b;
            while (p < n) p *= b;
            return p == n;
        }

        /// <summary>e2fsprogs ext2fs_descriptor_block_loc2 (primary copy): where descriptor block i lives.</summary>
        public long DescriptorBlock(long i)
        {
            // 1 KiB blocks with bigalloc: block 0 is the boot block, so group 0's metadata starts one block later.
            long adjust = BlockSize == 1024 && FirstDataBlock == 0 ? 1 : 0;
            if (!MetaBg || i < FirstMetaBg) return FirstDataBlock + i + 1 + adjust;
            long bg = DescPerBlock * i;
            return GroupFirstBlock(bg) + (HasSuper(bg) ? 1 : 0) + (bg == 0 ? adjust : 0);
        }

        private static AllocationUnsupportedException Bad(string why) => new(why);
    }
}
