using System.Collections.Generic;

namespace NekkBackup.Core.Imaging.Allocation
{
    /// <summary>
    /// Which bytes of a volume its file system uses, read from the file system's own allocation bitmap
    /// (ext2/3/4 block bitmaps, the NTFS $Bitmap). Used-block capture reads only these bytes and stores the
    /// rest as zeros. A map never under-states: anything it cannot account for (the boot block before an ext
    /// file system's first group, the bytes past the file system's last block, a coarsened unit) is "used".
    /// </summary>
    public interface IAllocationMap
    {
        /// <summary>"ext2", "ext3", "ext4" or "ntfs".</summary>
        string FileSystem { get; }

        /// <summary>Bytes per map unit: the file system's block/cluster, or a multiple of it on huge volumes (see <see cref="AllocationBitmap.MaxUnits"/>).</summary>
        int BlockSize { get; }

        /// <summary>Units the file system's bitmap covers (from byte 0).</summary>
        long TotalBlocks { get; }

        /// <summary>Length of the volume in bytes; bytes from <c>TotalBlocks × BlockSize</c> to here count as used.</summary>
        long Length { get; }

        /// <summary>Units marked used.</summary>
        long UsedBlocks { get; }

        /// <summary>Bytes a used-block capture reads: the used units plus the tail past the file system.</summary>
        long UsedBytes { get; }

        /// <summary>True when any byte of [offset, offset + count) is used (ranges outside the volume are not).</summary>
        bool IsUsed(long offset, long count);

        /// <summary>The used byte ranges intersecting [offset, offset + count), in order, clipped to it; adjacent units merged.</summary>
        IEnumerable<AllocationRun> UsedRuns(long offset, long count);
    }
}
