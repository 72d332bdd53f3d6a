using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using System.Threading;
using NekkBackup.Core.Imaging;
using NekkBackup.Core.Imaging.Allocation;
using NekkBackup.Core.Tests.TestKit;
using Xunit;

namespace NekkBackup.Core.Tests.Imaging.Allocation
{
    /// <summary>
    /// The NTFS file table against ntfs-3g's own ntfsinfo (record numbers, run lists, attributes, times) and blkid (the
    /// serial number), on real images written through ntfs-3g; then what a second look sees after writes, a read,
    /// a touch, a delete; then damage.
    /// </summary>
    public class NtfsFileTableTests
    {
        public static TheoryData<string, string> Configs => new()
        {
            { "4k-clusters", "" },
            { "512-byte-clusters", "-c 512" },
            { "4k-sectors-4k-records", "-s 4096" },
            { "64k-clusters", "-c 65536" },
        };

        [RootTheory("mkntfs", "ntfs-3g", "ntfsinfo", "ntfscluster", "blkid")]
        [MemberData(nameof(Configs))]
        public void FilesRunsAndOthersMatchNtfsinfo(string name, string options)
        {
            using var dir = new TempDir("ntfs-table-" + name);
            var img = Blank(dir, options, 96, seed: name.Length);
            var mnt = dir.Sub("m");
            var rnd = new Random(name.Length);
            long before = DateTime.UtcNow.ToFileTimeUtc();
            var written = new List<string>();
            string Put(string path, int size)
            {
                var full = Path.Combine(mnt, path);
                Directory.CreateDirectory(Path.GetDirectoryName(full)!);
                var data = new byte[size];
                rnd.NextBytes(data);
                File.WriteAllBytes(full, data);
                if (!path.Contains(':')) written.Add(path);
                return full;
            }

            Mount(img, mnt, "streams_interface=windows");
            try
            {
                Put("dir/big.bin", 3_000_000);
                Put("dir/sub/mid.bin", 150_000);
                Put("tiny.txt", 100);       // resident: its data lives in the record, no clusters
                Put("empty.bin", 0);
                Put("withads.bin", 300_000); // a file in Files, its named stream in Others
                Put("withads.bin:stream", 200_000);
                Put("tinyads.txt", 10);     // resident data, non-resident named stream: only Others
                Put("tinyads.txt:big", 200_000);
                for (int i = 0; i < 200; i++) Put($"many/f{i:D3}", i % 2 == 0 ? 100 : 5000); // the MFT and a directory index grow
                // Fill the volume, free every other 256 KiB file, then write a file that only fits in the holes: fragmented.
                var holes = new List<string>();
                for (int i = 0; ; i++)
                {
                    try { holes.Add(Put($"fill/h{i:D4}", 256 << 10)); }
                    catch (IOException) { File.Delete(Path.Combine(mnt, $"fill/h{i:D4}")); written.Remove($"fill/h{i:D4}"); break; }
                }
                for (int i = 0; i < holes.Count; i += 2) { File.Delete(holes[i]); written.Remove($"fill/h{i:D4}"); }
                Assert.True(holes.Count > 100, $"{holes.Count} fill files");
                Put("frag.bin", 3 << 20);
                SetNtfsAttributes(Put("system.bin", 200_000), 0x24); // SYSTEM | ARCHIVE, as pagefile.sys
                using (var s = new FileStream(Path.Combine(mnt, "sparse.bin"), FileMode.Create))
                {
                    s.SetLength(4 << 20);
                    s.Position = 4 << 20;
                    s.Write(new byte[65536].Select(_ => (byte)7).ToArray());
                }
                written.Add("sparse.bin");
            }
            finally { Unmount(img, mnt); }
            long after = DateTime.UtcNow.ToFileTimeUtc();

            var t = Table(img);
            var (clusterSize, _) = AllocationReference.Ntfscluster(img);
            Assert.Equal("ntfs", t.FileSystem);
            Assert.Equal(10_000_000, t.ChangeUnitsPerSecond);
            Assert.Equal(ProcessHelper.Check("blkid", $"-p -o value -s UUID \"{img}\"").Trim().ToLowerInvariant(), t.VolumeId);
            Assert.InRange(t.NewestChange, before - 50_000_000, after + 50_000_000);

            var others = UnchangedChunks.Normalize(t.Others.ToList());
            var expected = new Dictionary<long, AllocationRun[]>();
            var multiRun = 0;
            foreach (var path in written)
            {
                var info = Ntfsinfo(img, "-F \"/" + path + "\"");
                var data = info.Attrs.Single(a => a.Type == "$DATA" && a.NameLength == 0);
                bool system = info.Attrs.First(a => a.Type == "$STANDARD_INFORMATION").Text.Contains("SYSTEM");
                bool sparse = info.Attrs.First(a => a.Type == "$STANDARD_INFORMATION").Text.Contains("SPARSE_FILE");
                Assert.Equal(path == "system.bin", system);
                Assert.Equal(path == "sparse.bin", sparse);
                if (data.Resident) { Assert.False(t.Files.ContainsKey(info.Inode), path + " has resident data"); continue; }
                if (sparse) { Assert.Contains(data.Runs, r => r.Lcn < 0); continue; } // holes: not a file, and (NtfsRecord.Runs refuses sparse runs) not in Others either
                var runs = Bytes(data.Runs, clusterSize);
                if (system) { Assert.True(runs.All(r => Covered(others, r)), "a SYSTEM file's data is in Others"); continue; }
                expected[info.Inode] = runs;
                if (data.Runs.Count > 1) multiRun++;
            }
            Assert.Contains("tiny.txt", written);
            Assert.True(expected.Count >= 110, $"{expected.Count} non-resident files");
            Assert.True(multiRun >= 1, "no file was fragmented: the multi-run path is not exercised");
            // mkntfs makes no file of its own in Files: exactly the non-resident regular files written are there.
            Assert.Equal(expected.Keys.OrderBy(k => k), t.Files.Keys.OrderBy(k => k));
            foreach (var kv in expected)
            {
                var f = t.Files[kv.Key];
                Assert.True(kv.Value.SequenceEqual(f.Runs), $"record {kv.Key}: {string.Join(",", f.Runs)} vs ntfsinfo {string.Join(",", kv.Value)}");
                Assert.InRange(f.Changed, before - 50_000_000, t.NewestChange);
                Assert.DoesNotContain(f.Runs, r => Overlaps(others, r));
            }
            var big = Ntfsinfo(img, "-F /dir/big.bin");
            Assert.Equal(SiTime(big, "MFT Changed Time"), DateTime.FromFileTimeUtc(t.Files[big.Inode].Changed).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture));

