using System;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Imaging;
using NekkBackup.Core.Tests.TestKit;
using Xunit;
using static NekkBackup.Core.Tests.Imaging.GhostTestSupport;

namespace NekkBackup.Core.Tests.Imaging
{
    /// <summary>Cancellation, two captures sharing a repository at once, the plugin inventory in the manifest.</summary>
    public class GhostConcurrencyTests
    {
        private const long MiB = 1 << 20;

        private sealed class SlowSource : IBlockSource
        {
            private readonly IBlockSource _inner;
            public int Reads;   // 64 KiB units read
            public SlowSource(IBlockSource inner) => _inner = inner;
            public string Path => _inner.Path;
            public long Length => _inner.Length;
            /// <summary>Counts and delays per 64 KiB read (20 ms each): a capture reads a run of chunks at once.</summary>
            public int Read(long offset, byte[] buffer, int count)
            {
                int units = Math.Max(1, count >> 16);
                Interlocked.Add(ref Reads, units);
                Thread.Sleep(20 * units);
                return _inner.Read(offset, buffer, count);
            }
            public void Dispose() => _inner.Dispose();
        }

        [Fact]
        public void CancellationStopsPromptlyAndLeavesNoImage()
        {
            using var dir = new TempDir("ghost");
            var src = Path.Combine(dir.Path, "vol.img");
            WriteVolumeFile(src, 16 * MiB, seed: 41);
            var repo = Path.Combine(dir.Path, "repo");
            using var cts = new CancellationTokenSource();
            using var slow = new SlowSource(BlockSources.Open(src));
            var task = GhostRepository.CaptureAsync(slow, src, new GhostCaptureOptions { Repository = repo, ChunkSize = 64 << 10 }, null, cts.Token);
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (Volatile.Read(ref slow.Reads) < 10 && DateTime.UtcNow < deadline) Thread.Sleep(10);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            cts.Cancel();
            Assert.ThrowsAny<OperationCanceledException>(() => task.GetAwaiter().GetResult());
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"stopped after {clock.Elapsed}");
            Assert.True(slow.Reads < 256, "the capture ran to the end");
            Assert.Empty(GhostRepository.List(repo));
            Assert.Empty(Directory.GetFiles(Path.Combine(repo, "images")));   // no partial chunk list left
            Assert.Empty(Directory.GetFiles(Path.Combine(repo, "locks")));    // lock released
            Assert.Equal("Passed", Test(repo, full: true).Status);
        }

        [Fact]
        public async Task TwoHostsCaptureIntoOneRepositoryAtOnceAndDeduplicate()
        {
            using var dir = new TempDir("ghost");
            var a = Path.Combine(dir.Path, "host-a.img");
            var b = Path.Combine(dir.Path, "host-b.img");
            WriteVolumeFile(a, 12 * MiB, seed: 42);
            File.Copy(a, b);
            Scribble(b, 6 * MiB, 100_000, seed: 43); // the same OS image, one difference
            var repo = Path.Combine(dir.Path, "repo");
            var opts = (string s) => new GhostCaptureOptions { Source = s, Repository = repo, ChunkSize = (int)MiB, VolumeDigest = true };
            var results = await Task.WhenAll(
                GhostRepository.CaptureAsync(opts(a), null, CancellationToken.None),
                GhostRepository.CaptureAsync(opts(b), null, CancellationToken.None));
            Assert.Equal(Sha256(a), results[0].VolumeSha256);
            Assert.Equal(Sha256(b), results[1].VolumeSha256);
            // 12 distinct chunks of A + 1 changed chunk of B, however the two raced.
            Assert.Equal(13, Directory.EnumerateFiles(Path.Combine(repo, "chunks"), "*", SearchOption.AllDirectories).Count(f => !Path.GetFileName(f).StartsWith(".")));
            Assert.InRange(results[0].NewBytes + results[1].NewBytes, 13 * MiB, 13 * (MiB + 12));
            // Exactly: a chunk both captures stored counts as new for the one whose conditional create won.
            var chunkBytes = Directory.EnumerateFiles(Path.Combine(repo, "chunks"), "*", SearchOption.AllDirectories)
                .Where(f => !Path.GetFileName(f).StartsWith(".")).Sum(f => new FileInfo(f).Length);
            Assert.Equal(chunkBytes, results[0].NewBytes + results[1].NewBytes);
            Assert.Equal("Passed", Test(repo, full: true).Status);
            var rb = Path.Combine(dir.Path, "b.out");
            Restore(repo, results[1].ImageId, rb);
            Assert.Equal(Sha256(b), Sha256(rb));
        }

