using System;
using System.Collections.Generic;
using static NekkBackup.Core.Imaging.Allocation.VolumeReader;

namespace NekkBackup.Core.Imaging.Allocation
{
    /// <summary>One NTFS attribute header inside an MFT record (offsets as in ntfs-3g's layout.h, ATTR_RECORD).</summary>
    internal readonly struct NtfsAttribute
    {
        public NtfsAttribute(int offset, uint type, int length, bool nonResident, int nameLength, ushort flags)
        {
            Offset = offset;
            Type = type;
            Length = length;
            NonResident = nonResident;
            NameLength = nameLength;
            Flags = flags;
        }

        public int Offset { get; }
        public uint Type { get; }
        public int Length { get; }
        public bool NonResident { get; }
        public int NameLength { get; }
        public ushort Flags { get; }
    }

    /// <summary>A contiguous run of clusters of a non-resident attribute.</summary>
    internal readonly struct NtfsRun
    {
        public NtfsRun(long lcn, long length)
        {
            Lcn = lcn;
            Length = length;
        }

        public long Lcn { get; }
        public long Length { get; }
    }

    /// <summary>
    /// MFT record parsing for the system files the allocation reader needs ($MFT, $Volume, $Bitmap) and for every
    /// record <see cref="NtfsFileTable"/> walks: the update sequence (fixups), a record's attributes, resident values
    /// and run lists.
    /// Every offset and length read from the record is checked before it is used.
    /// </summary>
    internal static class NtfsRecord
    {
        public const uint AttrStandardInformation = 0x10, AttrAttributeList = 0x20, AttrVolumeInformation = 0x70, AttrData = 0x80, AttrEnd = 0xFFFFFFFF;
        /// <summary>MFT_RECORD.magic "FILE" (layout.h magic_FILE).</summary>
        public const uint FileMagic = 0x454C4946;
        private const int Stride = 512; // NTFS protects every 512 bytes of a record, whatever the sector size

        /// <summary>
        /// Checks the header and applies the update sequence in place. A record not in use is refused, and so is an
        /// extension record (base_mft_record non-zero) unless <paramref name="extensionAllowed"/>.
        /// </summary>
        public static void Fixup(byte[] rec, long number, bool extensionAllowed = false)
        {
            string what = $"MFT record {number}";
            uint magic = U32(rec, 0);
            if (magic == 0x44414142) throw Bad($"{what} is marked bad (BAAD)");
            if (magic != FileMagic) throw Bad($"{what} has no FILE signature");
            int usaOfs = U16(rec, 4), usaCount = U16(rec, 6);
            if ((usaOfs & 1) != 0 || usaCount != rec.Length / Stride + 1 || usaOfs < 0x28 || usaOfs + usaCount * 2 > Stride - 2)
                throw Bad($"{what} has an invalid update sequence ({usaCount} entries at {usaOfs})");
            ushort usn = U16(rec, usaOfs);
            for (int i = 1; i < usaCount; i++)
            {
                int pos = i * Stride - 2;
                if (U16(rec, pos) != usn) throw Bad($"{what} is torn: its update sequence does not match at byte {pos}");
                rec[pos] = rec[usaOfs + 2 * i];
                rec[pos + 1] = rec[usaOfs + 2 * i + 1];
            }
            int attrs = U16(rec, 0x14);
            long inUse = U32(rec, 0x18), allocated = U32(rec, 0x1C);
            if ((U16(rec, 0x16) & 1) == 0) throw Bad($"{what} is not in use");
            if (allocated != rec.Length || inUse > rec.Length || attrs < usaOfs + usaCount * 2 || (attrs & 7) != 0 || attrs + 8 > inUse)
                throw Bad($"{what} has inconsistent sizes");
            if (!extensionAllowed && U64(rec, 0x20) != 0) throw Bad($"{what} is an extension record, not a base record");
            if (usaOfs >= 0x30 && U32(rec, 0x2C) != number) throw Bad($"{what} says it is record {U32(rec, 0x2C)}");
        }