            // Others: named streams (also of a file in Files), the MFT, the root and "many" directory indexes, $LogFile.
            var vouched = new List<NtfsinfoAttr>();
            vouched.AddRange(Ntfsinfo(img, "-F /withads.bin").Attrs.Where(a => a.Type == "$DATA" && a.NameLength > 0));
            vouched.AddRange(Ntfsinfo(img, "-F /tinyads.txt").Attrs.Where(a => a.Type == "$DATA" && a.NameLength > 0));
            vouched.AddRange(Ntfsinfo(img, "-i 0").Attrs.Where(a => !a.Resident));
            vouched.AddRange(Ntfsinfo(img, "-i 2").Attrs.Where(a => !a.Resident));
            vouched.AddRange(Ntfsinfo(img, "-F /many").Attrs.Where(a => a.Type == "$INDEX_ALLOCATION"));
            Assert.True(vouched.Count(a => !a.Resident) >= 5, string.Join(", ", vouched.Select(a => $"{a.Type} of {a.Record}")));
            foreach (var a in vouched.Where(a => !a.Resident))
                Assert.True(Bytes(a.Runs, clusterSize).All(r => Covered(others, r)), $"{a.Type} of record {a.Record} is not in Others");
        }

        [RootFact("mkntfs", "ntfs-3g", "ntfsinfo", "dd", "touch")]
        public void WritesTouchesDeletesAndNewFilesChangeFingerprintsAReadDoesNot()
        {
            using var dir = new TempDir("ntfs-table-fp");
            var img = Blank(dir, "", 32, seed: 11);
            var mnt = dir.Sub("m");
            var rnd = new Random(11);
            string[] names = { "A", "B", "C", "D", "E", "F", "H" };
            Mount(img, mnt, null);
            try
            {
                foreach (var n in names)
                {
                    var data = new byte[300_000];
                    rnd.NextBytes(data);
                    File.WriteAllBytes(Path.Combine(mnt, n), data);
                }
            }
            finally { Unmount(img, mnt); }
            var t1 = Table(img);
            var info1 = names.ToDictionary(n => n, n => Ntfsinfo(img, "-F /" + n));
            var no = names.ToDictionary(n => n, n => info1[n].Inode);
            Assert.All(names, n => Assert.True(t1.Files.ContainsKey(no[n]), n));

            Thread.Sleep(1100); // ntfsinfo prints whole seconds: let the access time visibly move
            Mount(img, mnt, null); // ntfs-3g's default relatime: a read after a write updates the access time
            try
            {
                using (var a = new FileStream(Path.Combine(mnt, "A"), FileMode.Append)) a.Write(new byte[5000]);
                ProcessHelper.Check("dd", $"if=/dev/urandom of=\"{Path.Combine(mnt, "B")}\" bs=4096 count=2 seek=10 conv=notrunc");
                ProcessHelper.Check("touch", $"-d \"2001-02-03 04:05:06\" \"{Path.Combine(mnt, "C")}\"");
                ProcessHelper.Check("touch", $"-m -d \"2100-01-01 00:00:00\" \"{Path.Combine(mnt, "H")}\"");
                Assert.Equal(300_000, File.ReadAllBytes(Path.Combine(mnt, "D")).Length);
                File.Delete(Path.Combine(mnt, "F"));
                var g = new byte[300_000];
                rnd.NextBytes(g);
                File.WriteAllBytes(Path.Combine(mnt, "G"), g);
            }
            finally { Unmount(img, mnt); }
            long after = DateTime.UtcNow.ToFileTimeUtc();
            var t2 = Table(img);
            bool Same(string n) => t1.Files[no[n]].Fingerprint.Equals(t2.Files[no[n]].Fingerprint);
            var (clusterSize, _) = AllocationReference.Ntfscluster(img);
            Assert.False(Same("H"), "touched into the future");
            Assert.InRange(t2.NewestChange, t1.NewestChange + 1, after); // H's modification time in 2100 is not the volume's "now"

            Assert.False(Same("A"), "appended");
            Assert.False(Same("B"), "overwritten in place");
            Assert.True(t1.Files[no["B"]].Runs.SequenceEqual(t2.Files[no["B"]].Runs), "dd conv=notrunc keeps B's clusters: only its times tell");
            Assert.False(Same("C"), "touched");
            Assert.True(Same("E"), "untouched");
            // What ntfs-3g really does on a read: STANDARD_INFORMATION.last_access_time moves (ntfsinfo shows it), and nothing
            // else in D's record does (ntfs-3g updates the $FILE_NAME copies in the parent's index, not in the record).
            var d2 = Ntfsinfo(img, "-F /D");
            Assert.NotEqual(SiTime(info1["D"], "Last Accessed Time"), SiTime(d2, "Last Accessed Time"));
            Assert.Equal(SiTime(info1["D"], "MFT Changed Time"), SiTime(d2, "MFT Changed Time"));
            Assert.True(Same("D"), "only read: the access time is left out of the fingerprint");
            Assert.Equal(t1.Files[no["D"]].Changed, t2.Files[no["D"]].Changed);

            var a2 = Ntfsinfo(img, "-F /A");
            Assert.True(Bytes(a2.Attrs.Single(x => x.Type == "$DATA").Runs, clusterSize).SequenceEqual(t2.Files[no["A"]].Runs));
            Assert.True(t2.Files[no["C"]].Changed > t1.Files[no["C"]].Changed, "a touch changes the MFT change time");

            long gNo = Ntfsinfo(img, "-F /G").Inode;
            Assert.True(t2.Files.ContainsKey(gNo));
            Assert.False(t1.Files.TryGetValue(gNo, out var old) && old.Fingerprint.Equals(t2.Files[gNo].Fingerprint), "a new file (perhaps in F's old record) is new");
            if (gNo != no["F"]) Assert.False(t2.Files.ContainsKey(no["F"]), "a deleted file vanishes");
        }

