using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Security.Cryptography;
using static NekkBackup.Core.Imaging.Allocation.VolumeReader;

namespace NekkBackup.Core.Imaging.Allocation
{
    /// <summary>
    /// The <see cref="FileTable"/> of an NTFS volume: every MFT record, read in large sequential pieces through $MFT's own
    /// run list. A record counts as a file (rather than "other") only when nothing but a write through the file system
    /// changes its data and every such write changes its record: an in-use base record past the reserved ones
    /// (FILE_first_user, 24) that is neither a directory nor an $Extend file or view index (MFT_RECORD flags exactly
    /// MFT_RECORD_IN_USE), holds no attribute list (the record would not describe all of the file), nothing but
    /// $STANDARD_INFORMATION, $FILE_NAME, $OBJECT_ID, $SECURITY_DESCRIPTOR, $EA_INFORMATION, $EA and $DATA, exactly one
    /// unnamed $DATA, non-resident and plainly mapped (no sparse, compressed or encrypted runs), and whose
    /// STANDARD_INFORMATION.file_attributes has no FILE_ATTR_SYSTEM (pagefile.sys, hiberfil.sys and the $Extend logs
    /// are written in place without time updates), SPARSE_FILE, REPARSE_POINT (WOF, dedup, cloud placeholders keep
    /// their data elsewhere), COMPRESSED or ENCRYPTED. Its fingerprint is the whole fixed-up record (MFT_RECORD and every
    /// ATTR_RECORD up to bytes_in_use) except what a read or a mere rewrite of the same record changes: the lsn, the
    /// update sequence array and STANDARD_INFORMATION.last_access_time. Offsets: ntfs-3g's include/ntfs-3g/layout.h.
    /// </summary>
    internal static class NtfsFileTable
    {
        private const long FirstUserRecord = 24;
        /// <summary>MFT records read for one volume at most (16 GiB of 1 KiB records): a hostile size cannot make the walk unbounded.</summary>
        private const long MaxRecords = 1L << 24;
        private const int Piece = 1 << 20;
        private const ushort RecordInUse = 0x0001; // MFT_RECORD_IN_USE; directories add MFT_RECORD_IS_DIRECTORY (0x2), $Extend files 0x4 and 0x8
        private const uint AttrFileName = 0x30, AttrObjectId = 0x40, AttrSecurityDescriptor = 0x50, AttrEaInformation = 0xD0, AttrEa = 0xE0;
        /// <summary>FILE_ATTR_SYSTEM | SPARSE_FILE | REPARSE_POINT | COMPRESSED | ENCRYPTED.</summary>
        private const uint Unvouched = 0x0004 | 0x0200 | 0x0400 | 0x0800 | 0x4000;

        public static FileTable Read(VolumeReader vol, byte[] boot)
        {
            var g = NtfsAllocationReader.ParseBoot(boot, vol.Length);
            var mft = NtfsAllocationReader.OpenMft(vol, g, out long size, out long initialized);
            // Records past the initialized size read as zeros (never used), whatever the disk holds there.
            long count = Math.Min(size, initialized) / g.RecordSize;
            if (count > MaxRecords) throw new AllocationUnsupportedException($"the MFT holds {count} records, more than the {MaxRecords} this reader compares");
            using var walk = new Walk(g);
            var rec = new byte[g.RecordSize];
            var buf = new byte[(int)Math.Min(Piece, count * g.RecordSize)];
            long number = 0;
            int fill = 0;
            foreach (var r in mft)
            {
                long runBytes = r.Length * g.ClusterSize;
                for (long within = 0; within < runBytes && number < count;)
                {
                    // A record straddles two runs when clusters are smaller than records: it is assembled across the pieces.
                    int n = (int)Math.Min(Math.Min(buf.Length, runBytes - within), (count - number) * g.RecordSize - fill);
                    vol.ReadInto(r.Lcn * g.ClusterSize + within, buf, n, "the MFT");
                    for (int i = 0; i < n;)
                    {
                        int k = Math.Min(g.RecordSize - fill, n - i);
                        Buffer.BlockCopy(buf, i, rec, fill, k);
                        fill += k;
                        i += k;
                        if (fill < g.RecordSize) continue;
                        walk.Visit(rec, number++);
                        fill = 0;
                    }
                    within += n;
                }
            }
            if (number != count) throw new AllocationUnsupportedException($"the MFT's runs hold {number} of its {count} records");
            string volumeId = U64(boot, 0x48).ToString("x16"); // NTFS_BOOT_SECTOR.volume_serial_number
            return new FileTable("ntfs", volumeId, walk.Files, walk.Others, walk.Newest, 10_000_000);
        }

        /// <summary>The state of one walk over the MFT: what it found so far, and the hash it fingerprints files with.</summary>
        private sealed class Walk : IDisposable
        {
            private readonly NtfsAllocationReader.Geometry _g;
            private readonly SHA256 _sha = SHA256.Create();
            private readonly byte[] _hashed;

            public Walk(NtfsAllocationReader.Geometry g)
            {
                _g = g;
                _hashed = new byte[8 + g.RecordSize];
            }

