using System;
using System.IO;
using System.Linq;
using System.Threading;
using NekkBackup.Core.Imaging;
using NekkBackup.Core.Tests.TestKit;
using Xunit;

namespace NekkBackup.Core.Tests.Imaging
{
    /// <summary>
    /// Uncached reads (Imaging/DirectIo.cs): on Linux a disk-image file is read O_DIRECT where the file system allows it, and
    /// whatever path a read takes — uncached, cached because unaligned, cached because the file system refuses — it
    /// returns the file's bytes, checked against File.ReadAllBytes.
    /// </summary>
    public class DirectIoTests
    {
        private const int KiB = 1024;

        private static byte[] WriteFile(string path, int length, int seed)
        {
            var bytes = new byte[length];
            new Random(seed).NextBytes(bytes);
            File.WriteAllBytes(path, bytes);
            return bytes;
        }

        /// <summary>Reads through every path: aligned runs into aligned pinned buffers (with and without a start offset), unaligned offsets, the short tail.</summary>
        private static void ReadsMatch(FileBlockSource source, byte[] expected)
        {
            var runs = new RunBuffers(2 << 20, 4, aligned: source.ReadsUncached);
            foreach (var (at, count) in new[] { (0L, 2 << 20), (1L << 20, 256 * KiB), (4096L, 8192), (1000L, 5000), (expected.Length - 10_000L, 10_000), (expected.Length - 8192L, 16_384) })
            {
                var (buf, start) = runs.Rent(count);
                int got = source.Read(at, buf, start, count);
                int want = (int)Math.Min(count, expected.Length - at);
                Assert.Equal(want, got);
                Assert.True(buf.AsSpan(start, got).SequenceEqual(expected.AsSpan((int)at, got)), $"{count} bytes at {at}");
                runs.Return(buf);
            }
            var plain = new byte[300 * KiB];
            Assert.Equal(plain.Length, source.Read(12_345, plain, plain.Length));
            Assert.True(plain.AsSpan().SequenceEqual(expected.AsSpan(12_345, plain.Length)));
        }

        [Fact]
        public void AFileOnADiskFileSystem_IsReadUncached_AndEveryReadReturnsItsBytes()
        {
            using var dir = new TempDir("directio");
            var path = Path.Combine(dir.Path, "vol.img");
            var bytes = WriteFile(path, (3 << 20) + 1234, seed: 81); // a tail that is not a whole block
            using var source = new FileBlockSource(path);
            if (OperatingSystem.IsLinux() && !IsTmpfs(dir.Path)) Assert.True(source.ReadsUncached, "O_DIRECT was not used on " + dir.Path);
            ReadsMatch(source, bytes);
        }

        [Fact]
        public void TurnedOff_ReadsCached()
        {
            using var dir = new TempDir("directio-off");
            var path = Path.Combine(dir.Path, "vol.img");
            var bytes = WriteFile(path, 1 << 20, seed: 82);
            Environment.SetEnvironmentVariable("NEKKBACKUP_DIRECT_IO", "0");
            FileBlockSource source;
            try { source = new FileBlockSource(path); }
            finally { Environment.SetEnvironmentVariable("NEKKBACKUP_DIRECT_IO", null); }
            using (source)
            {
                Assert.False(source.ReadsUncached);
                ReadsMatch(source, bytes);
            }
        }

        [RootFact("mkntfs", "ntfs-3g", "mount")]
        public void OnFileSystemsThatRefuseOrDoNotNeedIt_ReadsStillReturnTheBytes()
        {
            // ntfs-3g (FUSE) and tmpfs: whether open or the first read refuses O_DIRECT, the source falls back to cached reads.
            using var ntfs = new LoopFileSystem("ntfs", 64);
            var onFuse = Path.Combine(ntfs.MountPoint, "vol.img");
            var bytes = WriteFile(onFuse, (2 << 20) + 777, seed: 83);
            using (var source = new FileBlockSource(onFuse)) ReadsMatch(source, bytes);
            if (Directory.Exists("/dev/shm") && IsTmpfs("/dev/shm"))
            {
                var onTmpfs = Path.Combine("/dev/shm", "nekk-directio-" + Guid.NewGuid().ToString("N") + ".img");
                try
                {
                    var b2 = WriteFile(onTmpfs, (2 << 20) + 99, seed: 84);
                    using var source = new FileBlockSource(onTmpfs);
                    ReadsMatch(source, b2);
                }
                finally { File.Delete(onTmpfs); }
            }
        }

        [Fact]
        public void ACaptureReadingUncached_StoresTheSameImageAsOneReadingCached()
        {
            using var dir = new TempDir("directio-capture");
            var path = Path.Combine(dir.Path, "vol.img");
            WriteFile(path, (5 << 20) + 4096 * 3, seed: 85);
            string Capture(string repo, bool direct)
            {
                Environment.SetEnvironmentVariable("NEKKBACKUP_DIRECT_IO", direct ? null : "0");
                try
                {
                    return GhostRepository.CaptureAsync(new GhostCaptureOptions { Source = path, Repository = Path.Combine(dir.Path, repo), VolumeDigest = true, SkipPluginInventory = true },
                        null, CancellationToken.None).GetAwaiter().GetResult().VolumeSha256;
                }
                finally { Environment.SetEnvironmentVariable("NEKKBACKUP_DIRECT_IO", null); }
            }
            var expected = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(path))).ToLowerInvariant();
            Assert.Equal(expected, Capture("uncached", direct: true));
            Assert.Equal(expected, Capture("cached", direct: false));
            byte[] Index(string repo) => File.ReadAllBytes(Directory.GetFiles(Path.Combine(dir.Path, repo, "images"), "*.idx").Single());
            Assert.Equal(Index("cached"), Index("uncached")); // the same chunk list, chunk for chunk
        }

        private static bool IsTmpfs(string path)
        {
            try
            {
                var full = Path.GetFullPath(path);
                return File.ReadAllLines("/proc/self/mounts").Select(l => l.Split(' ')).Where(f => f.Length > 2 && full.StartsWith(f[1], StringComparison.Ordinal))
                    .OrderByDescending(f => f[1].Length).FirstOrDefault()?[2] == "tmpfs";
            }
            catch (IOException) { return false; }
        }
    }
}
