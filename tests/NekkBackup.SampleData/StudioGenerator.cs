using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Tasks;
using static NekkBackup.SampleData.StudioContent;

namespace NekkBackup.SampleData
{
    public sealed record SizeClassTotal(int Files, long Bytes);

    public sealed record GenerateSummary(int Seed, int SizeMb, int Files, long Bytes, int Empty, int Dirs, int MaxPathChars,
        SizeClassTotal Large, SizeClassTotal Medium, SizeClassTotal Small);

    public sealed record MutateSummary(int Seed, double Percent, int FilesBefore, int FilesTouched, int FilesAfter,
        int Overwrite, int Append, int Rewrite, int Delete, int Add, long BytesWritten, long BytesDeleted);

    /// <summary>
    /// Generates and mutates deterministic studio trees: the same size and seed give a byte-identical tree,
    /// modification times included, on every machine. Everything derives from (seed, relative path).
    /// </summary>
    public static class StudioGenerator
    {
        /// <summary>Generation epoch (2024-01-01T00:00:00Z); files and folders get times in the year after it.</summary>
        public static readonly DateTime BaseTime = new(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        /// <summary>Mutations always land after every generated time.</summary>
        public static readonly DateTime MutateTime = BaseTime.AddDays(400);
        private const int YearSeconds = 365 * 86400;

        /// <summary>Writes a studio tree of about <paramref name="sizeMb"/> MiB into <paramref name="dir"/> (absent or empty).</summary>
        public static GenerateSummary Generate(string dir, int sizeMb, int seed = 1)
        {
            if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any()) throw new IOException($"{dir} is not empty");
            Directory.CreateDirectory(dir);
            var plan = new StudioPlan(seed, sizeMb);
            var files = plan.Files;
            var written = new long[files.Count];
            // Each file depends only on (seed, path), so they can be written in any order: biggest first, in parallel.
            var order = Enumerable.Range(0, files.Count).OrderByDescending(i => files[i].Size).ThenBy(i => i).ToArray();
            Parallel.ForEach(order, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount },
                i => written[i] = WriteFile(dir, files[i], seed));
            var dirs = SetDirectoryTimes(dir, seed);

            SizeClassTotal Sum(string cls) => new(
                Enumerable.Range(0, files.Count).Count(i => StudioPlan.SizeClass(written[i]) == cls),
                Enumerable.Range(0, files.Count).Where(i => StudioPlan.SizeClass(written[i]) == cls).Sum(i => written[i]));
            return new GenerateSummary(seed, sizeMb, files.Count, written.Sum(), files.Count(f => f.Kind == FileKind.Empty), dirs,
                files.Max(f => f.RelativePath.Length), Sum("large"), Sum("medium"), Sum("small"));
        }

        private static string Full(string root, string rel) => Path.Combine(root, rel.Replace('/', Path.DirectorySeparatorChar));

        private static void SetTime(string path, DateTime t, bool directory = false)
        {
            if (directory) { Directory.SetLastWriteTimeUtc(path, t); Directory.SetLastAccessTimeUtc(path, t); }
            else { File.SetLastWriteTimeUtc(path, t); File.SetLastAccessTimeUtc(path, t); }
        }

        private static long WriteFile(string root, PlannedFile f, int seed)
        {
            var rng = new DetRandom("file", seed, f.RelativePath);
            var path = Full(root, f.RelativePath);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            long size = f.Size;
            using (var s = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                switch (f.Kind)
                {
                    case FileKind.Empty:
                        break;
                    case FileKind.Wav:
                        size = WriteWav(s, rng, f.Size);
                        break;
                    case FileKind.Sparse:
                        // A scratch volume: mostly holes, a header block and a few 4 KiB extents.
                        s.SetLength(f.Size);
                        for (var k = 0; k < 8; k++)
                        {
                            s.Position = k == 0 ? 0 : rng.Next(f.Size / 4096) * 4096;
                            s.Write(rng.Bytes(4096));
                        }
                        break;
                    default:
                        s.Write(Small(rng, f.Kind, checked((int)f.Size)));
                        break;
                }
            }
            SetTime(path, BaseTime.AddSeconds(rng.Next(YearSeconds)));
            return size;
        }

