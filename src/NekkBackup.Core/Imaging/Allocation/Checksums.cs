namespace NekkBackup.Core.Imaging.Allocation
{
    /// <summary>
    /// The two checksums ext4 metadata carries, in the raw form the kernel and e2fsprogs use (no pre/post
    /// inversion; the caller passes the seed): CRC-32C (Castagnoli, metadata_csum) and CRC-16 (poly 0x8005,
    /// reflected; gdt_csum / uninit_bg group descriptors).
    /// </summary>
    internal static class Checksums
    {
        private static readonly uint[] Crc32cTable = Table32(0x82F63B78u);
        private static readonly ushort[] Crc16Table = Table16(0xA001);

        public static uint Crc32c(uint crc, byte[] data, int offset, int count)
        {
            unchecked
            {
                for (int i = 0; i < count; i++)
                    crc = Crc32cTable[(crc ^ data[offset + i]) & 0xFF] ^ (crc >> 8);
                return crc;
            }
        }

        public static ushort Crc16(ushort crc, byte[] data, int offset, int count)
        {
            unchecked
            {
                for (int i = 0; i < count; i++)
                    crc = (ushort)(Crc16Table[(crc ^ data[offset + i]) & 0xFF] ^ (crc >> 8));
                return crc;
            }
        }

        private static uint[] Table32(uint poly)
        {
            var t = new uint[256];
            for (uint i = 0; i < 256; i++)
            {
                uint c = i;
                for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? poly ^ (c >> 1) : c >> 1;
                t[i] = c;
            }
            return t;
        }

        private static ushort[] Table16(ushort poly)
        {
            var t = new ushort[256];
            for (int i = 0; i < 256; i++)
            {
                int c = i;
                for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? poly ^ (c >> 1) : c >> 1;
                t[i] = (ushort)c;
            }
            return t;
        }
    }
}
