using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Imaging;
using NekkBackup.Core.Tests.TestKit;
using Xunit;
using static NekkBackup.Core.Tests.Imaging.GhostTestSupport;

namespace NekkBackup.Core.Tests.Imaging
{
    /// <summary>The repository on plain files: dedup, zero chunks, corruption, crash, GC, errors, VHD.</summary>
    public class GhostRepositoryTests
    {
        private const long MiB = 1 << 20;

        // These tests reason in whole MiB chunks, so their repositories use 1 MiB chunks.
        private static GhostImage Capture(string source, string repo, GhostCompression compression = GhostCompression.Zstd) =>
            GhostTestSupport.Capture(source, repo, compression, chunkSize: (int)MiB);

        private static int ChunkFiles(string repo) =>
            Directory.EnumerateFiles(Path.Combine(repo, "chunks"), "*", SearchOption.AllDirectories).Count(f => !Path.GetFileName(f).StartsWith("."));

        [Fact]
        public void CaptureDeduplicatesSkipsZeroChunksAndRestoresBitForBit()
        {
            using var dir = new TempDir("ghost");
            var src = Path.Combine(dir.Path, "vol.img");
            long size = 24 * MiB + 12345; // last chunk short, not a sector multiple
            WriteVolumeFile(src, size, seed: 1, zeroFrom: 8 * MiB, zeroLength: 4 * MiB);
            var sha1 = Sha256(src);
            var repo = Path.Combine(dir.Path, "repo");

            var a = Capture(src, repo);
            Assert.Equal(sha1, a.VolumeSha256);
            Assert.Equal(25, a.Chunks);
            Assert.Equal(21, ChunkFiles(repo)); // 4 all-zero chunks stored as nothing
            Assert.Equal(a.StoredBytes, a.NewBytes);
            Assert.InRange(a.StoredBytes, 20 * MiB, 21 * MiB + 21 * 12); // random data: stored raw (+12-byte headers)

            var same = Capture(src, repo);
            Assert.Equal(0, same.NewBytes);
            Assert.Equal(a.StoredBytes, same.StoredBytes);

            Scribble(src, 3 * MiB + 100, 200_000, seed: 2); // ~1 % of the volume, inside one chunk
            var sha2 = Sha256(src);
            long before = DirectoryBytes(repo);
            var b = GhostTestSupport.Capture(src, repo, chunkSize: (int)MiB, volumeDigest: false); // the default: no whole-volume hash
            Assert.Equal("", b.VolumeSha256);
            long growth = DirectoryBytes(repo) - before;
            Assert.InRange(b.NewBytes, 1, a.NewBytes / 10);
            Assert.True(growth < a.NewBytes / 10, $"repository grew {growth} bytes");

            var r1 = Path.Combine(dir.Path, "r1.img");
            var r2 = Path.Combine(dir.Path, "r2.img");
            Restore(repo, a.ImageId, r1);
            Restore(repo, b.ImageId, r2);
            Assert.Equal(sha1, Sha256(r1));
            Assert.Equal(sha2, Sha256(r2));
            Assert.Equal(size, new FileInfo(r1).Length);

            var list = GhostRepository.List(repo);
            Assert.Equal(new[] { a.ImageId, same.ImageId, b.ImageId }, list.Select(i => i.ImageId).ToArray());
            Assert.Equal("Passed", Test(repo, full: false).Status);
        }

        [Fact]
        public void CompressionNoneAndZstdRestoreTheSameBytes()
        {
            using var dir = new TempDir("ghost");
            var src = Path.Combine(dir.Path, "text.img");
            // Compressible content: repeated text lines.
            File.WriteAllText(src, string.Concat(Enumerable.Range(0, 120_000).Select(i => $"line {i % 977} of a session log\n")));
            var z = Capture(src, Path.Combine(dir.Path, "rz"), GhostCompression.Zstd);
            var n = Capture(src, Path.Combine(dir.Path, "rn"), GhostCompression.None);
            Assert.True(z.StoredBytes < n.StoredBytes / 3, $"zstd {z.StoredBytes} vs none {n.StoredBytes}");
            Restore(Path.Combine(dir.Path, "rz"), z.ImageId, Path.Combine(dir.Path, "z.out"));
            Restore(Path.Combine(dir.Path, "rn"), n.ImageId, Path.Combine(dir.Path, "n.out"));
            Assert.Equal(Sha256(src), Sha256(Path.Combine(dir.Path, "z.out")));
            Assert.Equal(Sha256(src), Sha256(Path.Combine(dir.Path, "n.out")));
        }