        /// <summary>Every folder (deepest first) gets a time derived from its path; returns the number of folders below the root.</summary>
        private static int SetDirectoryTimes(string root, int seed)
        {
            var dirs = Directory.EnumerateDirectories(root, "*", Options).Select(d => Path.GetRelativePath(root, d).Replace('\\', '/'))
                .OrderByDescending(d => d.Count(c => c == '/')).ThenBy(d => d, StringComparer.Ordinal).ToList();
            foreach (var rel in dirs.Append("."))
                SetTime(rel == "." ? root : Full(root, rel), BaseTime.AddSeconds(new DetRandom("dir", seed, rel).Next(YearSeconds)), directory: true);
            return dirs.Count;
        }

        private static readonly EnumerationOptions Options = new() { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = false };

        /// <summary>Regular files under <paramref name="root"/> ('/'-separated relative paths, ordinal order; links skipped).</summary>
        public static List<string> ListFiles(string root) =>
            Directory.EnumerateFiles(root, "*", Options).Where(f => new FileInfo(f).LinkTarget == null)
                .Select(f => Path.GetRelativePath(root, f).Replace('\\', '/')).OrderBy(r => r, StringComparer.Ordinal).ToList();

        /// <summary>
        /// Changes about <paramref name="percent"/> % of the files (stratified over large, medium and small files, so about
        /// that share of the bytes is touched too): 40 % punch-ins (a region overwritten in place), 25 % appends (WAV headers
        /// fixed up), 10 % rewrites (±10 % size), 10 % deletes, 15 % new sibling files. Use a new seed for each successive call.
        /// </summary>
        public static MutateSummary Mutate(string dir, double percent, int seed)
        {
            if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"no such directory: {dir}");
            var files = ListFiles(dir);
            var sizes = files.ToDictionary(r => r, r => new FileInfo(Full(dir, r)).Length, StringComparer.Ordinal);
            var rng = new DetRandom("mutate", seed, percent.ToString("R", CultureInfo.InvariantCulture), files.Count);
            var chosen = new List<string>();
            foreach (var cls in new[] { "large", "medium", "small" })
            {
                var list = files.Where(r => StudioPlan.SizeClass(sizes[r]) == cls).ToList();
                var n = (int)Math.Round(list.Count * percent / 100.0, MidpointRounding.ToEven);
                if (percent > 0 && list.Count > 0 && n == 0 && cls == "large") n = 1;
                n = Math.Min(n, list.Count);
                for (var i = 0; i < n; i++) // partial Fisher-Yates: a uniform sample of n
                {
                    var j = i + rng.Next(list.Count - i);
                    (list[i], list[j]) = (list[j], list[i]);
                    chosen.Add(list[i]);
                }
            }
            int overwrite = 0, append = 0, rewrite = 0, delete = 0, add = 0;
            long bytesWritten = 0, bytesDeleted = 0;
            var mt = MutateTime.AddDays(seed);
            var touchedDirs = new SortedSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < chosen.Count; i++)
            {
                var rel = chosen[i];
                var path = Full(dir, rel);
                var size = sizes[rel];
                var isWav = rel.EndsWith(".wav", StringComparison.OrdinalIgnoreCase);
                var frng = new DetRandom("mutfile", seed, rel);
                var x = size == 0 ? 500 : frng.Next(1000); // empty files are appended to
                long n;
                if (x < 400)
                {
                    n = Math.Max(1, Math.Min(size, Math.Max(4 * KiB, size * frng.Range(10, 100) / 1000)));
                    var off = frng.Next(Math.Max(1, size - n + 1));
                    if (isWav && size > WavHeaderBytes + n) off = Math.Max(off, WavHeaderBytes);
                    using var s = new FileStream(path, FileMode.Open, FileAccess.Write);
                    s.Position = off;
                    s.Write(Payload(frng, rel, checked((int)n), off - WavHeaderBytes));
                    overwrite++;
                }
                else if (x < 650)
                {
                    n = Math.Max(1 * KiB, size * frng.Range(10, 100) / 1000);
                    using (var s = new FileStream(path, FileMode.Append, FileAccess.Write))
                        s.Write(Payload(frng, rel, checked((int)n), size - WavHeaderBytes));
                    if (isWav) FixWavHeader(path);
                    append++;
                }
                else if (x < 750)
                {
                    n = size * frng.Range(900, 1100) / 1000;
                    using var s = new FileStream(path, FileMode.Truncate, FileAccess.Write);
                    if (isWav) n = WriteWav(s, frng, n);
                    else s.Write(Payload(frng, rel, checked((int)n)));
                    rewrite++;
                }
                else if (x < 850)
                {
                    File.Delete(path);
                    touchedDirs.Add(Path.GetDirectoryName(path)!);
                    delete++;
                    bytesDeleted += size;
                    continue;
                }
                else
                {
                    var ext = Path.GetExtension(path);
                    var newPath = path.Substring(0, path.Length - ext.Length) + $"_new-s{seed}-{i}{ext}";
                    n = size > 0 ? size : 1 * KiB;
                    using (var s = new FileStream(newPath, FileMode.CreateNew, FileAccess.Write))
                    {
                        if (isWav) n = WriteWav(s, frng, n);
                        else s.Write(Payload(frng, rel, checked((int)n)));
                    }
                    SetTime(newPath, mt.AddSeconds(i));
                    touchedDirs.Add(Path.GetDirectoryName(newPath)!);
                    add++;
                    bytesWritten += n;
                    continue;
                }
                bytesWritten += n;
                SetTime(path, mt.AddSeconds(i));
            }
            // Adds and deletes touch the parent folder: keep folder times deterministic too.
            foreach (var d in touchedDirs) if (Directory.Exists(d)) SetTime(d, mt, directory: true);
            return new MutateSummary(seed, percent, files.Count, chosen.Count, ListFiles(dir).Count,
                overwrite, append, rewrite, delete, add, bytesWritten, bytesDeleted);
        }

        /// <summary>Sets the RIFF and data chunk lengths of a canonical 44-byte-header WAV to its current size.</summary>
        private static void FixWavHeader(string path)
        {
            using var s = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
            if (s.Length < WavHeaderBytes) return;
            var h = new byte[WavHeaderBytes];
            s.ReadExactly(h);
            if (Encoding.ASCII.GetString(h, 0, 4) != "RIFF" || Encoding.ASCII.GetString(h, 36, 4) != "data") return;
            var b = new byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)(s.Length - 8));
            s.Position = 4;
            s.Write(b);
            BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)(s.Length - WavHeaderBytes));
            s.Position = 40;
            s.Write(b);
        }

        /// <summary>SHA-256 over every file's relative path, size, modification time and content, in ordinal path order.</summary>
        public static (string Sha256, int Files) Digest(string root)
        {
            using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var files = ListFiles(root);
            var buffer = new byte[1 << 20];
            foreach (var rel in files)
            {
                var info = new FileInfo(Full(root, rel));
                var mtime = new DateTimeOffset(info.LastWriteTimeUtc).ToUnixTimeSeconds();
                h.AppendData(Encoding.UTF8.GetBytes($"{rel}\0{info.Length}\0{mtime}\0"));
                using var s = info.OpenRead();
                int read;
                while ((read = s.Read(buffer, 0, buffer.Length)) > 0) h.AppendData(buffer, 0, read);
            }
            return (Convert.ToHexString(h.GetHashAndReset()).ToLowerInvariant(), files.Count);
        }
    }
}