        /// <summary>
        /// ntfs-3g keeps the MFT contiguous, so no real image here has a record split between two runs (clusters smaller
        /// than records, an MFT fragmented at an odd cluster): $MFT's one run is rewritten by hand as two, the first
        /// 3 clusters of 512 bytes long, and the table must come out exactly as from the untouched image.
        /// </summary>
        [RootFact("mkntfs", "ntfs-3g", "ntfsinfo")]
        public void AnMftRecordSplitBetweenTwoRunsIsReadWhole()
        {
            using var dir = new TempDir("ntfs-table-split");
            var img = Blank(dir, "-c 512", 32, seed: 5);
            var mnt = dir.Sub("m");
            Mount(img, mnt, null);
            try { for (int i = 0; i < 30; i++) File.WriteAllBytes(Path.Combine(mnt, $"f{i:D2}"), Enumerable.Repeat((byte)i, 3000 + 1000 * i).ToArray()); }
            finally { Unmount(img, mnt); }
            var pristine = File.ReadAllBytes(img);
            var runs = Ntfsinfo(img, "-i 0").Attrs.Single(a => a.Type == "$DATA").Runs;
            Assert.Single(runs);
            long mft = BitConverter.ToInt64(pristine, 0x30) * 512;
            Assert.Equal(runs[0].Lcn * 512, mft);

            var split = (byte[])pristine.Clone();
            int p = AttrOf(split, mft, 0x80);
            int mp = p + BitConverter.ToUInt16(split, (int)mft + p + 0x20), end = p + BitConverter.ToInt32(split, (int)mft + p + 4);
            var pairs = Pairs((runs[0].Lcn, 3), (runs[0].Lcn + 3, runs[0].Length - 3));
            Assert.True(mp + pairs.Length <= end && end < 510, "the two runs fit in $MFT's $DATA, in the record's first sector");
            Array.Clear(split, (int)mft + mp, end - mp);
            pairs.CopyTo(split, mft + mp);

            var a = FileTables.Read(new MemorySource(pristine), out var why);
            var b = FileTables.Read(new MemorySource(split), out var whyNot);
            Assert.True(a != null, why);
            Assert.True(b != null, whyNot);
            Assert.Equal(30, a!.Files.Count);
            Assert.Equal(a.Files.Keys.OrderBy(k => k), b!.Files.Keys.OrderBy(k => k));
            Assert.All(a.Files, kv => Assert.True(kv.Value.Fingerprint.Equals(b.Files[kv.Key].Fingerprint) && kv.Value.Runs.SequenceEqual(b.Files[kv.Key].Runs)));
            Assert.Equal(UnchangedChunks.Normalize(a.Others.ToList()), UnchangedChunks.Normalize(b.Others.ToList()));
            Assert.Equal(a.NewestChange, b.NewestChange);
        }

