using System;
using System.IO;
using System.Linq;
using System.Threading;
using NekkBackup.Core.Imaging;
using NekkBackup.Core.Tests.TestKit;
using Xunit;
using static NekkBackup.Core.Tests.Imaging.GhostTestSupport;

namespace NekkBackup.Core.Tests.Imaging
{
    /// <summary>
    /// Holes of a sparse image file (issue 16, second capture): a capture turns a chunk lying wholly in a hole into a zero
    /// chunk without reading it, never a chunk holding data, and the image still restores bit for bit.
    /// </summary>
    public class GhostSparseTests
    {
        private const int MiB = 1 << 20;

        // Data written at these byte ranges of a 16 MiB + 5000 byte sparse file; everything else is a hole except
        // chunk 13, which is written with explicit zeros (allocated, not a hole: read, and still a zero chunk).
        private static readonly (long At, int Length)[] Data =
        {
            (1L * MiB + 10, 3000),          // chunk 1, partly
            (5L * MiB - 100, 200),          // straddles chunks 4 and 5
            (9L * MiB, 2 * MiB),            // chunks 9 and 10, whole
            (16L * MiB + 4000, 1000),       // the short last chunk 16
        };

        private static readonly int[] DataChunks = { 1, 4, 5, 9, 10, 16 };
        private const long Size = 16L * MiB + 5000;

        private static string MakeSparse(string dir)
        {
            var path = Path.Combine(dir, "sparse.img");
            var rnd = new Random(7);
            using (var fs = new FileStream(path, FileMode.CreateNew, FileAccess.Write))
            {
                fs.SetLength(Size);
                foreach (var (at, length) in Data)
                {
                    var b = new byte[length];
                    rnd.NextBytes(b);
                    fs.Position = at;
                    fs.Write(b, 0, b.Length);
                }
                fs.Position = 13L * MiB;
                fs.Write(new byte[MiB], 0, MiB);
            }
            return path;
        }

        [Fact]
        public void HolesAreFoundWithoutReading_AndNeverOverData()
        {
            if (!OperatingSystem.IsLinux()) return;
            using var dir = new TempDir("ghostsparse");
            var path = MakeSparse(dir.Path);
            using var source = new FileBlockSource(path);
            var holes = Enumerable.Range(0, 17).Where(c => source.IsHole((long)c * MiB, (int)Math.Min(MiB, Size - (long)c * MiB))).ToArray();
            // Never a chunk with data in it; the holes the test made are found (ext4/xfs/btrfs/tmpfs all answer SEEK_DATA).
            Assert.Empty(holes.Intersect(DataChunks));
            Assert.Equal(Enumerable.Range(0, 17).Except(DataChunks).Except(new[] { 13 }).ToArray(), holes);
            // Asked out of order and across a data boundary, it answers the same.
            Assert.False(source.IsHole(5L * MiB - 4096, 8192));
            Assert.True(source.IsHole(3L * MiB, MiB));
            Assert.False(source.IsHole(1L * MiB, 4096 * 2));
            Assert.True(source.IsHole(12L * MiB, 4096));
        }

        [Fact]
        public void SparseImageCapturesWithoutReadingItsHoles_AndRestoresBitForBit()
        {
            using var dir = new TempDir("ghostsparse");
            var path = MakeSparse(dir.Path);
            var sha = Sha256(path);
            var repo = Path.Combine(dir.Path, "repo");
            var counting = new CountingSource(new FileBlockSource(path));
            var image = GhostRepository.CaptureAsync(counting, path,
                new GhostCaptureOptions { Source = path, Repository = repo, ChunkSize = MiB, VolumeDigest = true }, new SpyObserver(), CancellationToken.None).GetAwaiter().GetResult();

            Assert.Equal(sha, image.VolumeSha256); // the holes went into the volume digest as the zeros they read as
            Assert.Equal(17, image.Chunks);
            if (OperatingSystem.IsLinux())
                Assert.Equal(DataChunks.Select(c => (long)c * MiB).Append(13L * MiB).OrderBy(o => o).ToArray(), counting.Offsets.OrderBy(o => o).ToArray());
            var manifest = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(repo, "images", image.ImageId + ".json")));
            Assert.Equal(11, manifest.RootElement.GetProperty("zeroChunks").GetInt64());

            var restored = Path.Combine(dir.Path, "restored.img");
            Restore(repo, image.ImageId, restored);
            Assert.Equal(sha, Sha256(restored));
            Assert.Equal(Size, new FileInfo(restored).Length);
            Assert.Equal("Passed", Test(repo, full: true).Status);
        }

        [Fact]
        public void ContiguousChunksAreReadInOneRequestPerBatch_NotOneEach()
        {
            // Data chunks beside data chunks in one ~2 MiB batch are one read, not one read per chunk.
            foreach (int chunk in new[] { MiB, 256 << 10 })
            {
                using var dir = new TempDir("ghostruns");
                var path = MakeSparse(dir.Path);
                var counting = new CountingSource(new FileBlockSource(path));
                var image = GhostRepository.CaptureAsync(counting, path,
                    new GhostCaptureOptions { Source = path, Repository = Path.Combine(dir.Path, "repo"), ChunkSize = chunk, VolumeDigest = true },
                    null, CancellationToken.None).GetAwaiter().GetResult();
                Assert.Equal(Sha256(path), image.VolumeSha256);
                if (!OperatingSystem.IsLinux()) continue;
                // 1 MiB: [1], [4-5], [9], [10] (a batch ends at 10 MiB), [13], [16]; 256 KiB: the 256 KiB at 1 MiB, the two
                // chunks around 5 MiB, 9-10 MiB and 10-11 MiB, 13-14 MiB, the tail. One chunk per request would be 7 and 16.
                Assert.True(counting.Requests.Count == 6, $"{chunk}: " + string.Join(", ", counting.Requests));
            }
        }

        /// <summary>Records which 1 MiB chunks were read; passes hole questions to the file below.</summary>
        private sealed class CountingSource : IBlockSource, IHoleMap
        {
            private readonly FileBlockSource _inner;
            public CountingSource(FileBlockSource inner) => _inner = inner;
            public System.Collections.Concurrent.ConcurrentBag<long> Offsets { get; } = new();
            public System.Collections.Concurrent.ConcurrentQueue<(long At, int Count)> Requests { get; } = new();
            public string Path => _inner.Path;
            public long Length => _inner.Length;
            public bool IsHole(long offset, int count) => _inner.IsHole(offset, count);

            /// <summary>Records the offset of each MiB a read covers (a capture reads a run of chunks at once).</summary>
            public int Read(long offset, byte[] buffer, int count)
            {
                Requests.Enqueue((offset, count));
                for (long at = offset; at < offset + count; at += MiB) Offsets.Add(at);
                return _inner.Read(offset, buffer, count);
            }

            public void Dispose() => _inner.Dispose();
        }
    }
}
