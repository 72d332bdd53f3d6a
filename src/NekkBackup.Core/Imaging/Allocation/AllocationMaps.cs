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
            var vol = new VolumeReader(source, cancellationToken);
            string fs = "unknown";
            try
            {
                if (vol.Length < 4096) return AllocationProbe.Unsupported(fs, $"the volume is only {vol.Length} bytes");
                var head = vol.Read(0, 2048, "the first sectors");
                if (NtfsAllocationReader.Looks(head))
                {
                    fs = "ntfs";
                    return AllocationProbe.Supported(NtfsAllocationReader.Read(vol, head));
                }
                var sb = new byte[Ext4Superblock.Size];
                Array.Copy(head, Ext4Superblock.Offset, sb, 0, sb.Length);
                if (VolumeReader.U16(sb, 0x38) == Ext4Superblock.Magic)
                {
                    fs = "ext2/3/4";
                    return AllocationProbe.Supported(Ext4AllocationReader.Read(vol, sb));
                }
                fs = Recognise(vol, head);
                return AllocationProbe.Unsupported(fs, fs == "unknown"
                    ? "no ext2/3/4 or NTFS file system was found"
                    : $"used-block capture reads ext2/3/4 and NTFS; this volume holds {fs}");
            }
            catch (AllocationUnsupportedException e) { return AllocationProbe.Unsupported(fs, e.Message); }
            catch (OverflowException e) { return AllocationProbe.Unsupported(fs, "a metadata field is out of range: " + e.Message); }
            catch (IOException e) { return AllocationProbe.Unsupported(fs, "reading the file-system metadata failed: " + e.Message); }
            catch (UnauthorizedAccessException e) { return AllocationProbe.Unsupported(fs, "reading the file-system metadata was denied: " + e.Message); }
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
