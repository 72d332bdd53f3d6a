using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using NekkBackup.Core.Tests.TestKit;
using NekkBackup.SampleData;
using Xunit;
using ZstdSharp;

namespace NekkBackup.Core.Tests.SampleData
{
    /// <summary>
    /// The sample-data generator every test, the demo and the benchmarks stand on: deterministic, and the tree
    /// has what a studio's disk has. Checked from the files themselves (sizes, headers, bytes, times), not from
    /// the generator's own summary.
    /// </summary>
    public class StudioGeneratorTests
    {
        private static Dictionary<string, long> Times(string root) =>
            Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories).Append(root)
                .ToDictionary(p => Path.GetRelativePath(root, p), p => File.GetLastWriteTimeUtc(p).Ticks, StringComparer.Ordinal);

        [Fact]
        public void SameSizeAndSeedGiveAByteIdenticalTreeWithTimesAndMutationsToo()
        {
            using var tmp = new TempDir("gen-det");
            var a = StudioData.Generate(Path.Combine(tmp.Path, "a"), 12, 5);
            var b = StudioData.Generate(Path.Combine(tmp.Path, "b"), 12, 5);
            var c = StudioData.Generate(Path.Combine(tmp.Path, "c"), 12, 6);
            Assert.Equal(StudioData.Digest(a), StudioData.Digest(b));
            Assert.Equal(Times(a), Times(b));
            Assert.NotEqual(StudioData.Digest(a), StudioData.Digest(c));

            StudioData.Mutate(a, 20, 2);
            StudioData.Mutate(b, 20, 2);
            Assert.Equal(StudioData.Digest(a), StudioData.Digest(b));
            Assert.Equal(Times(a), Times(b));
            Assert.Throws<IOException>(() => StudioGenerator.Generate(a, 1, 1)); // never into a non-empty folder
        }

        /// <summary>
        /// Pinned output: the generator has no floating point and no platform-dependent random source, so this tree
        /// (contents, paths, sizes and times) is the same on Windows, Linux and macOS and on every .NET version.
        /// A deliberate change to the generator changes every test's data: update the value then, knowingly.
        /// </summary>
        [Fact]
        public void TheTreeIsTheSameOnEveryMachine()
        {
            using var tmp = new TempDir("gen-pin");
            var root = StudioData.Generate(Path.Combine(tmp.Path, "Studio"), 4, 1);
            StudioData.Mutate(root, 20, 3);
            Assert.Equal(("3c58d6105717c9e3ab67c00afd33ce9925c0fa317bd28a752f5a9e57a27e270f", 31), StudioGenerator.Digest(root));
        }

        [Fact]
        public void TheTreeHasTakesSessionsPresetsAndTheAwkwardFilesInTheStudioByteMix()
        {
            using var tmp = new TempDir("gen-kinds");
            const int sizeMb = 64;
            var root = StudioData.Generate(Path.Combine(tmp.Path, "Studio"), sizeMb, 3);
            var files = Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Select(f => new FileInfo(f)).ToList();
            var rel = files.ToDictionary(f => Path.GetRelativePath(root, f.FullName).Replace('\\', '/'), f => f);

            long total = files.Sum(f => f.Length);
            Assert.InRange(total, sizeMb * 1024L * 1024 * 99 / 100, sizeMb * 1024L * 1024);
            double Share(long lo, long hi) => (double)files.Where(f => f.Length >= lo && f.Length < hi).Sum(f => f.Length) / total;
            Assert.InRange(Share(2L << 20, long.MaxValue), 0.60, 0.80);     // takes
            Assert.InRange(Share(200L << 10, 2L << 20), 0.12, 0.30);        // fades, bounces, stems, renders, IRs, plugins
            Assert.InRange(Share(0, 200L << 10), 0.05, 0.15);               // sessions, presets, settings, logs

            Assert.Contains(rel.Keys, r => r.Length > 260);
            Assert.Contains(rel.Keys, r => r.Contains("🎸"));
            Assert.Contains(rel.Keys, r => r.Contains("メモ"));
            Assert.Contains(rel.Keys, r => r.Contains(' ') && r.Contains('&') && r.Contains('\''));
            Assert.True(files.Count(f => f.Length == 0) >= 5);
            Assert.True(rel.Keys.Select(r => r.Count(ch => ch == '/')).Max() >= 7, "nested folders");
            foreach (var ext in new[] { ".wav", ".mp3", ".vst3", ".fxp", ".xml", ".ini", ".log", ".wfm", ".txt" })
                Assert.Contains(rel.Keys, r => r.EndsWith(ext, StringComparison.Ordinal) || ext == ".wfm" && r.EndsWith(".pkf", StringComparison.Ordinal));
            Assert.Contains(rel.Keys, r => r.Contains("/Session File Backups/") && (r.EndsWith(".ptx") || r.EndsWith(".als") || r.EndsWith(".cpr")));
            Assert.Contains(rel.Keys, r => r.Contains("/Stems/") && r.EndsWith(" stem.wav"));

            // Every take is a canonical PCM WAV whose header matches its size.
            var wavs = files.Where(f => f.Extension == ".wav").ToList();
            Assert.NotEmpty(wavs);
            foreach (var w in wavs) AssertWav(w.FullName);

            // The scratch volume is mostly zeros (and, where the file system supports it, mostly holes).
            var sparse = rel["Backups/Scratch Disk/scratch-volume.img"];
            var bytes = File.ReadAllBytes(sparse.FullName);
            Assert.True(bytes.Count(x => x != 0) <= 8 * 4096);
            if (OperatingSystemInfo.IsLinux)
            {
                var blocks = long.Parse(ProcessHelper.Check("stat", $"-c %b \"{sparse.FullName}\"").Trim());
                Assert.True(blocks * 512 < sparse.Length / 4, $"{blocks} blocks allocated for {sparse.Length} bytes");
            }

            // Audio is PCM-shaped noise: zstd gains only a little on a take; session text compresses well.
            var take = wavs.OrderByDescending(w => w.Length).First();
            var takeBytes = File.ReadAllBytes(take.FullName).AsSpan(0, (int)Math.Min(take.Length, 8 << 20)).ToArray();
            var takeRatio = (double)new Compressor(3).Wrap(takeBytes).Length / takeBytes.Length;
            Assert.InRange(takeRatio, 0.80, 0.995);
            var text = Encoding.UTF8.GetBytes(string.Concat(files.Where(f => f.Extension is ".log" or ".xml" or ".ini").Select(f => File.ReadAllText(f.FullName))));
            Assert.InRange((double)new Compressor(3).Wrap(text).Length / text.Length, 0.05, 0.5);

            var times = files.Select(f => f.LastWriteTimeUtc).ToList();
            Assert.All(times, t => Assert.InRange(t, StudioGenerator.BaseTime, StudioGenerator.BaseTime.AddDays(365)));
        }

