using System;
using System.Collections.Generic;
using static NekkBackup.Core.Imaging.Allocation.VolumeReader;

namespace NekkBackup.Core.Imaging.Allocation
{
    /// <summary>
    /// Reads the NTFS cluster bitmap ($Bitmap, MFT record 6) into an <see cref="AllocationBitmap"/>: boot
    /// sector geometry, record 0 ($MFT) for the location of the MFT, record 3 ($Volume) to refuse a volume
    /// marked dirty, record 6's unnamed $DATA run list, then the bitmap itself, streamed. The sectors after
    /// the last whole cluster (the backup boot sector at the volume's last sector) count as used.
    /// </summary>
    internal static class NtfsAllocationReader
    {
        private const long MftRecord = 0, VolumeRecord = 3, BitmapRecord = 6;
        private const int Piece = 1 << 20;

        internal sealed class Geometry
        {
            public int BytesPerSector;
            public long ClusterSize;
            public long Clusters;
            public long MftLcn;
            public long MirrorLcn;
            public int RecordSize;
        }

        public static bool Looks(byte[] boot) =>
            boot.Length >= 512 && boot[3] == 'N' && boot[4] == 'T' && boot[5] == 'F' && boot[6] == 'S' && boot[7] == ' ' && boot[8] == ' ' && boot[9] == ' ' && boot[10] == ' ';

        public static AllocationBitmap Read(VolumeReader vol, byte[] boot)
        {
            var g = ParseBoot(boot, vol.Length);
            var mftData = OpenMft(vol, g, out _, out _);

            var rec = ReadRecord(vol, g, mftData, BitmapRecord);
            long needBytes = (g.Clusters + 7) / 8;
            var map = new AllocationBitmap("ntfs", (int)g.ClusterSize, g.Clusters, g.Clusters * g.ClusterSize, vol.Length);
            var attrs = NtfsRecord.Attributes(rec, BitmapRecord);
            if (attrs.Exists(a => a.Type == NtfsRecord.AttrAttributeList)) throw Bad("$Bitmap is spread over several MFT records (attribute list); not supported");
            var data = attrs.Find(a => a.Type == NtfsRecord.AttrData && a.NameLength == 0);
            if (data.Type != NtfsRecord.AttrData) throw Bad("$Bitmap has no data attribute");
            if (!data.NonResident)
            {
                var v = NtfsRecord.ResidentValue(rec, data);
                if (v.Count < needBytes) throw Bad($"$Bitmap holds {v.Count} bytes for {g.Clusters} clusters");
                map.MarkBits(0, v.Array!, v.Offset, g.Clusters);
            }
            else
            {
                var runs = NtfsRecord.Runs(rec, data, g.Clusters, g.ClusterSize, out long size, out long initialized);
                if (initialized < needBytes) throw Bad($"$Bitmap holds {initialized} bytes for {g.Clusters} clusters");
                StreamBitmap(vol, g, runs, needBytes, map);
                if (!runs.TrueForAll(r => map.AllMarked(r.Lcn, r.Length))) throw Bad("$Bitmap does not mark its own clusters used (damaged bitmap or run list; run chkdsk)");
            }
            // NTFS keeps no checksum or free count to check the bitmap against; what it must say is known, though:
            // the boot sector, every cluster of the MFT and the MFT mirror are in use.
            if (!map.IsMarked(0) || !map.IsMarked(g.MirrorLcn) || !mftData.TrueForAll(r => map.AllMarked(r.Lcn, r.Length)))
                throw Bad("$Bitmap does not mark the boot sector, the MFT or its mirror used (damaged bitmap; run chkdsk)");
            return map;
        }

        /// <summary>
        /// Record 0 ($MFT), read where the boot sector says: its unnamed $DATA run list (the whole MFT), data and
        /// initialized size. Then record 3 ($Volume): a volume marked dirty is refused.
        /// </summary>
        internal static List<NtfsRun> OpenMft(VolumeReader vol, Geometry g, out long mftSize, out long mftInitialized)
        {
            var mft = vol.Read(g.MftLcn * g.ClusterSize, g.RecordSize, "MFT record 0");
            NtfsRecord.Fixup(mft, MftRecord);
            var mftData = UnnamedData(mft, MftRecord, g, out mftSize, out mftInitialized);
            if (mftSize < (BitmapRecord + 1) * g.RecordSize) throw Bad($"the MFT holds {mftSize} bytes, too few for its system records");
            if (mftData[0].Lcn != g.MftLcn) throw Bad("the MFT's first run does not start where the boot sector says");

            var volume = ReadRecord(vol, g, mftData, VolumeRecord);
            CheckClean(volume);
            return mftData;
        }

