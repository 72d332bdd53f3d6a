using System;
using System.Collections.Generic;
using System.Security.Cryptography;
using static NekkBackup.Core.Imaging.Allocation.VolumeReader;

namespace NekkBackup.Core.Imaging.Allocation
{
    /// <summary>
    /// The <see cref="FileTable"/> of an ext4 file system: every in-use inode (by the inode bitmaps), its extent tree
    /// walked to the byte ranges it maps. A regular file counts as a file (rather than "other") only when nothing but a
    /// write through the file system changes its data and every such write changes its inode: a user inode (at or
    /// past s_first_ino, not one the superblock names for the journal, quota or orphan handling), linked, extent-mapped,
    /// not inline data or an extended-attribute inode. Its fingerprint is the whole inode except the access time and the
    /// checksum (so i_ctime, i_mtime with their nanoseconds, i_version, size, flags, generation and the extent root),
    /// plus every extent tree block below the root. Offsets: the kernel's fs/ext4/ext4.h (struct ext4_inode,
    /// ext4_extent_header, ext4_extent_idx, ext4_extent).
    /// </summary>
    internal static class Ext4FileTable
    {
        private const ushort ExtentMagic = 0xF30A;
        private const uint FlagExtents = 0x80000, FlagEaInode = 0x200000, FlagInlineData = 0x10000000;
        private const int MaxDepth = 5;
        /// <summary>Extent tree blocks read for one volume at most (a hostile tree cannot make the read unbounded).</summary>
        private const int MaxTreeBlocks = 1 << 20;
        private const int TableRead = 4 << 20;

        public static FileTable Read(VolumeReader vol, byte[] superblock)
        {
            var sb = Ext4Superblock.Parse(superblock, vol.Length);
            if (!sb.Extents) throw new AllocationUnsupportedException("the file system maps files with indirect blocks (ext2/ext3), not extents");
            var files = new Dictionary<long, FileRecord>();
            var others = new List<AllocationRun>();
            long newest = long.MinValue;
            bool coarse = false;
            int budget = MaxTreeBlocks;
            int isz = sb.InodeSize;
            var special = new HashSet<long>(sb.SpecialInodes);
            var buf = new byte[(int)Math.Min(TableRead, Math.Max(isz, sb.InodesPerGroup * isz))];
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var written = new List<AllocationRun>();
            var unwritten = new List<AllocationRun>();
            foreach (var g in Ext4AllocationReader.Descriptors(vol, sb))
            {
                if (g.InodesUninit) continue;
                var inUse = InodeBitmap(vol, sb, g);
                long count = sb.InodesPerGroup - g.InodesUnused;
                for (long first = 0; first < count;)
                {
                    int n = (int)Math.Min(count - first, buf.Length / isz);
                    vol.ReadInto(g.InodeTable * sb.BlockSize + first * isz, buf, n * isz, $"inode table of group {g.Index}");
                    for (int k = 0; k < n; k++)
                    {
                        long idx = first + k;
                        if ((inUse[idx >> 3] & (1 << (int)(idx & 7))) == 0) continue;
                        long ino = g.Index * sb.InodesPerGroup + idx + 1;
                        int at = k * isz;
                        long changed = Time(buf, at, isz, 0x0C, 0x84);
                        newest = Math.Max(newest, changed);
                        uint flags = U32(buf, at + 0x20);
                        if ((flags & FlagExtents) == 0 || (flags & FlagInlineData) != 0) continue; // maps nothing this reader can follow
                        bool file = (U16(buf, at) & 0xF000) == 0x8000 && ino >= sb.FirstInode && !special.Contains(ino)
                            && U16(buf, at + 0x1A) > 0 && U32(buf, at + 0x14) == 0 && (flags & FlagEaInode) == 0;
                        written.Clear();
                        unwritten.Clear();
                        sha.AppendData(BitConverter.GetBytes(ino));
                        sha.AppendData(Masked(buf, at, isz));
                        Walk(vol, sb, buf, at + 0x28, 60, -1, written, unwritten, sha, ref budget, ino);
                        var fingerprint = new Fingerprint(sha.GetHashAndReset());
                        others.AddRange(unwritten);
                        // A file whose inode keeps whole seconds only (no extra time fields) widens the racy window for all.
                        if (file) coarse |= !HasExtra(buf, at, isz, 0x88);
                        if (file) files[ino] = new FileRecord(fingerprint, changed, Merge(written));
                        else others.AddRange(written);
                    }
                    first += n;
                }
            }
            return new FileTable(sb.Name, NekkBackup.Core.Primitives.Hex.Encode(sb.Uuid), files, others, newest, 10_000_000, coarse);
        }

