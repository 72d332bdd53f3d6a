using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using NekkBackup.Core.Tests.TestKit;

namespace NekkBackup.Core.Tests.Imaging.Allocation
{
    /// <summary>
    /// Real file-system images for the allocation tests (root): the file is first filled with pseudo-random
    /// bytes so free space is never zero, then formatted (no discard), mounted under a unique folder,
    /// filled with files of many sizes — a third of them deleted again — and unmounted cleanly.
    /// </summary>
    internal static class TestVolumes
    {
        public static void Garbage(string path, long size, int seed)
        {
            var rnd = new Random(seed);
            var buf = new byte[1 << 20];
            using var fs = new FileStream(path, FileMode.Create, FileAccess.Write);
            for (long done = 0; done < size; done += buf.Length)
            {
                rnd.NextBytes(buf);
                fs.Write(buf, 0, (int)Math.Min(buf.Length, size - done));
            }
        }

        /// <summary>mkfs.<paramref name="mkfs"/> (ext2/ext3/ext4) with <paramref name="args"/>; returns the image path.</summary>
        public static string Ext(TempDir dir, string mkfs, string args, int sizeMb, int dataMb, int seed, string? fsSize = null)
        {
            var img = Path.Combine(dir.Path, $"{mkfs}-{seed}.img");
            Garbage(img, (long)sizeMb << 20, seed);
            ProcessHelper.Check("mkfs." + mkfs, $"-q -F -E nodiscard {args} \"{img}\" {fsSize ?? ""}");
            Fill(img, "ext", dir, dataMb, seed);
            return img;
        }

        public static string Ntfs(TempDir dir, string args, int sizeMb, int dataMb, int seed)
        {
            var img = Path.Combine(dir.Path, $"ntfs-{seed}.img");
            Garbage(img, (long)sizeMb << 20, seed);
            ProcessHelper.Check("mkntfs", $"-q -F -f {args} \"{img}\"");
            Fill(img, "ntfs", dir, dataMb, seed);
            return img;
        }

        private static void Fill(string img, string kind, TempDir dir, int dataMb, int seed)
        {
            var mnt = dir.Sub("fill-" + seed);
            Mount(img, kind, mnt, readOnly: false);
            try { Populate(mnt, (long)dataMb << 20, seed); }
            finally { GhostTestSupport.Unmount(mnt); }
        }

        public static void Mount(string img, string kind, string mnt, bool readOnly)
        {
            if (kind == "ntfs") ProcessHelper.Check("ntfs-3g", $"{(readOnly ? "-o ro " : "")}\"{img}\" \"{mnt}\"");
            else ProcessHelper.Check("mount", $"-o loop{(readOnly ? ",ro" : "")} \"{img}\" \"{mnt}\"");
        }

        /// <summary>Writes files of 0.5 KiB – 3 MiB (random, text-like and zero-heavy) in nested folders, deleting every third.</summary>
        public static void Populate(string root, long bytes, int seed)
        {
            var rnd = new Random(seed);
            var written = new List<string>();
            long total = 0;
            for (int i = 0; total < bytes; i++)
            {
                var folder = Path.Combine(root, $"take{i % 7}", $"part{i % 3}");
                Directory.CreateDirectory(folder);
                int size = rnd.Next(4) switch
                {
                    0 => rnd.Next(512, 16 << 10),
                    1 => rnd.Next(16 << 10, 256 << 10),
                    2 => rnd.Next(256 << 10, 1 << 20),
                    _ => rnd.Next(1 << 20, 3 << 20),
                };
                var data = new byte[size];
                rnd.NextBytes(data);
                if (i % 5 == 1) for (int k = 0; k < data.Length; k++) data[k] = (byte)('a' + data[k] % 26);
                if (i % 5 == 2) Array.Clear(data, data.Length / 4, data.Length / 2);
                var f = Path.Combine(folder, $"clip{i:D4}.wav");
                File.WriteAllBytes(f, data);
                written.Add(f);
                total += size;
            }
            for (int i = 0; i < written.Count; i += 3) File.Delete(written[i]);
        }

        /// <summary>relative path → SHA-256 of every file on the image, mounted read-only.</summary>
        public static Dictionary<string, string> Digests(string img, string kind, TempDir dir)
        {
            var mnt = dir.Sub("digest-" + Guid.NewGuid().ToString("N").Substring(0, 6));
            Mount(img, kind, mnt, readOnly: true);
            try { return StudioData.Digest(mnt); }
            finally { GhostTestSupport.Unmount(mnt); }
        }

        public static bool SameDigests(Dictionary<string, string> a, Dictionary<string, string> b) =>
            a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var v) && v == kv.Value);
    }
}