        internal static Geometry ParseBoot(byte[] b, long volumeLength)
        {
            if (U16(b, 510) != 0xAA55) throw Bad("the boot sector has no 55 AA signature");
            int bps = U16(b, 0x0B);
            if (bps < 256 || bps > 4096 || (bps & (bps - 1)) != 0) throw Bad($"{bps} bytes per sector is out of range");
            int raw = b[0x0D];
            long spc;
            if (raw == 0) throw Bad("0 sectors per cluster");
            if (raw <= 0x80) spc = raw;
            else if (256 - raw <= 20) spc = 1L << (256 - raw);
            else throw Bad($"sectors-per-cluster code 0x{raw:x2} is out of range");
            if ((spc & (spc - 1)) != 0) throw Bad($"{spc} sectors per cluster is not a power of two");
            long cs = bps * spc;
            if (cs > 2 << 20) throw Bad($"{cs}-byte clusters are larger than NTFS allows (2 MiB)");
            long sectors = I64(b, 0x28);
            if (sectors <= 0 || sectors > volumeLength / bps)
                throw Bad($"the file system claims {sectors} sectors of {bps} bytes, more than the {volumeLength}-byte volume holds");
            long clusters = sectors / spc;
            long mftLcn = I64(b, 0x30), mirrLcn = I64(b, 0x38);
            if (clusters < 16 || mftLcn <= 0 || mftLcn >= clusters || mirrLcn <= 0 || mirrLcn >= clusters)
                throw Bad($"MFT at cluster {mftLcn} (mirror {mirrLcn}) of {clusters} is out of range");
            int rsRaw = unchecked((sbyte)b[0x40]);
            long rs = rsRaw > 0 ? rsRaw * cs : rsRaw < 0 && rsRaw >= -31 ? 1L << -rsRaw : 0;
            if (rs < 512 || rs > 65536 || (rs & (rs - 1)) != 0) throw Bad($"MFT record size {rs} is out of range");
            return new Geometry { BytesPerSector = bps, ClusterSize = cs, Clusters = clusters, MftLcn = mftLcn, MirrorLcn = mirrLcn, RecordSize = (int)rs };
        }

        private static List<NtfsRun> UnnamedData(byte[] rec, long number, Geometry g, out long dataSize, out long initialized)
        {
            var attrs = NtfsRecord.Attributes(rec, number);
            var data = attrs.Find(a => a.Type == NtfsRecord.AttrData && a.NameLength == 0);
            if (data.Type != NtfsRecord.AttrData || !data.NonResident) throw Bad($"MFT record {number} has no non-resident data attribute");
            var runs = NtfsRecord.Runs(rec, data, g.Clusters, g.ClusterSize, out dataSize, out initialized);
            if (runs.Count == 0) throw Bad($"MFT record {number}'s data has no runs");
            return runs;
        }

        /// <summary>Reads MFT record <paramref name="number"/> through the $MFT run list (a record may straddle runs).</summary>
        private static byte[] ReadRecord(VolumeReader vol, Geometry g, List<NtfsRun> mft, long number)
        {
            var rec = new byte[g.RecordSize];
            long offset = number * g.RecordSize;
            int done = 0;
            long vcnStart = 0;
            foreach (var r in mft)
            {
                long runBytes = r.Length * g.ClusterSize;
                while (done < rec.Length && offset + done < vcnStart + runBytes)
                {
                    long within = offset + done - vcnStart;
                    int n = (int)Math.Min(rec.Length - done, runBytes - within);
                    var piece = vol.Read(r.Lcn * g.ClusterSize + within, n, $"MFT record {number}");
                    Array.Copy(piece, 0, rec, done, n);
                    done += n;
                }
                vcnStart += runBytes;
                if (done == rec.Length) break;
            }
            if (done != rec.Length) throw Bad($"MFT record {number} lies past the MFT's run list");
            NtfsRecord.Fixup(rec, number);
            return rec;
        }

        /// <summary>$Volume's $VOLUME_INFORMATION: refuse a volume Windows marked dirty (chkdsk pending), as ntfsclone does.</summary>
        private static void CheckClean(byte[] rec)
        {
            var info = NtfsRecord.Attributes(rec, VolumeRecord).Find(a => a.Type == NtfsRecord.AttrVolumeInformation);
            if (info.Type != NtfsRecord.AttrVolumeInformation) throw Bad("$Volume has no volume information");
            var v = NtfsRecord.ResidentValue(rec, info);
            if (v.Count < 12) throw Bad("$Volume's volume information is truncated");
            int major = v.Array![v.Offset + 8];
            ushort flags = U16(v.Array, v.Offset + 10);
            if (major != 1 && major != 3) throw Bad($"NTFS version {major}.{v.Array[v.Offset + 9]} is unknown");
            if ((flags & 0x0001) != 0) throw Bad("the volume is marked dirty (chkdsk is pending): run chkdsk first, or image it from a VSS snapshot");
        }

        /// <summary>Reads the first <paramref name="needBytes"/> bytes of the bitmap run by run, in pieces, into the map.</summary>
        private static void StreamBitmap(VolumeReader vol, Geometry g, List<NtfsRun> runs, long needBytes, AllocationBitmap map)
        {
            long pos = 0;
            var buf = new byte[(int)Math.Min(Piece, needBytes)];
            foreach (var r in runs)
            {
                long runBytes = r.Length * g.ClusterSize;
                for (long within = 0; within < runBytes && pos < needBytes;)
                {
                    int n = (int)Math.Min(Math.Min(buf.Length, runBytes - within), needBytes - pos);
                    vol.ReadInto(r.Lcn * g.ClusterSize + within, buf, n, "$Bitmap");
                    map.MarkBits(pos * 8, buf, 0, Math.Min((long)n * 8, g.Clusters - pos * 8));
                    pos += n;
                    within += n;
                }
                if (pos >= needBytes) return;
            }
            throw Bad($"$Bitmap's runs hold {pos} bytes for {g.Clusters} clusters");
        }

        private static AllocationUnsupportedException Bad(string why) => new(why);
    }
}
