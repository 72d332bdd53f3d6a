using System;
using System.Security.Cryptography;

namespace NekkBackup.Core.Imaging
{
    /// <summary>
    /// Fixed VHD = disk bytes + 512-byte footer (windows-notes.md §3). The volume is wrapped in an MBR
    /// disk so Windows sees a partitioned disk: MBR sector, gap to 1 MiB, one primary partition (type 0x07)
    /// at LBA 2048 holding the volume padded to whole sectors, then the footer.
    /// </summary>
    public static class Vhd
    {
        public const int SectorSize = 512;
        public const long PartitionStartLba = 2048;
        public const long VolumeOffset = PartitionStartLba * SectorSize; // 1 MiB
        public const byte PartitionType = 0x07;
        /// <summary>VHD's limit (2,040 GiB per the spec's 65535×16×255 CHS cap is lower in CHS; MS documents 2,040 GB).</summary>
        public const long MaxDiskSize = 2040L << 30;
        public static readonly DateTime Epoch = new(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc);

        public static long PaddedVolumeSize(long volumeSize) => (volumeSize + SectorSize - 1) / SectorSize * SectorSize;

        /// <summary>Size of the disk (Current Size): 1 MiB gap + the padded volume.</summary>
        public static long DiskSize(long volumeSize) => VolumeOffset + PaddedVolumeSize(volumeSize);

        /// <summary>The spec's CHS algorithm ("CHS Calculation" appendix), integer arithmetic throughout.</summary>
        public static (ushort cylinders, byte heads, byte sectorsPerTrack) Geometry(long diskSize)
        {
            long totalSectors = Math.Min(diskSize / SectorSize, 65535L * 16 * 255);
            long spt, heads, cth;
            if (totalSectors >= 65535L * 16 * 63)
            {
                spt = 255; heads = 16; cth = totalSectors / spt;
            }
            else
            {
                spt = 17; cth = totalSectors / spt;
                heads = Math.Max(4, (cth + 1023) / 1024);
                if (cth >= heads * 1024 || heads > 16) { spt = 31; heads = 16; cth = totalSectors / spt; }
                if (cth >= heads * 1024) { spt = 63; heads = 16; cth = totalSectors / spt; }
            }
            return ((ushort)(cth / heads), (byte)heads, (byte)spt);
        }

        /// <summary>The 512-byte footer. All integers big-endian.</summary>
        public static byte[] Footer(long diskSize, DateTime timestampUtc, byte[] uniqueId, uint creatorVersion = 0x00000001)
        {
            if (diskSize % SectorSize != 0) throw new ArgumentException("VHD disk size must be a multiple of 512", nameof(diskSize));
            if (uniqueId.Length != 16) throw new ArgumentException("unique id is 16 bytes", nameof(uniqueId));
            var f = new byte[512];
            Ascii(f, 0, "conectix");
            Be(f, 8, 0x00000002, 4);            // features: reserved bit must be 1
            Be(f, 12, 0x00010000, 4);           // file format version 1.0
            Be(f, 16, unchecked((long)0xFFFFFFFFFFFFFFFF), 8); // data offset: none for fixed disks
            long secs = (long)Math.Floor((timestampUtc.ToUniversalTime() - Epoch).TotalSeconds);
            Be(f, 24, Math.Max(0, secs), 4);
            Ascii(f, 28, "win ");               // qemu trusts Current Size only for "win "
            Be(f, 32, creatorVersion, 4);
            Ascii(f, 36, "Wi2k");
            Be(f, 40, diskSize, 8);             // original size
            Be(f, 48, diskSize, 8);             // current size
            var (c, h, s) = Geometry(diskSize);
            f[56] = unchecked((byte)(c >> 8)); f[57] = unchecked((byte)c); f[58] = h; f[59] = s;
            Be(f, 60, 2, 4);                    // disk type: fixed
            Buffer.BlockCopy(uniqueId, 0, f, 68, 16);
            f[84] = 0;                          // saved state
            Be(f, 64, Checksum(f), 4);
            return f;
        }

        /// <summary>One's complement of the byte sum of the footer with the checksum field taken as zero.</summary>
        public static uint Checksum(byte[] footer)
        {
            uint sum = 0;
            unchecked
            {
                for (int i = 0; i < 512; i++)
                    if (i < 64 || i >= 68) sum += footer[i];
                return ~sum;
            }
        }

        /// <summary>The MBR sector: disk signature at 0x1B8, one primary partition entry at 0x1BE, 0x55AA.</summary>
        public static byte[] MasterBootRecord(long volumeSize, uint diskSignature)
        {
            long sectors = PaddedVolumeSize(volumeSize) / SectorSize;
            if (PartitionStartLba + sectors > uint.MaxValue) throw new ArgumentOutOfRangeException(nameof(volumeSize), "MBR addresses at most 2 TiB");
            var m = new byte[512];
            Le(m, 0x1B8, diskSignature, 4);
            int e = 0x1BE;
            m[e] = 0x00; // not active: a single volume is not promised to boot
            Chs(m, e + 1, PartitionStartLba);
            m[e + 4] = PartitionType;
            Chs(m, e + 5, PartitionStartLba + sectors - 1);
            Le(m, e + 8, PartitionStartLba, 4);
            Le(m, e + 12, sectors, 4);
            m[510] = 0x55; m[511] = 0xAA;
            return m;
        }

        public static uint RandomDiskSignature()
        {
            var b = new byte[4];
            uint v;
            do
            {
                using (var rng = RandomNumberGenerator.Create()) rng.GetBytes(b);
                v = BitConverter.ToUInt32(b, 0);
            } while (v == 0);
            return v;
        }

        public static byte[] RandomUniqueId()
        {
            var b = new byte[16];
            using (var rng = RandomNumberGenerator.Create()) rng.GetBytes(b);
            b[6] = (byte)((b[6] & 0x0F) | 0x40); // RFC 4122 version 4
            b[8] = (byte)((b[8] & 0x3F) | 0x80);
            return b;
        }

        // CHS address with the conventional 255 heads × 63 sectors translation; beyond cylinder 1023 → FE FF FF.
        private static void Chs(byte[] m, int at, long lba)
        {
            long c = lba / (255 * 63), h = lba / 63 % 255, s = lba % 63 + 1;
            if (c > 1023) { m[at] = 0xFE; m[at + 1] = 0xFF; m[at + 2] = 0xFF; return; }
            m[at] = (byte)h;
            m[at + 1] = unchecked((byte)(s | ((c >> 2) & 0xC0)));
            m[at + 2] = unchecked((byte)c);
        }

        private static void Ascii(byte[] b, int at, string s)
        {
            for (int i = 0; i < s.Length; i++) b[at + i] = (byte)s[i];
        }

        private static void Be(byte[] b, int at, long v, int n)
        {
            unchecked { for (int i = 0; i < n; i++) b[at + i] = (byte)(v >> (8 * (n - 1 - i))); }
        }

        private static void Le(byte[] b, int at, long v, int n)
        {
            unchecked { for (int i = 0; i < n; i++) b[at + i] = (byte)(v >> (8 * i)); }
        }
    }
}