        [RootFact("mkntfs", "ntfs-3g", "ntfsinfo")]
        public void DamagedMftRecordsGiveAReasonNeverAnExceptionAHangOrAHugeAllocation()
        {
            using var dir = new TempDir("ntfs-table-fuzz");
            var img = Blank(dir, "", 16, seed: 4);
            var mnt = dir.Sub("m");
            var rnd = new Random(20261206);
            Mount(img, mnt, null);
            try
            {
                for (int i = 0; i < 60; i++) File.WriteAllBytes(Path.Combine(mnt, $"f{i:D2}"), new byte[rnd.Next(2000, 60000)].Select(_ => (byte)rnd.Next(256)).ToArray());
                for (int i = 0; i < 60; i += 3) File.Delete(Path.Combine(mnt, $"f{i:D2}"));
            }
            finally { Unmount(img, mnt); }
            var pristine = File.ReadAllBytes(img);
            var clean = FileTables.Read(new MemorySource(pristine), out var why);
            Assert.True(clean != null, why);
            Assert.Equal(40, clean!.Files.Count);
            long cs = BitConverter.ToUInt16(pristine, 0x0B) * (long)pristine[0x0D];
            var mftRuns = Ntfsinfo(img, "-i 0").Attrs.Single(a => a.Type == "$DATA").Runs;
            long mft = mftRuns[0].Lcn * cs, mftEnd = mft + mftRuns[0].Length * cs;
            long first = Ntfsinfo(img, "-F /f01").Inode;
            long user = mft + first * 1024;
            Assert.True(mftRuns.Count == 1 || mftRuns[0].Length * cs >= (first + 1) * 1024, "f01's record lies in the MFT's first run");
            Assert.True(AttrOf(pristine, user, 0x80) + 0x0E < 510);

            string? Reason(Action<byte[]> damage, out FileTable? table)
            {
                var b = (byte[])pristine.Clone();
                damage(b);
                table = FileTables.Read(new MemorySource(b), out var reason);
                return table == null ? reason : null;
            }
            Assert.Contains("is torn", Reason(b => b[user + 510] ^= 0xFF, out _));
            Assert.Contains("no FILE signature", Reason(b => b[user] = (byte)'X', out _));
            Assert.Contains("marked dirty", Reason(b => b[mft + 3 * 1024 + ValueOf(b, mft + 3 * 1024, 0x70, 11) + 10] |= 1, out _));
            Assert.Null(Reason(b => b[mft + 20 * 1024 + 510] ^= 0xFF, out var t)); // record 20: formatted, never used
            Assert.Equal(clean.Files.Count, t!.Files.Count);
            Assert.Null(Reason(b => Array.Clear(b, (int)user, 1024), out t)); // a zeroed record is a never-used one: the file is left out
            Assert.Equal(clean.Files.Count - 1, t!.Files.Count);
            Assert.Null(Reason(b => b[user + ValueOf(b, user, 0x10, 0x24) + 0x20] |= 0x04, out t)); // SYSTEM set by hand
            Assert.False(t!.Files.ContainsKey(first));
            Assert.Contains(clean.Files[first].Runs[0], t.Others);
            Assert.Null(Reason(b => b[user + AttrOf(b, user, 0x80) + 0x0D] |= 0x80, out t)); // $DATA flagged sparse by hand
            Assert.False(t!.Files.ContainsKey(first));
            Assert.DoesNotContain(clean.Files[first].Runs[0], t.Others);

            int tables = 0, refused = 0;
            foreach (var (lo, hi) in new[] { (mft, mft + 8 * 1024), (mft, mftEnd), (user, user + 4 * 1024) })
            {
                for (int i = 0; i < 150; i++)
                {
                    var b = (byte[])pristine.Clone();
                    int flips = 1 + rnd.Next(8);
                    for (int k = 0; k < flips; k++) b[lo + (long)(rnd.NextDouble() * (hi - lo))] = (byte)rnd.Next(256);
                    long allocated = GC.GetAllocatedBytesForCurrentThread();
                    var clock = Stopwatch.StartNew();
                    var table = FileTables.Read(new MemorySource(b), out var reason);
                    Assert.True(clock.ElapsedMilliseconds < 5000, $"read took {clock.ElapsedMilliseconds} ms");
                    Assert.True(GC.GetAllocatedBytesForCurrentThread() - allocated < 32L << 20, "read allocated more than 32 MiB for a 16 MiB volume");
                    if (table == null) { refused++; Assert.False(string.IsNullOrWhiteSpace(reason)); continue; }
                    tables++;
                    Assert.All(table.Files.Values.SelectMany(f => f.Runs).Concat(table.Others), r => Assert.True(r.Offset >= 0 && r.Length > 0 && r.End <= b.Length));
                }
            }
            Assert.True(tables > 50 && refused > 50, $"{tables} tables, {refused} refused");
        }