        /// <summary>The attributes of a fixed-up record, in order.</summary>
        public static List<NtfsAttribute> Attributes(byte[] rec, long number)
        {
            var list = new List<NtfsAttribute>();
            int p = U16(rec, 0x14);
            int end = (int)U32(rec, 0x18);
            while (p + 8 <= end)
            {
                uint type = U32(rec, p);
                if (type == AttrEnd) return list;
                long len = U32(rec, p + 4);
                if (len < 0x18 || (len & 7) != 0 || len > end - p) throw Bad($"MFT record {number}: attribute 0x{type:x} at {p} has a bad length {len}");
                byte nonRes = rec[p + 8];
                if (nonRes > 1 || (nonRes == 1 && len < 0x40)) throw Bad($"MFT record {number}: attribute 0x{type:x} at {p} is malformed");
                list.Add(new NtfsAttribute(p, type, (int)len, nonRes == 1, rec[p + 9], U16(rec, p + 0x0C)));
                p += (int)len;
            }
            throw Bad($"MFT record {number} has no end-of-attributes marker");
        }

        /// <summary>The value of a resident attribute.</summary>
        public static ArraySegment<byte> ResidentValue(byte[] rec, NtfsAttribute a)
        {
            if (a.NonResident) throw Bad($"attribute 0x{a.Type:x} is not resident");
            long len = U32(rec, a.Offset + 0x10);
            int ofs = U16(rec, a.Offset + 0x14);
            if (ofs < 0x18 || len > a.Length - ofs) throw Bad($"attribute 0x{a.Type:x}'s value lies outside it");
            return new ArraySegment<byte>(rec, a.Offset + ofs, (int)len);
        }

        /// <summary>
        /// Decodes a non-resident attribute's mapping pairs. Refuses compressed, encrypted and sparse data, an
        /// extent that does not start at VCN 0 or does not cover the whole attribute, and runs outside the volume.
        /// </summary>
        public static List<NtfsRun> Runs(byte[] rec, NtfsAttribute a, long clusters, long clusterSize, out long dataSize, out long initializedSize)
        {
            string what = $"attribute 0x{a.Type:x}";
            if (!a.NonResident) throw Bad($"{what} is resident");
            if ((a.Flags & 0x00FF) != 0 || (a.Flags & 0xC000) != 0) throw Bad($"{what} is compressed, encrypted or sparse");
            int p = a.Offset;
            long lowest = I64(rec, p + 0x10), highest = I64(rec, p + 0x18);
            int mp = U16(rec, p + 0x20);
            long allocated = I64(rec, p + 0x28);
            dataSize = I64(rec, p + 0x30);
            initializedSize = I64(rec, p + 0x38);
            if (lowest != 0) throw Bad($"{what} continues in another MFT record (attribute list)");
            if (highest < -1 || highest >= clusters || mp < 0x40 || mp >= a.Length || rec[p + 0x22] != 0)
                throw Bad($"{what} has an invalid header");
            if (initializedSize < 0 || dataSize < initializedSize || allocated < dataSize || allocated > (highest + 1) * clusterSize)
                throw Bad($"{what} has inconsistent sizes");
            var runs = new List<NtfsRun>();
            long vcn = 0, lcn = 0;
            int q = p + mp, end = p + a.Length;
            while (q < end && rec[q] != 0)
            {
                int lb = rec[q] & 0xF, ob = rec[q] >> 4;
                if (lb == 0 || lb > 8 || ob > 8 || q + 1 + lb + ob > end) throw Bad($"{what}'s run list is malformed");
                long length = ReadSigned(rec, q + 1, lb);
                if (ob == 0) throw Bad($"{what} has a sparse run");
                long delta = ReadSigned(rec, q + 1 + lb, ob);
                if (length <= 0 || length > clusters || delta > clusters || delta < -clusters) throw Bad($"{what}'s run list has a run of {length} clusters at {delta}");
                lcn += delta;
                if (lcn < 0 || lcn > clusters - length) throw Bad($"{what}'s run at cluster {lcn} lies outside the volume");
                runs.Add(new NtfsRun(lcn, length));
                vcn += length;
                if (vcn > highest + 1) throw Bad($"{what}'s run list is longer than the attribute");
                q += 1 + lb + ob;
            }
            if (vcn != highest + 1) throw Bad($"{what}'s run list covers {vcn} of {highest + 1} clusters");
            return runs;
        }

        /// <summary>Little-endian two's-complement integer of 1–8 bytes (an 8-byte length with the top bit set reads negative and is refused).</summary>
        private static long ReadSigned(byte[] b, int at, int n)
        {
            ulong v = 0;
            for (int i = n - 1; i >= 0; i--) v = (v << 8) | b[at + i];
            if (n < 8 && (b[at + n - 1] & 0x80) != 0) v |= ~0UL << (8 * n);
            return unchecked((long)v);
        }

        private static AllocationUnsupportedException Bad(string why) => new(why);
    }
}
