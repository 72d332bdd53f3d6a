using System;
using System.IO;
using System.Text;
using System.Threading;

namespace NekkBackup.Core.Imaging.Allocation
{
    /// <summary>
    /// Reads a volume's allocation map: ext2/3/4 (<see cref="Ext4AllocationReader"/>) and NTFS
    /// (<see cref="NtfsAllocationReader"/>). Anything else — another or no file system, a feature the readers
    /// do not handle, metadata that fails a check, a read error — gives an unsupported <see cref="AllocationProbe"/>
    /// with the reason, so a capture can fall back to every block. Read-only; never throws for what the
    /// volume contains.
    /// </summary>
    public static class AllocationMaps
    {
        /// <summary>Reads the map; only <paramref name="cancellationToken"/> (OperationCanceledException) ends it with an exception.</summary>
        public static AllocationProbe Read(IBlockSource source, CancellationToken cancellationToken = default)
        {
            if (source == null) throw new ArgumentNullException(nameof(source));
            return Dispatch(source, cancellationToken,
                (vol, boot) => AllocationProbe.Supported(NtfsAllocationReader.Read(vol, boot)),
                (vol, sb) => AllocationProbe.Supported(Ext4AllocationReader.Read(vol, sb)),
                AllocationProbe.Unsupported);
        }

        /// <summary>
        /// The one way a volume's metadata is read: the file system recognised from its first sectors, its reader given the
        /// NTFS boot sector or the ext superblock, and anything else — another file system, a feature or damage a reader
        /// refuses, a read error — handed to <paramref name="unsupported"/> with the file system's name and the reason.
        /// Only cancellation ends it with an exception. Shared by the allocation map and the file table (<see cref="FileTables"/>).
        /// </summary>
        internal static T Dispatch<T>(IBlockSource source, CancellationToken ct, Func<VolumeReader, byte[], T> ntfs, Func<VolumeReader, byte[], T> ext,
            Func<string, string, T> unsupported)
        {
            var vol = new VolumeReader(source, ct);
            string fs = "unknown";
            try
            {
                if (vol.Length < 4096) return unsupported(fs, $"the volume is only {vol.Length} bytes");
                var head = vol.Read(0, 2048, "the first sectors");
                if (NtfsAllocationReader.Looks(head))
                {
                    fs = "ntfs";
                    return ntfs(vol, head);
                }
                var sb = new byte[Ext4Superblock.Size];
                Array.Copy(head, Ext4Superblock.Offset, sb, 0, sb.Length);
                if (VolumeReader.U16(sb, 0x38) == Ext4Superblock.Magic)
                {
                    fs = "ext2/3/4";
                    return ext(vol, sb);
                }
                fs = Recognise(vol, head);
                return unsupported(fs, fs == "unknown"
                    ? "no ext2/3/4 or NTFS file system was found"
                    : $"used-block capture reads ext2/3/4 and NTFS; this volume holds {fs}");
            }
            catch (AllocationUnsupportedException e) { return unsupported(fs, e.Message); }
            catch (OverflowException e) { return unsupported(fs, "a metadata field is out of range: " + e.Message); }
            catch (IOException e) { return unsupported(fs, "reading the file-system metadata failed: " + e.Message); }
            catch (UnauthorizedAccessException e) { return unsupported(fs, "reading the file-system metadata was denied: " + e.Message); }
        }

        /// <summary>Names a few other common volume contents, so the fallback note says what was found.</summary>
        private static string Recognise(VolumeReader vol, byte[] head)
        {
            string At(byte[] b, int at, int n) => at + n <= b.Length ? Encoding.ASCII.GetString(b, at, n) : "";
            if (At(head, 0, 4) == "XFSB") return "xfs";
            if (At(head, 3, 8) == "EXFAT   ") return "exfat";
            if (At(head, 3, 4) == "ReFS") return "refs";
            if (At(head, 82, 5) == "FAT32" || At(head, 54, 3) == "FAT") return "fat";
            if (At(head, 0, 4) == "LUKS") return "luks (encrypted)";
            if (At(head, 512 + 24, 8) == "LVM2 001" || At(head, 512, 8) == "LABELONE") return "an LVM physical volume";
            if (vol.Length >= 0x10000 + 0x48)
            {
                var b = vol.Read(0x10000 + 0x40, 8, "the btrfs superblock");
                if (At(b, 0, 8) == "_BHRfS_M") return "btrfs";
            }
            return "unknown";
        }
    }
}