        [Fact]
        public void CorruptChunkIsNamedWithEveryImageUsingIt()
        {
            using var dir = new TempDir("ghost");
            var src = Path.Combine(dir.Path, "vol.img");
            WriteVolumeFile(src, 6 * MiB, seed: 3);
            var repo = Path.Combine(dir.Path, "repo");
            var a = Capture(src, repo);
            Scribble(src, 5 * MiB, 1000, seed: 4);
            var b = Capture(src, repo);

            // Chunk 0 is shared by both images: flip one byte in its file.
            var chunk0 = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(src).AsSpan(0, (int)MiB))).ToLowerInvariant();
            var file = Path.Combine(repo, "chunks", chunk0.Substring(0, 2), chunk0);
            var bytes = File.ReadAllBytes(file);
            bytes[bytes.Length / 2] ^= 0x5A;
            File.WriteAllBytes(file, bytes);

            var quick = Test(repo, full: false);
            Assert.Equal("Failed", quick.Status);
            Assert.Equal(new[] { a.ImageId, b.ImageId }.OrderBy(x => x), quick.Problems.Select(p => p.ImageId).OrderBy(x => x));
            Assert.All(quick.Problems, p => { Assert.Equal(chunk0, p.Chunk); Assert.Equal(0, p.ChunkIndex); Assert.Equal("Corrupt", p.Problem); });

            var drill = Test(repo, full: true, b.ImageId);
            Assert.Equal("Failed", drill.Status);
            Assert.Single(drill.Problems);
            Assert.Equal(b.ImageId, drill.Problems[0].ImageId);
            Assert.Equal(chunk0, drill.Problems[0].Chunk);
            var rec = JsonDocument.Parse(File.ReadAllText(Assert.Single(drill.DrillRecords))).RootElement;
            Assert.Equal("Failed", rec.GetProperty("status").GetString());

            var ex = Assert.Throws<NekkBackupException>(() => Restore(repo, a.ImageId, Path.Combine(dir.Path, "out.img")));
            Assert.Equal("NekkBackup.ChunkCorrupt", ex.ErrorId);
            Assert.Contains(chunk0, ex.Message);
            Assert.False(File.Exists(Path.Combine(dir.Path, "out.img")));
            Assert.False(File.Exists(Path.Combine(dir.Path, "out.img.nekk-partial")));