            public Dictionary<long, FileRecord> Files { get; } = new();
            public List<AllocationRun> Others { get; } = new();
            public long Newest { get; private set; } = long.MinValue;

            /// <summary>
            /// One record as read from the MFT (fixed up here, in place). A free record (never written, or deleted: the
            /// in-use flag clear) holds nothing; an in-use one that is torn, marked BAAD or malformed means a damaged MFT,
            /// and the whole table is refused rather than guessed at.
            /// </summary>
            public void Visit(byte[] rec, long number)
            {
                uint magic = U32(rec, 0);
                if (magic == 0) return;
                ushort flags = U16(rec, 0x16);
                if (magic == NtfsRecord.FileMagic && (flags & RecordInUse) == 0) return;
                NtfsRecord.Fixup(rec, number, extensionAllowed: true);
                var attrs = NtfsRecord.Attributes(rec, number);
                bool isBase = U64(rec, 0x20) == 0; // MFT_RECORD.base_mft_record

                int si = -1, siCount = 0, unnamedData = 0;
                bool foreign = false;
                NtfsAttribute data = default;
                foreach (var a in attrs)
                {
                    switch (a.Type)
                    {
                        case NtfsRecord.AttrStandardInformation:
                            siCount++;
                            if (a.NonResident) break;
                            var v = NtfsRecord.ResidentValue(rec, a);
                            if (v.Count >= 0x30) si = v.Offset;
                            break;
                        case NtfsRecord.AttrData:
                            if (a.NameLength == 0) { unnamedData++; data = a; }
                            break;
                        case AttrFileName: case AttrObjectId: case AttrSecurityDescriptor: case AttrEaInformation: case AttrEa:
                            break;
                        default:
                            foreign = true; // attribute list, index, bitmap, reparse point, logged utility stream, ...
                            break;
                    }
                }

                long changed = 0;
                if (isBase && si >= 0)
                {
                    // STANDARD_INFORMATION.last_mft_change_time, which NTFS sets itself on every change of the record; not
                    // last_data_change_time, which SetFileTime or `touch -d` can put anywhere, even in the future, and would
                    // then make every change before it look older than it is (FileTable.NewestChange is a lower bound).
                    changed = I64(rec, si + 0x10);
                    Newest = Math.Max(Newest, changed);
                }
                bool candidate = isBase && number >= FirstUserRecord && flags == RecordInUse && siCount == 1 && si >= 0
                    && (U32(rec, si + 0x20) & Unvouched) == 0 && !foreign && unnamedData == 1 && data.NonResident;
                var dataRuns = candidate ? TryRuns(rec, data) : null;

                // Every other non-resident attribute of any in-use record (system files, directories' indexes and bitmaps,
                // named streams, extension records) maps ranges never taken as unchanged. One that cannot be decoded here
                // (sparse, compressed, continued from another record) is left out: its ranges are then simply not vouched for.
                foreach (var a in attrs)
                {
                    if (!a.NonResident || (dataRuns != null && a.Offset == data.Offset)) continue;
                    var runs = TryRuns(rec, a);
                    if (runs != null) Others.AddRange(Bytes(runs));
                }
                if (dataRuns != null) Files[number] = new FileRecord(Fingerprint(rec, number, si), changed, Bytes(dataRuns).ToArray());
            }

            /// <summary>The attribute's clusters, or null when <see cref="NtfsRecord.Runs"/> refuses them.</summary>
            private List<NtfsRun>? TryRuns(byte[] rec, NtfsAttribute a)
            {
                try { return NtfsRecord.Runs(rec, a, _g.Clusters, _g.ClusterSize, out _, out _); }
                catch (AllocationUnsupportedException) { return null; }
            }

            /// <summary>Runs as byte ranges in VCN order, adjacent ones merged.</summary>
            private List<AllocationRun> Bytes(List<NtfsRun> runs)
            {
                var list = new List<AllocationRun>(runs.Count);
                foreach (var r in runs) AllocationRun.Append(list, new AllocationRun(r.Lcn * _g.ClusterSize, r.Length * _g.ClusterSize));
                return list;
            }

            /// <summary>
            /// SHA-256 over the record number and the fixed-up record up to bytes_in_use, with MFT_RECORD.lsn (rewritten
            /// whenever the record is logged), the update sequence array (usa_ofs, usa_count: a new number on every write
            /// of the record; the bytes it saved are back in place after the fixup) and the $STANDARD_INFORMATION value's
            /// last_access_time zeroed.
            /// </summary>
            private Fingerprint Fingerprint(byte[] rec, long number, int si)
            {
                int inUse = (int)U32(rec, 0x18); // Fixup checked it against the record size and the attributes
                BinaryPrimitives.WriteInt64LittleEndian(_hashed.AsSpan(0, 8), number);
                Buffer.BlockCopy(rec, 0, _hashed, 8, inUse);
                Array.Clear(_hashed, 8 + 0x08, 8);
                Array.Clear(_hashed, 8 + U16(rec, 0x04), U16(rec, 0x06) * 2);
                Array.Clear(_hashed, 8 + si + 0x18, 8);
                return new Fingerprint(_sha.ComputeHash(_hashed, 0, 8 + inUse));
            }

            public void Dispose() => _sha.Dispose();
        }
    }
}