        [Fact]
        public void ManifestRecordsThePluginInventory()
        {
            using var dir = new TempDir("ghost");
            var plugins = dir.Sub("VST3");
            Directory.CreateDirectory(Path.Combine(plugins, "Valhalla Room.vst3", "Contents"));
            File.WriteAllText(Path.Combine(plugins, "Valhalla Room.vst3", "Contents", "moduleinfo.json"),
                "{\"Name\":\"ValhallaRoom\",\"Version\":\"2.0.1\",\"Factory Info\":{\"Vendor\":\"Valhalla DSP\"}}");
            var src = Path.Combine(dir.Path, "vol.img");
            WriteVolumeFile(src, 1 * MiB, seed: 44);
            var repo = Path.Combine(dir.Path, "repo");
            var img = GhostRepository.CaptureAsync(new GhostCaptureOptions { Source = src, Repository = repo, PluginPaths = new[] { plugins } }, null, CancellationToken.None)
                .GetAwaiter().GetResult();
            Assert.Equal(1, img.PluginCount);
            var inv = GhostRepository.GetPluginInventory(repo, img.ImageId)!;
            var p = Assert.Single(inv.Plugins);
            Assert.Equal(("VST3", "ValhallaRoom", "2.0.1", "Valhalla DSP"), (p.Format, p.Name, p.Version, p.Vendor));
            Assert.Equal(new[] { plugins }, inv.Folders);
        }
    
        [Theory]
        [InlineData("swept")]
        [InlineData("taken over")]
        public void ACaptureWhoseLockWasLostCommitsNothing(string how)
        {
            using var dir = new TempDir("ghost");
            var src = Path.Combine(dir.Path, "vol.img");
            WriteVolumeFile(src, 4 * MiB, seed: 45);
            var repo = Path.Combine(dir.Path, "repo");
            Capture(src, repo); // creates the repository
            var images = Directory.GetFiles(Path.Combine(repo, "images")).OrderBy(f => f).ToArray();
            using var slow = new SlowSource(BlockSources.Open(src));
            var task = GhostRepository.CaptureAsync(slow, src, new GhostCaptureOptions { Repository = repo }, null, CancellationToken.None);
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (Volatile.Read(ref slow.Reads) < 3 && DateTime.UtcNow < deadline) Thread.Sleep(10);
            var lockFile = Assert.Single(Directory.GetFiles(Path.Combine(repo, "locks")));
            if (how == "swept")
                File.Delete(lockFile); // what a Remove on another host does to a lock it judges stale (this machine "slept" 30 minutes)
            else
            {
                // Another process judged it stale and put its own lock object under the same name.
                var o = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(lockFile))!.AsObject();
                o["id"] = Guid.NewGuid().ToString("N");
                o["host"] = "other-host";
                o["pid"] = 4242;
                File.WriteAllText(lockFile, o.ToJsonString());
            }
            var ex = Assert.Throws<NekkBackup.Core.Errors.NekkBackupException>(() => task.GetAwaiter().GetResult());
            Assert.Equal("NekkBackup.RepositoryLockLost", ex.ErrorId);
            Assert.True(ex.IsTransient);
            Assert.Single(GhostRepository.List(repo)); // only the first image
            Assert.Equal(images, Directory.GetFiles(Path.Combine(repo, "images")).OrderBy(f => f).ToArray()); // nor its chunk list
        }
    }
}