        /// <summary>The group's inode bitmap (checksum-verified with metadata_csum); bits past the initialised inodes are ignored by the caller.</summary>
        private static byte[] InodeBitmap(VolumeReader vol, Ext4Superblock sb, Ext4AllocationReader.Group g)
        {
            if (g.InodeBitmap < sb.FirstDataBlock || g.InodeBitmap >= sb.BlocksCount)
                throw new AllocationUnsupportedException($"group {g.Index}'s inode bitmap lies outside the file system");
            var bits = vol.Read(g.InodeBitmap * sb.BlockSize, sb.BlockSize, $"inode bitmap of group {g.Index}");
            if (sb.MetadataCsum)
            {
                uint c = Checksums.Crc32c(sb.CsumSeed, bits, 0, (int)(sb.InodesPerGroup / 8));
                if (sb.DescSize < 64) c &= 0xFFFF;
                if (c != g.InodeBitmapCsum) throw new AllocationUnsupportedException($"group {g.Index}'s inode bitmap checksum does not match (damaged bitmap)");
            }
            return bits;
        }

        /// <summary>
        /// A time field in 100 ns ticks since 1970 (as NTFS counts; nanoseconds would overflow a long past 2262, and ext4's
        /// epoch bits reach 2446): 32 seconds bits, plus the extra field's epoch bits and nanoseconds when the inode holds it.
        /// </summary>
        private static long Time(byte[] b, int at, int isz, int field, int extraField)
        {
            long seconds = (int)U32(b, at + field);
            uint extra = HasExtra(b, at, isz, extraField + 4) ? U32(b, at + extraField) : 0;
            return (seconds + ((long)(extra & 3) << 32)) * 10_000_000 + (extra >> 2) / 100;
        }

        /// <summary>Does the inode's extra part (i_extra_isize past byte 128) reach <paramref name="end"/>?</summary>
        private static bool HasExtra(byte[] b, int at, int isz, int end)
        {
            if (isz <= 128) return false;
            int extra = U16(b, at + 0x80);
            return 128 + extra >= end && 128 + extra <= isz;
        }

        /// <summary>The inode without what a read changes: i_atime (+ extra) and the checksum that covers it.</summary>
        private static byte[] Masked(byte[] b, int at, int isz)
        {
            var copy = new byte[isz];
            Buffer.BlockCopy(b, at, copy, 0, isz);
            Array.Clear(copy, 0x08, 4);
            Array.Clear(copy, 0x7C, 2);
            if (HasExtra(b, at, isz, 0x84)) Array.Clear(copy, 0x82, 2);
            if (HasExtra(b, at, isz, 0x90)) Array.Clear(copy, 0x8C, 4);
            return copy;
        }

        /// <summary>
        /// One extent tree node (the 60-byte root in the inode, or a block): its leaves' ranges into <paramref name="written"/>
        /// and <paramref name="unwritten"/> (preallocated, read as zeros: never taken as unchanged), each block below the
        /// root hashed into the fingerprint. Depth must fall by one per level; every range must lie in the file system.
        /// </summary>
        private static void Walk(VolumeReader vol, Ext4Superblock sb, byte[] node, int at, int length, int expectDepth,
            List<AllocationRun> written, List<AllocationRun> unwritten, IncrementalHash sha, ref int budget, long ino)
        {
            if (U16(node, at) != ExtentMagic) throw Bad(ino, "an extent node without its magic");
            int entries = U16(node, at + 2), max = U16(node, at + 4), depth = U16(node, at + 6);
            if (entries > max || 12 + max * 12 > length || depth > MaxDepth || (expectDepth >= 0 && depth != expectDepth))
                throw Bad(ino, $"an extent node with {entries} of {max} entries at depth {depth}");
            for (int i = 0; i < entries; i++)
            {
                int e = at + 12 + i * 12;
                if (depth == 0)
                {
                    int len = U16(node, e + 4);
                    bool pre = len > 32768;
                    if (pre) len -= 32768;
                    long start = (long)U16(node, e + 6) << 32 | U32(node, e + 8);
                    if (len == 0 || start < sb.FirstDataBlock || start > sb.BlocksCount - len) throw Bad(ino, $"an extent of {len} blocks at {start}");
                    var run = new AllocationRun(start * sb.BlockSize, (long)len * sb.BlockSize);
                    (pre ? unwritten : written).Add(run);
                    continue;
                }
                long leaf = U32(node, e + 4) | (long)U16(node, e + 8) << 32;
                if (leaf < sb.FirstDataBlock || leaf >= sb.BlocksCount) throw Bad(ino, $"an extent tree block at {leaf}");
                if (--budget < 0) throw new AllocationUnsupportedException($"more than {MaxTreeBlocks} extent tree blocks");
                var block = vol.Read(leaf * sb.BlockSize, sb.BlockSize, $"extent tree block of inode {ino}");
                sha.AppendData(block);
                Walk(vol, sb, block, 0, block.Length, depth - 1, written, unwritten, sha, ref budget, ino);
            }
        }

        /// <summary>Ranges in file order, adjacent ones merged.</summary>
        private static AllocationRun[] Merge(List<AllocationRun> runs)
        {
            var list = new List<AllocationRun>(runs.Count);
            foreach (var r in runs) AllocationRun.Append(list, r);
            return list.ToArray();
        }

        private static AllocationUnsupportedException Bad(long ino, string what) => new($"inode {ino} has {what} (damaged extent tree; run e2fsck)");
    }
}