        private static void AssertWav(string path)
        {
            var h = new byte[44];
            using (var s = File.OpenRead(path)) s.ReadExactly(h);
            var length = new FileInfo(path).Length;
            Assert.Equal("RIFF", Encoding.ASCII.GetString(h, 0, 4));
            Assert.Equal(length - 8, BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(4)));
            Assert.Equal("WAVEfmt ", Encoding.ASCII.GetString(h, 8, 8));
            Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(h.AsSpan(20))); // PCM
            int channels = BinaryPrimitives.ReadUInt16LittleEndian(h.AsSpan(22)), bits = BinaryPrimitives.ReadUInt16LittleEndian(h.AsSpan(34));
            var rate = BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(24));
            Assert.Contains(bits, new[] { 16, 24 });
            Assert.Contains(rate, new uint[] { 44100, 48000, 96000 });
            Assert.Equal(channels * bits / 8, BinaryPrimitives.ReadUInt16LittleEndian(h.AsSpan(32)));
            Assert.Equal(rate * (uint)(channels * bits / 8), BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(28)));
            Assert.Equal("data", Encoding.ASCII.GetString(h, 36, 4));
            Assert.Equal(length - 44, BinaryPrimitives.ReadUInt32LittleEndian(h.AsSpan(40)));
        }

        [Fact]
        public void MutateChangesAboutThePercentWithEveryKindOfEditAndKeepsTakesValid()
        {
            using var tmp = new TempDir("gen-mut");
            var root = StudioData.Generate(Path.Combine(tmp.Path, "Studio"), 40, 9);
            var before = StudioData.Digest(root);
            var mutated = StudioGenerator.MutateTime;

            var summary = StudioGenerator.Mutate(root, 20, 4);
            var after = StudioData.Digest(root);
            var changed = before.Keys.Count(k => after.TryGetValue(k, out var h) && h != before[k]);
            var deleted = before.Keys.Count(k => !after.ContainsKey(k));
            var added = after.Keys.Count(k => !before.ContainsKey(k));

            Assert.InRange(changed + deleted + added, before.Count * 10 / 100, before.Count * 30 / 100);
            Assert.Equal(summary.Delete, deleted);
            Assert.Equal(summary.Add, added);
            Assert.Equal(summary.Overwrite + summary.Append + summary.Rewrite, changed);
            Assert.True(summary.Overwrite > 0 && summary.Append > 0 && summary.Rewrite > 0 && summary.Delete > 0 && summary.Add > 0, summary.ToString());
            Assert.Contains(after.Keys, k => !before.ContainsKey(k) && k.Contains("_new-s4-"));
            foreach (var k in after.Keys.Where(k => !before.ContainsKey(k) || after[k] != before[k]))
                Assert.True(File.GetLastWriteTimeUtc(Path.Combine(root, k)) >= mutated, k);
            foreach (var w in Directory.EnumerateFiles(root, "*.wav", SearchOption.AllDirectories)) AssertWav(w);
        }
    }
}
