using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using NekkBackup.Core.Imaging;
using NekkBackup.Core.Imaging.Allocation;
using NekkBackup.Core.Tests.TestKit;
using Xunit;

namespace NekkBackup.Core.Tests.Imaging.Allocation
{
    /// <summary>
    /// The ext4 file table against debugfs (every file's inode number and physical blocks) on a real file system, and
    /// its fingerprints against what really happened to each file between two reads (written through a mount).
    /// </summary>
    public class Ext4FileTableTests
    {
        [RootFact("mkfs.ext4", "debugfs", "mount")]
        public void FilesAndTheirBlocksMatchDebugfs()
        {
            using var dir = new TempDir("ft-ext4");
            var img = TestVolumes.Ext(dir, "ext4", "-b 4096", 96, 40, seed: 7);
            var table = Read(img);
            Assert.Equal("ext4", table.FileSystem);
            var files = Listed(img, dir);
            Assert.True(files.Count > 20, $"{files.Count} files");
            foreach (var (path, ino) in files)
            {
                Assert.True(table.Files.TryGetValue(ino, out var rec), $"{path} (inode {ino}) is not in the table");
                var mine = rec.Runs.SelectMany(r => Enumerable.Range(0, (int)(r.Length / 4096)).Select(k => r.Offset / 4096 + k)).ToList();
                Assert.Equal(Blocks(img, ino), mine);
            }
            // Directories, the journal and the root are other objects, never files.
            Assert.False(table.Files.ContainsKey(2));
            Assert.False(table.Files.ContainsKey(8));
            Assert.Contains(table.Others, r => r.Length >= 1 << 20); // the journal
            Assert.True(table.NewestChange > 0);
        }

        [RootFact("mkfs.ext4", "mount")]
        public void AFingerprintChangesWithEveryWriteAndNotWithAReadOrNothing()
        {
            using var dir = new TempDir("ft-ext4-fp");
            var img = TestVolumes.Ext(dir, "ext4", "-b 4096", 64, 8, seed: 8);
            var mnt = dir.Sub("mnt");
            TestVolumes.Mount(img, "ext", mnt, readOnly: false);
            var names = new[] { "append", "overwrite", "touched", "read", "left", "truncated", "renamed", "deleted" };
            try
            {
                foreach (var n in names) File.WriteAllBytes(Path.Combine(mnt, n), Enumerable.Range(0, 300_000).Select(i => (byte)((i * 7 + n.Length) & 0xFF)).ToArray());
            }
            finally { GhostTestSupport.Unmount(mnt); }
            var ino = Inodes(img, dir, names);
            var before = Read(img);
            System.Threading.Thread.Sleep(1100);
            TestVolumes.Mount(img, "ext", mnt, readOnly: false);
            try
            {
                File.AppendAllText(Path.Combine(mnt, "append"), "more");
                ProcessHelper.Check("dd", $"if=/dev/urandom of=\"{Path.Combine(mnt, "overwrite")}\" bs=4096 count=1 seek=10 conv=notrunc status=none");
                ProcessHelper.Check("touch", $"-d 2001-01-01 \"{Path.Combine(mnt, "touched")}\"");
                ProcessHelper.Check("cat", $"\"{Path.Combine(mnt, "read")}\"");
                ProcessHelper.Check("truncate", $"-s 4096 \"{Path.Combine(mnt, "truncated")}\"");
                File.Move(Path.Combine(mnt, "renamed"), Path.Combine(mnt, "renamed2"));
                File.Delete(Path.Combine(mnt, "deleted"));
            }
            finally { GhostTestSupport.Unmount(mnt); }
            var after = Read(img);
            foreach (var n in new[] { "append", "overwrite", "touched", "truncated" })
                Assert.False(after.Files[ino[n]].Fingerprint.Equals(before.Files[ino[n]].Fingerprint), n);
            foreach (var n in new[] { "read", "left" })
                Assert.True(after.Files[ino[n]].Fingerprint.Equals(before.Files[ino[n]].Fingerprint), n);
            // A rename changes the inode's ctime: its data is read again (conservative, not required).
            Assert.False(after.Files[ino["renamed"]].Fingerprint.Equals(before.Files[ino["renamed"]].Fingerprint));
            Assert.False(after.Files.ContainsKey(ino["deleted"]));
            Assert.True(after.NewestChange > before.NewestChange);
        }