        // ---- helpers -------------------------------------------------------------------------------------------

        private static FileTable Table(string img)
        {
            using var src = BlockSources.Open(img);
            var t = FileTables.Read(src, out var reason);
            Assert.True(t != null, reason);
            return t!;
        }

        private static string Blank(TempDir dir, string options, int sizeMb, int seed)
        {
            var img = Path.Combine(dir.Path, $"ntfs-{seed}.img");
            TestVolumes.Garbage(img, (long)sizeMb << 20, seed);
            ProcessHelper.Check("mkntfs", $"-q -F -f {options} \"{img}\"");
            return img;
        }

        private static void Mount(string img, string mnt, string? options) =>
            ProcessHelper.Check("ntfs-3g", $"{(options != null ? "-o " + options : "")} \"{img}\" \"{mnt}\"");

        /// <summary>Unmounts, then waits for the ntfs-3g daemon of <paramref name="img"/> to exit: umount returns before it has closed the volume.</summary>
        private static void Unmount(string img, string mnt)
        {
            GhostTestSupport.Unmount(mnt);
            for (int i = 0; i < 100 && Daemons(img); i++) Thread.Sleep(100);
            Assert.False(Daemons(img), "ntfs-3g did not exit after umount");
        }

        private static bool Daemons(string img) => Directory.EnumerateDirectories("/proc").Any(p =>
        {
            try { var c = File.ReadAllText(Path.Combine(p, "cmdline")); return c.Contains("ntfs-3g") && c.Contains(img); }
            catch (IOException) { return false; }
            catch (UnauthorizedAccessException) { return false; }
        });

