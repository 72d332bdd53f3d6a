using System;
using System.Collections.Concurrent;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Imaging;
using NekkBackup.Core.Primitives;
using NekkBackup.Core.Storage;
using NekkBackup.Core.Tests.TestKit;
using Xunit;
using static NekkBackup.Core.Tests.Imaging.GhostTestSupport;

namespace NekkBackup.Core.Tests.Imaging
{
    /// <summary>
    /// The image engine on the storage seam: racing repository creators, racing captures that count each new chunk
    /// once, the chunk set from one listing, the lock format older versions read, a prune beside a live capture, and
    /// ids that keep the Gregorian calendar under any culture.
    /// </summary>
    public class GhostStorageTests
    {
        private const long MiB = 1 << 20;

        private static string[] ChunkFiles(string repo) =>
            Directory.EnumerateFiles(Path.Combine(repo, "chunks"), "*", SearchOption.AllDirectories).Where(f => !Path.GetFileName(f).StartsWith(".")).ToArray();

        private static long ChunkBytes(string repo) => ChunkFiles(repo).Sum(f => new FileInfo(f).Length);

        private static string ChunkFile(string repo, string volume, long offset, int length)
        {
            var b = new byte[length];
            using (var fs = File.OpenRead(volume)) { fs.Position = offset; fs.ReadExactly(b); }
            var hex = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(b)).ToLowerInvariant();
            return Path.Combine(repo, "chunks", hex.Substring(0, 2), hex);
        }

        /// <summary>A second host: its own target on the same folder, holding puts of the keys <paramref name="gate"/> picks until its twin arrives.</summary>
        private static HookedTarget Host(string root, Func<string, Barrier?> gate, bool create = false) =>
            new(new RetryingTarget(LocalDirectoryTarget.Open(root, new LocalTargetOptions { CreateRoot = create })))
            {
                BeforePut = key => gate(key)?.SignalAndWait(TimeSpan.FromSeconds(30)),
            };