        /// <summary>
        /// Random damage to the inode table and the extent tree blocks of a real ext4 (no metadata checksums, so nothing
        /// stops a flip before the parser): a table or null with a reason, never an exception, a hang or a huge allocation;
        /// and whatever is damaged, no file's range ever lies outside the volume.
        /// </summary>
        [RootFact("mkfs.ext4", "mount", "debugfs", "dumpe2fs")]
        public void DamagedInodesAndExtentTreesGiveAReasonNeverAnExceptionAHangOrAHugeAllocation()
        {
            using var dir = new TempDir("ft-ext4-fuzz");
            var path = TestVolumes.Ext(dir, "ext4", "-b 1024 -O ^metadata_csum -I 256", 24, 8, seed: 9);
            var pristine = File.ReadAllBytes(path);
            var info = ProcessHelper.Check("dumpe2fs", $"\"{path}\"");
            long table = long.Parse(Regex.Match(info, @"Group 0:[\s\S]*?Inode table at (\d+)").Groups[1].Value) * 1024;
            // A deep tree: a fragmented file whose extents do not fit in the inode (debugfs shows its index block).
            var mnt = dir.Sub("frag");
            TestVolumes.Mount(path, "ext", mnt, readOnly: false);
            try
            {
                using var f = new FileStream(Path.Combine(mnt, "frag.bin"), FileMode.Create);
                var block = new byte[1024];
                for (int i = 0; i < 40; i++) { f.Position = i * 4096L; f.Write(block, 0, block.Length); }
            }
            finally { GhostTestSupport.Unmount(mnt); }
            pristine = File.ReadAllBytes(path);
            var stat = ProcessHelper.Check("debugfs", $"-R \"stat /frag.bin\" \"{path}\"");
            var m = Regex.Match(stat, @"\(ETB0\):\s*(\d+)");
            Assert.True(m.Success, stat);
            long etb = long.Parse(m.Groups[1].Value) * 1024;
            Assert.NotNull(FileTables.Read(new MemorySource(pristine), out _));
            var rnd = new Random(20261206);
            int tables = 0, refused = 0;
            foreach (var (lo, hi) in new[] { (table, table + 64 * 256L), (etb, etb + 1024) })
            {
                for (int i = 0; i < 200; i++)
                {
                    var b = (byte[])pristine.Clone();
                    for (int k = 1 + rnd.Next(8); k > 0; k--) b[lo + (long)(rnd.NextDouble() * (hi - lo))] = (byte)rnd.Next(256);
                    long allocated = GC.GetAllocatedBytesForCurrentThread();
                    var clock = System.Diagnostics.Stopwatch.StartNew();
                    var t = FileTables.Read(new MemorySource(b), out var reason);
                    Assert.True(clock.ElapsedMilliseconds < 5000, $"took {clock.ElapsedMilliseconds} ms");
                    Assert.True(GC.GetAllocatedBytesForCurrentThread() - allocated < 64L << 20, "allocated more than 64 MiB for a 24 MiB volume");
                    if (t == null) { refused++; Assert.False(string.IsNullOrWhiteSpace(reason)); continue; }
                    tables++;
                    Assert.All(t.Files.Values.SelectMany(f => f.Runs).Concat(t.Others), r => Assert.True(r.Offset >= 0 && r.End <= b.Length, r.ToString()));
                }
            }
            Assert.True(tables > 20 && refused > 20, $"{tables} tables, {refused} refused");
        }

        internal static FileTable Read(string img)
        {
            using var src = BlockSources.Open(img);
            var t = FileTables.Read(src, out var reason);
            Assert.True(t != null, reason);
            return t!;
        }

        /// <summary>path → inode number of every regular file, from `find -printf %i` on a read-only mount.</summary>
        private static List<(string, long)> Listed(string img, TempDir dir)
        {
            var mnt = dir.Sub("list");
            TestVolumes.Mount(img, "ext", mnt, readOnly: true);
            try
            {
                var text = ProcessHelper.Check("find", $"\"{mnt}\" -type f -size +0 -printf \"%i %P\\n\"");
                return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Take(60)
                    .Select(l => (l.Substring(l.IndexOf(' ') + 1), long.Parse(l.Substring(0, l.IndexOf(' '))))).ToList();
            }
            finally { GhostTestSupport.Unmount(mnt); }
        }

        private static Dictionary<string, long> Inodes(string img, TempDir dir, string[] names)
        {
            var all = Listed(img, dir);
            return names.ToDictionary(n => n, n => all.First(f => f.Item1 == n).Item2);
        }

        /// <summary>debugfs' `blocks &lt;ino&gt;`: the file's data blocks in file order.</summary>
        private static List<long> Blocks(string img, long ino)
        {
            var text = ProcessHelper.Check("debugfs", $"-R \"blocks <{ino}>\" \"{img}\"");
            return Regex.Matches(text, @"\d+").Select(m => long.Parse(m.Value)).ToList();
        }
    }
}
