using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using NekkBackup.Core.Imaging.Allocation;
using NekkBackup.Core.Tests.TestKit;

namespace NekkBackup.Core.Tests.Imaging.Allocation
{
    /// <summary>
    /// Independent references for allocation maps: e2fsprogs' dumpe2fs (free ranges per group), partclone's
    /// domain map (`partclone.X -D`, the used ranges partclone would copy) and ntfscluster's counts.
    /// </summary>
    internal static class AllocationReference
    {
        /// <summary>dumpe2fs's view: cluster size and, per cluster, used (true) or free.</summary>
        public sealed record ExtMap(int BlockSize, int ClusterSize, long Blocks, long SuperblockFreeBlocks, bool[] Used)
        {
            public long UsedClusters => Used.LongCount(u => u);
            public long FileSystemBytes => Blocks * BlockSize;

            /// <summary>The used clusters as merged byte ranges inside the file system.</summary>
            public List<AllocationRun> UsedRuns()
            {
                var runs = new List<AllocationRun>();
                for (long c = 0; c < Used.Length; c++)
                {
                    if (!Used[c]) continue;
                    long a = c * ClusterSize, b = Math.Min(a + ClusterSize, FileSystemBytes);
                    if (runs.Count > 0 && runs[^1].End == a) runs[^1] = new AllocationRun(runs[^1].Offset, b - runs[^1].Offset);
                    else runs.Add(new AllocationRun(a, b - a));
                }
                return runs;
            }
        }

        /// <summary>
        /// Copies <paramref name="image"/> to <paramref name="copy"/> with every byte of [0, fileSystemEnd) outside
        /// <paramref name="used"/> zeroed (bytes past the file system kept): what a used-block image must restore to.
        /// </summary>
        public static void ZeroedCopy(string image, string copy, List<AllocationRun> used, long fileSystemEnd)
        {
            File.Copy(image, copy);
            using var fs = new FileStream(copy, FileMode.Open, FileAccess.ReadWrite);
            var zeros = new byte[1 << 20];
            long pos = 0;
            foreach (var r in used.Append(new AllocationRun(fileSystemEnd, 0)))
            {
                for (fs.Position = pos; fs.Position < r.Offset;) fs.Write(zeros, 0, (int)Math.Min(zeros.Length, r.Offset - fs.Position));
                pos = r.End;
            }
        }

        public static ExtMap Dumpe2fs(string image)
        {
            var r = ProcessHelper.Run("dumpe2fs", $"\"{image}\"");
            if (r.ExitCode != 0) throw new InvalidOperationException("dumpe2fs failed: " + r.StdErr);
            var lines = r.StdOut.Split('\n');
            long Header(string name) => long.Parse(lines.First(l => l.StartsWith(name + ":", StringComparison.Ordinal)).Substring(name.Length + 1).Trim(), CultureInfo.InvariantCulture);
            int blockSize = (int)Header("Block size");
            int clusterSize = lines.Any(l => l.StartsWith("Cluster size:", StringComparison.Ordinal)) ? (int)Header("Cluster size") : blockSize;
            long blocks = Header("Block count");
            int ratio = clusterSize / blockSize;
            var used = Enumerable.Repeat(true, (int)((blocks + ratio - 1) / ratio)).ToArray();
            // Group lines are indented: "  Free blocks: 4385-8192, 9000" (cluster start blocks for bigalloc).
            foreach (var l in lines.Where(l => l.StartsWith("  Free blocks: ", StringComparison.Ordinal)))
            {
                foreach (var part in l.Substring("  Free blocks: ".Length).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    var ab = part.Split('-');
                    long a = long.Parse(ab[0], CultureInfo.InvariantCulture), b = ab.Length > 1 ? long.Parse(ab[1], CultureInfo.InvariantCulture) : a;
                    for (long c = a / ratio; c <= b / ratio; c++) used[c] = false;
                }
            }
            return new ExtMap(blockSize, clusterSize, blocks, Header("Free blocks"), used);
        }

        /// <summary>partclone's used byte ranges (`-D`: a ddrescue domain log; '+' = used), and the end of the range it maps.</summary>
        public static (List<AllocationRun> Used, long End) Partclone(string tool, string image, TempDir dir)
        {
            var dom = Path.Combine(dir.Path, "domain-" + Guid.NewGuid().ToString("N").Substring(0, 6));
            var log = dom + ".log";
            ProcessHelper.Check(tool, $"-D -s \"{image}\" -o \"{dom}\" -L \"{log}\"");
            var used = new List<AllocationRun>();
            long end = 0;
            var row = new Regex(@"^0x([0-9A-Fa-f]+)\s+0x([0-9A-Fa-f]+)\s+([+?*/\-])\s*$");
            foreach (var l in File.ReadAllLines(dom))
            {
                var m = row.Match(l);
                if (!m.Success) continue;
                long off = long.Parse(m.Groups[1].Value, NumberStyles.HexNumber), len = long.Parse(m.Groups[2].Value, NumberStyles.HexNumber);
                end = Math.Max(end, off + len);
                if (m.Groups[3].Value != "+") continue;
                if (used.Count > 0 && used[^1].End == off) used[^1] = new AllocationRun(used[^1].Offset, used[^1].Length + len);
                else used.Add(new AllocationRun(off, len));
            }
            return (used, end);
        }

        /// <summary>ntfscluster --info: (bytes per cluster, clusters of free space).</summary>
        public static (long ClusterSize, long FreeClusters) Ntfscluster(string image)
        {
            var outp = ProcessHelper.Check("ntfscluster", $"-f -i \"{image}\"");
            long Field(string name) => long.Parse(Regex.Match(outp, Regex.Escape(name) + @"\s*:\s*(\d+)").Groups[1].Value, CultureInfo.InvariantCulture);
            return (Field("bytes per cluster"), Field("clusters of free space"));
        }

        /// <summary>The map's used ranges inside [0, end), merged.</summary>
        public static List<AllocationRun> Runs(IAllocationMap map, long end) => map.UsedRuns(0, end).ToList();

        public static string Describe(List<AllocationRun> a, List<AllocationRun> b)
        {
            int i = 0;
            while (i < a.Count && i < b.Count && a[i].Offset == b[i].Offset && a[i].Length == b[i].Length) i++;
            return $"{a.Count} vs {b.Count} ranges; first difference at #{i}: {(i < a.Count ? a[i].ToString() : "-")} vs {(i < b.Count ? b[i].ToString() : "-")}";
        }
    }
}