        [DllImport("libc", SetLastError = true)]
        private static extern int setxattr(string path, string name, byte[] value, UIntPtr size, int flags);

        /// <summary>ntfs-3g's system.ntfs_attrib extended attribute: the file's FILE_ATTR_* flags.</summary>
        private static void SetNtfsAttributes(string path, uint attributes)
        {
            var v = BitConverter.GetBytes(attributes);
            Assert.True(setxattr(path, "system.ntfs_attrib", v, (UIntPtr)v.Length, 0) == 0, "setxattr failed: " + Marshal.GetLastWin32Error());
        }

        internal sealed record NtfsinfoAttr(long Record, string Type, int NameLength, bool Resident, List<(long Vcn, long Lcn, long Length)> Runs, string Text);

        /// <summary>`ntfsinfo -v`: the record number and each attribute's header fields and run list.</summary>
        private static (long Inode, List<NtfsinfoAttr> Attrs) Ntfsinfo(string img, string which)
        {
            var text = ProcessHelper.Check("ntfsinfo", $"{which} -v \"{img}\"");
            long inode = long.Parse(Regex.Match(text, @"Dumping Inode (\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
            var attrs = new List<NtfsinfoAttr>();
            foreach (var section in text.Split("Dumping attribute ").Skip(1))
            {
                var type = section.Substring(0, section.IndexOf(' '));
                int nameLength = int.Parse(Regex.Match(section, @"Name length:\s+(\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
                bool resident = Regex.Match(section, @"Resident:\s+(\w+)").Groups[1].Value == "Yes";
                var runs = new List<(long, long, long)>();
                foreach (Match m in Regex.Matches(section, @"^\t\t\t0x([0-9a-f]+)\t\t(0x[0-9a-f]+|<[A-Z]+>)\t\t0x([0-9a-f]+)", RegexOptions.Multiline))
                {
                    long lcn = m.Groups[2].Value.StartsWith("0x") ? long.Parse(m.Groups[2].Value.Substring(2), NumberStyles.HexNumber) : -1;
                    runs.Add((long.Parse(m.Groups[1].Value, NumberStyles.HexNumber), lcn, long.Parse(m.Groups[3].Value, NumberStyles.HexNumber)));
                }
                attrs.Add(new NtfsinfoAttr(inode, type, nameLength, resident, runs, section));
            }
            return (inode, attrs);
        }

        /// <summary>A $STANDARD_INFORMATION time as ntfsinfo prints it (ctime format, UTC), as "yyyy-MM-dd HH:mm:ss".</summary>
        private static string SiTime((long Inode, List<NtfsinfoAttr> Attrs) info, string field)
        {
            var si = info.Attrs.First(a => a.Type == "$STANDARD_INFORMATION").Text;
            var raw = Regex.Replace(Regex.Match(si, Regex.Escape(field) + @":\s+(.+?) UTC").Groups[1].Value, @"\s+", " ");
            return DateTime.ParseExact(raw, "ddd MMM d HH:mm:ss yyyy", CultureInfo.InvariantCulture).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
        }

        private static AllocationRun[] Bytes(List<(long Vcn, long Lcn, long Length)> runs, long clusterSize)
        {
            var list = new List<AllocationRun>();
            foreach (var (_, lcn, length) in runs)
            {
                Assert.True(lcn >= 0, "a hole");
                var r = new AllocationRun(lcn * clusterSize, length * clusterSize);
                if (list.Count > 0 && list[^1].End == r.Offset) list[^1] = new AllocationRun(list[^1].Offset, list[^1].Length + r.Length);
                else list.Add(r);
            }
            return list.ToArray();
        }

        /// <summary>NTFS mapping pairs for (lcn, length) runs: a header byte (offset bytes &lt;&lt; 4 | length bytes), the length, the signed LCN delta; 0 ends.</summary>
        private static byte[] Pairs(params (long Lcn, long Length)[] runs)
        {
            static byte[] Signed(long v)
            {
                var b = BitConverter.GetBytes(v);
                int n = 8;
                while (n > 1 && ((b[n - 1] == 0 && (b[n - 2] & 0x80) == 0) || (b[n - 1] == 0xFF && (b[n - 2] & 0x80) != 0))) n--;
                return b[..n];
            }
            var o = new List<byte>();
            long prev = 0;
            foreach (var (lcn, length) in runs)
            {
                byte[] l = Signed(length), d = Signed(lcn - prev);
                o.Add((byte)(d.Length << 4 | l.Length));
                o.AddRange(l);
                o.AddRange(d);
                prev = lcn;
            }
            o.Add(0);
            return o.ToArray();
        }

        private static bool Covered(AllocationRun[] sorted, AllocationRun r) => sorted.Any(o => o.Offset <= r.Offset && o.End >= r.End);

        private static bool Overlaps(AllocationRun[] sorted, AllocationRun r) => sorted.Any(o => o.Offset < r.End && r.Offset < o.End);

        /// <summary>Offset of the first attribute of <paramref name="type"/> in the record at <paramref name="rec"/>, walked by hand.</summary>
        private static int AttrOf(byte[] b, long rec, uint type)
        {
            int p = BitConverter.ToUInt16(b, (int)rec + 0x14);
            while (BitConverter.ToUInt32(b, (int)rec + p) != type) p += BitConverter.ToInt32(b, (int)rec + p + 4);
            return p;
        }

        /// <summary>Offset of a resident attribute's value in the record.</summary>
        private static int ValueOf(byte[] b, long rec, uint type, int need)
        {
            int p = AttrOf(b, rec, type);
            int v = p + BitConverter.ToUInt16(b, (int)rec + p + 0x14);
            Assert.True(v + need < 510, "the field lies at the end of a sector, where the update sequence is");
            return v;
        }
    }
}