            // Deleting the chunk instead: Missing.
            File.Delete(file);
            var missing = Test(repo, full: false, a.ImageId);
            Assert.Equal("Missing", Assert.Single(missing.Problems).Problem);
        }

        [Fact]
        public void FullTestIsARestoreDrillRecordedInTheRepository()
        {
            using var dir = new TempDir("ghost");
            var src = Path.Combine(dir.Path, "vol.img");
            WriteVolumeFile(src, 5 * MiB + 512, seed: 5, zeroFrom: MiB, zeroLength: 2 * MiB);
            var repo = Path.Combine(dir.Path, "repo");
            var a = Capture(src, repo);
            var r = Test(repo, full: true);
            Assert.Equal("Passed", r.Status);
            Assert.True(r.Full);
            Assert.Equal(new[] { a.ImageId }, r.ImageId);
            Assert.Equal(a.SizeBytes, r.BytesVerified);
            Assert.Equal(a.Chunks, r.ChunksChecked);
            var rec = JsonDocument.Parse(File.ReadAllText(Assert.Single(r.DrillRecords))).RootElement;
            Assert.Equal(a.ImageId, rec.GetProperty("imageId").GetString());
            Assert.Equal("Passed", rec.GetProperty("status").GetString());
            Assert.Equal(Sha256(src), rec.GetProperty("actualVolumeSha256").GetString());
            Assert.StartsWith(Path.Combine(repo, "drills"), r.DrillRecords[0]);
        }

        [Fact]
        public void KilledCaptureLeavesNoImageAndItsChunksAreReused()
        {
            using var dir = new TempDir("ghost");
            var src = Path.Combine(dir.Path, "vol.img");
            WriteVolumeFile(src, 40 * MiB, seed: 6);
            var repo = Path.Combine(dir.Path, "repo");
            var host = Path.Combine(AppContext.BaseDirectory, "NekkBackup.GhostHost.dll");
            Assert.True(File.Exists(host), host);

            var psi = new ProcessStartInfo("dotnet", $"\"{host}\" capture \"{src}\" \"{repo}\" --slow-ms 80 --chunk-kib 1024")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            using (var p = Process.Start(psi)!)
            {
                var deadline = DateTime.UtcNow.AddSeconds(60);
                while (DateTime.UtcNow < deadline && !p.HasExited && (!Directory.Exists(Path.Combine(repo, "chunks")) || ChunkFiles(repo) < 8))
                    Thread.Sleep(50);
                if (p.HasExited) Assert.Fail("the capture finished before it could be killed: " + p.StandardError.ReadToEnd());
                int atKill = ChunkFiles(repo);
                p.Kill(entireProcessTree: true);
                Assert.True(p.WaitForExit(30_000));
                Assert.True(ChunkFiles(repo) < 40, $"{atKill} chunks at kill, {ChunkFiles(repo)} after; exit {p.ExitCode}: {p.StandardOutput.ReadToEnd()} {p.StandardError.ReadToEnd()}");
            }
            int written = ChunkFiles(repo);
            Assert.InRange(written, 8, 39);

            Assert.Empty(GhostRepository.List(repo));
            var t = Test(repo, full: true);
            Assert.Equal("Passed", t.Status);
            Assert.Empty(t.ImageId);

            var img = Capture(src, repo);
            Assert.True(img.NewBytes < img.StoredBytes, $"new {img.NewBytes} stored {img.StoredBytes}");
            Assert.InRange(img.StoredBytes - img.NewBytes, written * MiB, written * (MiB + 12)); // exactly the killed run's chunks were reused
            Assert.Equal(Sha256(src), img.VolumeSha256);
            Assert.Equal("Passed", Test(repo, full: true).Status);

            // The killed capture's lock is stale (its process is gone): garbage collection is not blocked.
            var removed = GhostRepository.RemoveAsync(repo, new[] { img.ImageId }, null, CancellationToken.None).GetAwaiter().GetResult();
            Assert.False(removed.GarbageCollectionDeferred);
            Assert.Equal(0, ChunkFiles(repo));
            Assert.Empty(Directory.GetFiles(Path.Combine(repo, "images")));
        }

        [Fact]
        public void RemoveFreesOnlyUnreferencedChunks()
        {
            using var dir = new TempDir("ghost");
            var src = Path.Combine(dir.Path, "vol.img");
            WriteVolumeFile(src, 8 * MiB, seed: 7);
            var repo = Path.Combine(dir.Path, "repo");
            var a = Capture(src, repo);
            Scribble(src, 0, (int)(3 * MiB), seed: 8); // chunks 0-2 change
            var sha2 = Sha256(src);
            var b = Capture(src, repo);
            long before = DirectoryBytes(repo);

            var r = GhostRepository.RemoveAsync(repo, new[] { a.ImageId }, null, CancellationToken.None).GetAwaiter().GetResult();
            Assert.Equal(new[] { a.ImageId }, r.RemovedImageIds);
            Assert.Equal(3, r.ChunksDeleted);
            long after = DirectoryBytes(repo);
            Assert.True(after < before - 3 * MiB, $"{before} → {after}");
            Assert.InRange(r.FreedBytes, before - after - 4096, before - after + 4096);
            Assert.Equal(new[] { b.ImageId }, GhostRepository.List(repo).Select(i => i.ImageId).ToArray());
            var out2 = Path.Combine(dir.Path, "b.img");
            Restore(repo, b.ImageId, out2);
            Assert.Equal(sha2, Sha256(out2));
            Assert.Equal("Passed", Test(repo, full: true).Status);
        }

        [Fact]
        public void GarbageCollectionWaitsForARunningCapture()
        {
            using var dir = new TempDir("ghost");
            var src = Path.Combine(dir.Path, "vol.img");
            WriteVolumeFile(src, 3 * MiB, seed: 9);
            var repo = Path.Combine(dir.Path, "repo");
            var a = Capture(src, repo);
            // A live shared lock (this process = alive) stands for a capture in progress on this host.
            File.WriteAllText(Path.Combine(repo, "locks", "live-capture.json"), JsonSerializer.Serialize(new
            {
                host = OperatingSystemInfo.HostName, pid = Environment.ProcessId, exclusive = false, operation = "capture",
                created = DateTime.UtcNow, refreshed = DateTime.UtcNow,
            }));
            var r = GhostRepository.RemoveAsync(repo, new[] { a.ImageId }, null, CancellationToken.None).GetAwaiter().GetResult();
            Assert.True(r.GarbageCollectionDeferred);
            Assert.Equal(3, ChunkFiles(repo)); // kept: the running capture may be referencing them
            File.Delete(Path.Combine(repo, "locks", "live-capture.json"));
        }

        [Fact]
        public void BadInputFailsWithStableErrorIdsBeforeWritingAnything()
        {
            using var dir = new TempDir("ghost");
            var src = Path.Combine(dir.Path, "vol.img");
            WriteVolumeFile(src, 2 * MiB, seed: 10);
            var repo = Path.Combine(dir.Path, "repo");
            var a = Capture(src, repo);

            NekkBackupException Err(Action act) => Assert.Throws<NekkBackupException>(act);
            Assert.Equal("NekkBackup.ImageNotFound", Err(() => Restore(repo, "nope", Path.Combine(dir.Path, "x.img"))).ErrorId);
            Assert.Equal("NekkBackup.ImageNotFound", Err(() => Test(repo, false, "nope")).ErrorId);
            Assert.Equal("NekkBackup.ImageNotFound", Err(() => GhostRepository.RemoveAsync(repo, new[] { a.ImageId, "nope" }, null, default).GetAwaiter().GetResult()).ErrorId);
            Assert.Single(GhostRepository.List(repo)); // nothing removed
            Assert.Equal("NekkBackup.SourceNotFound", Err(() => Capture(Path.Combine(dir.Path, "absent.img"), repo)).ErrorId);
            Assert.Equal("NekkBackup.SourceIsDirectory", Err(() => Capture(dir.Path, repo)).ErrorId);
            Assert.Equal("NekkBackup.RepositoryNotFound", Err(() => GhostRepository.List(Path.Combine(dir.Path, "none"))).ErrorId);
            Assert.Equal("NekkBackup.RepositoryNotFound", Err(() => Capture(src, Path.Combine(dir.Path, "no", "such", "repo"))).ErrorId);
            var notRepo = dir.Sub("notrepo");
            File.WriteAllText(Path.Combine(notRepo, "a.txt"), "x");
            Assert.Equal("NekkBackup.NotARepository", Err(() => Capture(src, notRepo)).ErrorId);
            Assert.Equal("NekkBackup.NotARepository", Err(() => GhostRepository.List(notRepo)).ErrorId);
            Assert.Equal(new[] { "a.txt" }, Directory.GetFileSystemEntries(notRepo).Select(Path.GetFileName).ToArray());
            var existing = Path.Combine(dir.Path, "exists.img");
            File.WriteAllText(existing, "keep");
            Assert.Equal("NekkBackup.TargetExists", Err(() => Restore(repo, a.ImageId, existing)).ErrorId);
            Assert.Equal("keep", File.ReadAllText(existing));
            Restore(repo, a.ImageId, existing, force: true);
            Assert.Equal(Sha256(src), Sha256(existing));

            // An exclusive lock held by a live process (a Remove in progress) refuses captures.
            var lockFile = Path.Combine(repo, "locks", "gc.json");
            File.WriteAllText(lockFile, JsonSerializer.Serialize(new
            {
                host = OperatingSystemInfo.HostName, pid = Environment.ProcessId, exclusive = true, operation = "remove",
                created = DateTime.UtcNow, refreshed = DateTime.UtcNow,
            }));
            Assert.Equal("NekkBackup.RepositoryLocked", Err(() => Capture(src, repo)).ErrorId);
            File.Delete(lockFile);
        }

        [ToolFact("qemu-img")]
        public void VhdExportIsAFixedVhdQemuReadsWithTheVolumeAt1MiB()
        {
            using var dir = new TempDir("ghost");
            var src = Path.Combine(dir.Path, "vol.img");
            long size = 5 * MiB + 300; // padded to a sector multiple in the VHD
            WriteVolumeFile(src, size, seed: 11, zeroFrom: 2 * MiB, zeroLength: MiB);
            var repo = Path.Combine(dir.Path, "repo");
            var a = Capture(src, repo);
            var vhd = Path.Combine(dir.Path, "disk.vhd");
            var res = Restore(repo, a.ImageId, vhd, GhostRestoreFormat.Vhd);

            long padded = (size + 511) / 512 * 512;
            long disk = MiB + padded;
            Assert.Equal(disk + 512, new FileInfo(vhd).Length);
            Assert.Equal(MiB, res.VolumeOffset);
            var all = File.ReadAllBytes(vhd);
            var footer = all.AsSpan((int)disk, 512).ToArray();
            uint Be32(int at) => (uint)footer[at] << 24 | (uint)footer[at + 1] << 16 | (uint)footer[at + 2] << 8 | footer[at + 3];
            ulong Be64(int at) => (ulong)Be32(at) << 32 | Be32(at + 4);
            Assert.Equal("conectix", System.Text.Encoding.ASCII.GetString(footer, 0, 8));
            Assert.Equal(2u, Be32(8));
            Assert.Equal(0x00010000u, Be32(12));
            Assert.Equal(ulong.MaxValue, Be64(16));
            Assert.InRange((long)Be32(24), (long)(DateTime.UtcNow.AddMinutes(-5) - new DateTime(2000, 1, 1)).TotalSeconds, (long)(DateTime.UtcNow - new DateTime(2000, 1, 1)).TotalSeconds + 5);
            Assert.Equal("win ", System.Text.Encoding.ASCII.GetString(footer, 28, 4));
            Assert.Equal("Wi2k", System.Text.Encoding.ASCII.GetString(footer, 36, 4));
            Assert.Equal((ulong)disk, Be64(40));
            Assert.Equal((ulong)disk, Be64(48));
            Assert.Equal(2u, Be32(60));
            uint sum = 0;
            for (int i = 0; i < 512; i++) if (i < 64 || i >= 68) sum += footer[i];
            Assert.Equal(~sum, Be32(64));
            Assert.Contains(footer.Skip(68).Take(16), b => b != 0);

            // MBR: one partition, type 0x07, LBA 2048, the volume's sector count.
            Assert.Equal(0x55, all[510]);
            Assert.Equal(0xAA, all[511]);
            Assert.NotEqual(0u, BitConverter.ToUInt32(all, 0x1B8));
            Assert.Equal(0x07, all[0x1BE + 4]);
            Assert.Equal(2048u, BitConverter.ToUInt32(all, 0x1BE + 8));
            Assert.Equal((uint)(padded / 512), BitConverter.ToUInt32(all, 0x1BE + 12));
            Assert.Equal(Sha256(src), Sha256(vhd, MiB, size));

            // Independently: qemu-img reads it as a VPC disk of that size and converts it back to raw.
            var info = JsonDocument.Parse(ProcessHelper.Check("qemu-img", $"info -f vpc --output json \"{vhd}\"")).RootElement;
            Assert.Equal(disk, info.GetProperty("virtual-size").GetInt64());
            var raw = Path.Combine(dir.Path, "disk.raw");
            ProcessHelper.Check("qemu-img", $"convert -f vpc -O raw \"{vhd}\" \"{raw}\"");
            Assert.Equal(disk, new FileInfo(raw).Length);
            Assert.Equal(Sha256(src), Sha256(raw, MiB, size));
            Assert.Equal(Sha256(vhd, 0, disk), Sha256(raw));
        }
    }
}