        private static Task<GhostImage> CaptureThrough(IBackupTarget target, string volume, GhostCaptureOptions options) =>
            Task.Factory.StartNew(() =>
            {
                using var source = BlockSources.Open(volume);
                return ImageCapture.Run(source, volume, options, new SpyObserver(), CancellationToken.None, target);
            }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        [Fact]
        public void TwoRacingCreators_BothUseTheOneConfigThatWasStored()
        {
            for (int round = 0; round < 8; round++)
            {
                using var dir = new TempDir("ghost-create");
                var root = dir.Sub("repo");
                using var barrier = new Barrier(2);
                var a = Host(root, k => k == "config.json" ? barrier : null);
                var b = Host(root, k => k == "config.json" ? barrier : null);
                var ra = Task.Run(() => ImageRepository.OpenOrCreate(a, 64 << 10, GhostCompression.Zstd, 1));
                var rb = Task.Run(() => ImageRepository.OpenOrCreate(b, 128 << 10, GhostCompression.Zstd, 3));
                Task.WaitAll(ra, rb);
                // Both reached the conditional create at the same moment; exactly one config was stored and both use it.
                Assert.Equal(1, a.Calls("put", "config.json"));
                Assert.Equal(1, b.Calls("put", "config.json"));
                var stored = JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "config.json"))).RootElement;
                foreach (var r in new[] { ra.Result, rb.Result })
                {
                    Assert.Equal(stored.GetProperty("repositoryId").GetString(), r.Config.RepositoryId);
                    Assert.Equal(stored.GetProperty("chunkSize").GetInt32(), r.Config.ChunkSize);
                    Assert.Equal(stored.GetProperty("zstdLevel").GetInt32(), r.Config.ZstdLevel);
                }
            }
        }

        [Fact]
        public async Task TwoHostsCreatingARepositoryWhileCapturing_WriteImagesOfTheOneChunkSize()
        {
            using var dir = new TempDir("ghost-create2");
            var vol = Path.Combine(dir.Path, "vol.img");
            WriteVolumeFile(vol, 3 * MiB, seed: 60);
            var root = Path.Combine(dir.Path, "repo");
            using var barrier = new Barrier(2);
            var a = Host(root, k => k == "config.json" ? barrier : null, create: true);
            var b = Host(root, k => k == "config.json" ? barrier : null, create: true);
            var images = await Task.WhenAll(
                CaptureThrough(a, vol, new GhostCaptureOptions { Repository = root, ChunkSize = 64 << 10, SkipPluginInventory = true }),
                CaptureThrough(b, vol, new GhostCaptureOptions { Repository = root, ChunkSize = 512 << 10, SkipPluginInventory = true }));
            var spy = new SpyObserver();
            Assert.Equal(images.Select(i => i.ImageId).OrderBy(x => x), GhostRepository.List(root, spy).Select(i => i.ImageId).OrderBy(x => x));
            Assert.Empty(spy.Failures); // with two configs, one image's chunk size would disagree with the repository's
            Assert.Equal(images[0].Chunks, images[1].Chunks);
            Assert.Equal("Passed", Test(root, full: true).Status);
        }

        [Fact]
        public async Task TwoCapturesStoringTheSameChunksAtOnce_CountEachNewChunkExactlyOnce()
        {
            using var dir = new TempDir("ghost-newbytes");
            var vol = Path.Combine(dir.Path, "vol.img");
            WriteVolumeFile(vol, 6 * MiB, seed: 61, zeroFrom: 2 * MiB, zeroLength: MiB);
            var root = Path.Combine(dir.Path, "repo");
            ImageRepository.OpenOrCreate(root, 256 << 10, GhostCompression.Zstd, 1);
            // Both captures list the empty repository before either stores a chunk, so both store every chunk; each
            // chunk's two puts meet at a barrier and race into the conditional create.
            var gates = new ConcurrentDictionary<string, Barrier>();
            Barrier? Gate(string key) => key.StartsWith("chunks/", StringComparison.Ordinal) ? gates.GetOrAdd(key, _ => new Barrier(2)) : null;
            using var listed = new Barrier(2);
            var a = Host(root, Gate);
            var b = Host(root, Gate);
            foreach (var h in new[] { a, b }) h.BeforeList = prefix => { if (prefix == "chunks/") listed.SignalAndWait(TimeSpan.FromSeconds(30)); };
            var options = new GhostCaptureOptions { Repository = root, SkipPluginInventory = true, Parallelism = 1 };
            var images = await Task.WhenAll(CaptureThrough(a, vol, options), CaptureThrough(b, vol, options));

            int chunks = ChunkFiles(root).Length;
            Assert.Equal(20, chunks); // 24 chunks, 4 of them zeros
            Assert.Equal(chunks, a.Calls("put", "chunks/"));
            Assert.Equal(chunks, b.Calls("put", "chunks/"));
            Assert.Equal(ChunkBytes(root), images[0].NewBytes + images[1].NewBytes);
            Assert.Equal(ChunkBytes(root), images[0].StoredBytes);
            Assert.Equal(ChunkBytes(root), images[1].StoredBytes);
            foreach (var img in images)
            {
                var r = Path.Combine(dir.Path, img.ImageId + ".out");
                Restore(root, img.ImageId, r);
                Assert.Equal(Sha256(vol), Sha256(r));
            }
        }

        [Fact]
        public void ASecondCapture_FindsItsChunksByListingTheChunkFolders_NotAStatOrPutEach()
        {
            using var dir = new TempDir("ghost-listing");
            var vol = Path.Combine(dir.Path, "vol.img");
            WriteVolumeFile(vol, 4 * MiB, seed: 62);
            var root = Path.Combine(dir.Path, "repo");
            var options = new GhostCaptureOptions { Repository = root, ChunkSize = (int)MiB, SkipPluginInventory = true };
            var first = Host(root, _ => null, create: true);
            var one = CaptureThrough(first, vol, options).GetAwaiter().GetResult();
            Assert.Equal(4, first.Calls("put", "chunks/"));

            var second = Host(root, _ => null);
            var two = CaptureThrough(second, vol, options).GetAwaiter().GetResult();
            // A folder repository lists its 256 chunks/<xx>/ folders side by side (ImageRepository.ListChunkFolders), once each.
            Assert.Equal(256, second.Calls("list", "chunks/"));
            Assert.Equal(0, second.Calls("stat", "chunks/"));
            Assert.Equal(0, second.Calls("read", "chunks/"));
            Assert.Equal(0, second.Calls("put", "chunks/"));
            Assert.Equal(0, two.NewBytes);
            Assert.Equal(one.StoredBytes, two.StoredBytes);
        }

        /// <summary>Blocks at its <c>holdAt</c>-th read (a capture reads a run of chunks, up to ~2 MiB, at once) until the test lets it go: a capture held in the middle.</summary>
        private sealed class HeldSource : IBlockSource
        {
            private readonly IBlockSource _inner;
            private readonly int _holdAt;
            private int _reads;
            public readonly ManualResetEventSlim Reached = new();
            public readonly ManualResetEventSlim Release = new();
            public HeldSource(IBlockSource inner, int holdAt = 2) { _inner = inner; _holdAt = holdAt; }
            public string Path => _inner.Path;
            public long Length => _inner.Length;

            public int Read(long offset, byte[] buffer, int count)
            {
                if (Interlocked.Increment(ref _reads) == _holdAt)
                {
                    Reached.Set();
                    Release.Wait(TimeSpan.FromSeconds(60));
                }
                return _inner.Read(offset, buffer, count);
            }

            public void Dispose() => _inner.Dispose();
        }

        [Fact]
        public async Task APruneBesideALiveCapture_DefersCollection_SoTheCapturesReusedChunksSurvive()
        {
            using var dir = new TempDir("ghost-prune");
            var volA = Path.Combine(dir.Path, "a.img");
            var volB = Path.Combine(dir.Path, "b.img");
            WriteVolumeFile(volA, 4 * MiB, seed: 63);
            File.Copy(volA, volB);
            Scribble(volB, 2 * MiB, (int)(2 * MiB), seed: 64); // B reuses A's chunks 0 and 1
            var root = Path.Combine(dir.Path, "repo");
            var a = Capture(volA, root, chunkSize: (int)MiB);

            using var held = new HeldSource(BlockSources.Open(volB));
            var capture = GhostRepository.CaptureAsync(held, volB, new GhostCaptureOptions { Repository = root, SkipPluginInventory = true }, null, CancellationToken.None);
            Assert.True(held.Reached.Wait(TimeSpan.FromSeconds(60)), "the capture did not start");
            // B listed A's chunks as present and will only reference chunks 0 and 1; removing A now must not free them.
            var spy = new SpyObserver();
            var removed = await GhostRepository.RemoveAsync(root, new[] { a.ImageId }, spy, CancellationToken.None);
            Assert.True(removed.GarbageCollectionDeferred);
            Assert.Equal(0, removed.ChunksDeleted);
            Assert.Contains(spy.Messages, m => m.StartsWith("Warning") && m.Contains("A capture is running"));
            for (long at = 0; at < 4 * MiB; at += MiB) Assert.True(File.Exists(ChunkFile(root, volA, at, (int)MiB)));
            held.Release.Set();
            var b = await capture;
            Assert.Equal(2 * MiB + 2 * 12, b.NewBytes); // only the two changed chunks were stored (raw: 12-byte headers)
            var restored = Path.Combine(dir.Path, "b.out");
            Restore(root, b.ImageId, restored);
            Assert.Equal(Sha256(volB), Sha256(restored));

            // The next prune with no capture running frees what only A used.
            var again = Capture(volB, root);
            var second = await GhostRepository.RemoveAsync(root, new[] { b.ImageId }, null, CancellationToken.None);
            Assert.False(second.GarbageCollectionDeferred);
            Assert.Equal(2, second.ChunksDeleted);
            Assert.Equal(4, ChunkFiles(root).Length);
            Assert.Equal("Passed", Test(root, full: true, again.ImageId).Status);
        }

        [Fact]
        public async Task LockObjects_KeepTheFieldsOlderVersionsJudgeLocksBy()
        {
            using var dir = new TempDir("ghost-lockfmt");
            var vol = Path.Combine(dir.Path, "vol.img");
            WriteVolumeFile(vol, 2 * MiB, seed: 65);
            var root = Path.Combine(dir.Path, "repo");
            Capture(vol, root, chunkSize: (int)(256 << 10));
            using var held = new HeldSource(BlockSources.Open(vol), holdAt: 1); // 2 MiB of 256 KiB chunks: one read
            var capture = GhostRepository.CaptureAsync(held, vol, new GhostCaptureOptions { Repository = root, SkipPluginInventory = true }, null, CancellationToken.None);
            Assert.True(held.Reached.Wait(TimeSpan.FromSeconds(60)));
            try
            {
                // NekkBackup before TargetLock read {host, pid, exclusive, operation, created, refreshed} and called a lock
                // stale after 30 minutes without a refresh or when its process on that host ended.
                var lockFile = Assert.Single(Directory.GetFiles(Path.Combine(root, "locks"), "*.json"));
                var o = JsonDocument.Parse(File.ReadAllText(lockFile)).RootElement;
                Assert.Equal(OperatingSystemInfo.HostName, o.GetProperty("host").GetString());
                Assert.Equal(Environment.ProcessId, o.GetProperty("pid").GetInt32());
                Assert.False(o.GetProperty("exclusive").GetBoolean());
                Assert.Equal("capture", o.GetProperty("operation").GetString());
                Assert.InRange(o.GetProperty("created").GetDateTime().ToUniversalTime(), DateTime.UtcNow.AddMinutes(-5), DateTime.UtcNow.AddMinutes(1));
                Assert.InRange(o.GetProperty("refreshed").GetDateTime().ToUniversalTime(), DateTime.UtcNow.AddMinutes(-5), DateTime.UtcNow.AddMinutes(1));
            }
            finally
            {
                held.Release.Set();
            }
            await capture;
            Assert.Empty(Directory.GetFiles(Path.Combine(root, "locks")));
        }

        [Fact]
        public void ImageIdsAndDrillRecordNames_AreGregorian_UnderAThaiBuddhistCulture()
        {
            var saved = CultureInfo.CurrentCulture;
            try
            {
                var thai = new CultureInfo("th-TH");
                thai.DateTimeFormat.Calendar = new ThaiBuddhistCalendar();
                CultureInfo.CurrentCulture = thai;
                Assert.StartsWith("2568", new DateTime(2025, 12, 31, 0, 0, 0, DateTimeKind.Utc).ToString("yyyyMMdd")); // the trap is armed

                using var dir = new TempDir("ghost-culture");
                var vol = Path.Combine(dir.Path, "vol.img");
                WriteVolumeFile(vol, MiB, seed: 66);
                var root = Path.Combine(dir.Path, "repo");
                var before = DateTime.UtcNow.AddSeconds(-1);
                GhostImage img;
                using (var source = BlockSources.Open(vol))
                    img = ImageCapture.Run(source, vol, new GhostCaptureOptions { Repository = root, SkipPluginInventory = true }, new SpyObserver(), CancellationToken.None);
                Assert.True(RunId.IsWellFormed(img.ImageId), img.ImageId);
                Assert.InRange(RunId.TryParseTime(img.ImageId)!.Value, before, DateTime.UtcNow.AddSeconds(1));

                var drill = ImageVerifier.Run(root, new[] { img.ImageId }, true, new SpyObserver(), CancellationToken.None, 0);
                var name = Path.GetFileName(Assert.Single(drill.DrillRecords));
                var stamp = DateTime.ParseExact(name.Substring(0, 16), "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
                Assert.InRange(stamp, before.AddSeconds(-1), DateTime.UtcNow.AddSeconds(1));
                Assert.Equal("-" + img.ImageId + ".json", name.Substring(16));
            }
            finally
            {
                CultureInfo.CurrentCulture = saved;
            }
        }
    }
}
