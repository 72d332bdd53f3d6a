using System;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using NekkBackup.Core.Imaging;
using NekkBackup.Core.Tests.TestKit;
using Xunit;
using static NekkBackup.Core.Tests.Imaging.GhostTestSupport;

namespace NekkBackup.Core.Tests.Imaging.Allocation
{
    /// <summary>
    /// A second used-block capture that compares file-system metadata (the default) against one that reads every used
    /// block, on real ext4 and NTFS volumes changed through a mount in every way a file changes: the two images must
    /// restore to the same bytes, which must hold the changed files (digests taken from the mounted source), pass the
    /// file system's own check, and the comparing capture must have taken chunks unread.
    /// </summary>
    public class ChangeDetectionTests
    {
        [RootTheory("mkfs.ext4", "mkntfs", "ntfs-3g", "e2fsck", "ntfsfix", "mount", "fallocate")]
        [InlineData("ext4")]
        [InlineData("ntfs")]
        public void ASecondCaptureThatComparesMetadataRestoresTheSameBytesAsOneThatReadsEverything(string fs)
        {
            using var dir = new TempDir("cd-" + fs);
            var kind = fs == "ntfs" ? "ntfs" : "ext";
            var img = fs == "ntfs" ? TestVolumes.Ntfs(dir, "", 128, 56, seed: 61) : TestVolumes.Ext(dir, "ext4", "-b 4096", 128, 56, seed: 61);
            var repo = Path.Combine(dir.Path, "repo");
            var first = Capture(img, repo, mode: GhostCaptureMode.UsedBlocks, volumeDigest: false);
            Assert.Null(Compared(repo, first.ImageId));

            System.Threading.Thread.Sleep(300); // past the racy window of the first image's newest change
            Change(img, kind, dir);
            var contents = Path.Combine(dir.Path, "repo-contents");
            CopyTree(repo, contents);

            var spy = new SpyObserver();
            var second = Capture(img, repo, mode: GhostCaptureMode.UsedBlocks, volumeDigest: false, observer: spy);
            var all = Capture(img, contents, mode: GhostCaptureMode.UsedBlocks, volumeDigest: false, changes: GhostChangeDetection.Contents);
            var compared = Compared(repo, second.ImageId);
            Assert.NotNull(compared);
            Assert.Equal(first.ImageId, (string?)compared!["imageId"]);
            Assert.Equal(1, (int)compared["chain"]!);
            long unchanged = (long)compared["unchangedChunks"]!;
            Assert.True(unchanged > 40, $"{unchanged} chunks taken unread");
            Assert.Contains(spy.Messages, m => m.Contains($"{unchanged:N0} of") && m.Contains("are not read"));
            Assert.Null(Compared(contents, all.ImageId));

            var a = Path.Combine(dir.Path, "a.img");
            var b = Path.Combine(dir.Path, "b.img");
            Restore(repo, second.ImageId, a);
            Restore(contents, all.ImageId, b);
            Assert.Equal(Sha256(b), Sha256(a));
            var check = fs == "ntfs" ? ProcessHelper.Run("ntfsfix", $"-n \"{a}\"") : ProcessHelper.Run("e2fsck", $"-fn \"{a}\"");
            Assert.True(check.ExitCode == 0, check.StdOut + check.StdErr);
            Assert.True(TestVolumes.SameDigests(TestVolumes.Digests(img, kind, dir), TestVolumes.Digests(a, kind, dir)), "the restored files differ from the source's");
            Assert.Equal("Passed", Test(repo, full: true, second.ImageId).Status);
        }

        [RootFact("mkfs.ext4", "mount")]
        public void EveryFifthCaptureInARowReadsEverythingAndAnotherFileSystemIsNeverCompared()
        {
            using var dir = new TempDir("cd-chain");
            var img = TestVolumes.Ext(dir, "ext4", "-b 4096", 64, 16, seed: 62);
            var repo = Path.Combine(dir.Path, "repo");
            Capture(img, repo, mode: GhostCaptureMode.UsedBlocks, volumeDigest: false);
            for (int chain = 1; chain <= 4; chain++)
            {
                var next = Capture(img, repo, mode: GhostCaptureMode.UsedBlocks, volumeDigest: false);
                Assert.Equal(chain, (int)Compared(repo, next.ImageId)!["chain"]!);
            }
            var spy = new SpyObserver();
            var fifth = Capture(img, repo, mode: GhostCaptureMode.UsedBlocks, volumeDigest: false, observer: spy);
            Assert.Null(Compared(repo, fifth.ImageId));
            Assert.Contains(spy.Messages, m => m.Contains("the last 4 captures compared metadata"));
            Assert.Equal(1, (int)Compared(repo, Capture(img, repo, mode: GhostCaptureMode.UsedBlocks, volumeDigest: false).ImageId)!["chain"]!);

            // A volume digest needs every byte; so does a capture asked to read contents.
            Assert.Null(Compared(repo, Capture(img, repo, mode: GhostCaptureMode.UsedBlocks, volumeDigest: true).ImageId));
            Assert.Null(Compared(repo, Capture(img, repo, mode: GhostCaptureMode.UsedBlocks, volumeDigest: false, changes: GhostChangeDetection.Contents).ImageId));

            // Reformatted (a new UUID) at the same size and path: never compared with the old file system's images.
            ProcessHelper.Check("mkfs.ext4", $"-q -F -E nodiscard -b 4096 \"{img}\"");
            spy = new SpyObserver();
            var other = Capture(img, repo, mode: GhostCaptureMode.UsedBlocks, volumeDigest: false, observer: spy);
            Assert.Null(Compared(repo, other.ImageId));
            Assert.Contains(spy.Messages, m => m.Contains("holds another file system"));
        }

        [RootFact("mkfs.ext4", "mount", "e2fsck")]
        public void AnEarlierImageThatCannotBeReadBackMeansEveryBlockIsRead()
        {
            using var dir = new TempDir("cd-damaged");
            var img = TestVolumes.Ext(dir, "ext4", "-b 4096", 64, 16, seed: 63);
            var repo = Path.Combine(dir.Path, "repo");
            var first = Capture(img, repo, mode: GhostCaptureMode.UsedBlocks, volumeDigest: false);
            // Chunk 0 (the superblock and group descriptors) of the earlier image goes missing.
            var chunk0 = FirstChunkFile(repo, first.ImageId);
            File.Delete(chunk0);
            var spy = new SpyObserver();
            var second = Capture(img, repo, mode: GhostCaptureMode.UsedBlocks, volumeDigest: false, observer: spy);
            Assert.Null(Compared(repo, second.ImageId));
            Assert.Contains(spy.Messages, m => m.Contains("could not be read back") || m.Contains("cannot be read back"));
            var restored = Path.Combine(dir.Path, "r.img");
            Restore(repo, second.ImageId, restored);
            var check = ProcessHelper.Run("e2fsck", $"-fn \"{restored}\"");
            Assert.True(check.ExitCode == 0, check.StdOut + check.StdErr);
        }

        /// <summary>Every way a file changes, through the mounted file system: append, in-place overwrite with the mtime put back, truncate, new, deleted, renamed, preallocated, sparse.</summary>
        private static void Change(string img, string kind, TempDir dir)
        {
            var mnt = dir.Sub("change-" + Guid.NewGuid().ToString("N").Substring(0, 6));
            TestVolumes.Mount(img, kind, mnt, readOnly: false);
            try
            {
                var files = Directory.GetFiles(mnt, "*.wav", SearchOption.AllDirectories).OrderBy(f => f, StringComparer.Ordinal).ToArray();
                Assert.True(files.Length > 12, $"{files.Length} files");
                File.AppendAllText(files[0], "appended");
                var stamp = File.GetLastWriteTimeUtc(files[1]);
                ProcessHelper.Check("dd", $"if=/dev/urandom of=\"{files[1]}\" bs=4096 count=2 seek=3 conv=notrunc status=none");
                File.SetLastWriteTimeUtc(files[1], stamp); // a tool that restores the old mtime: the ctime still moves
                ProcessHelper.Check("truncate", $"-s 8192 \"{files[2]}\"");
                File.Delete(files[3]);
                File.Move(files[4], files[4] + ".moved");
                File.WriteAllBytes(Path.Combine(mnt, "new.bin"), Enumerable.Range(0, 1 << 20).Select(i => (byte)((i * 31 >> 3) & 0xFF)).ToArray());
                if (kind == "ext")
                {
                    ProcessHelper.Check("fallocate", $"-l 1M \"{Path.Combine(mnt, "prealloc.bin")}\"");
                    ProcessHelper.Check("dd", $"if=/dev/urandom of=\"{Path.Combine(mnt, "prealloc.bin")}\" bs=4096 count=1 seek=5 conv=notrunc status=none");
                }
                using (var s = new FileStream(files[5], FileMode.Open, FileAccess.Write))
                {
                    s.Position = s.Length / 2;
                    s.Write(new byte[] { 1, 2, 3, 4, 5 }, 0, 5);
                }
            }
            finally { GhostTestSupport.Unmount(mnt); }
        }

        private static JsonNode? Compared(string repo, string id) =>
            JsonNode.Parse(File.ReadAllText(Path.Combine(repo, "images", id + ".json")))!["compared"];

        private static string FirstChunkFile(string repo, string id)
        {
            var idx = File.ReadAllBytes(Path.Combine(repo, "images", id + ".idx"));
            var hex = Convert.ToHexString(idx, ImageIndexWriter.HeaderSize, 32).ToLowerInvariant();
            return Path.Combine(repo, "chunks", hex.Substring(0, 2), hex);
        }

        private static void CopyTree(string from, string to)
        {
            foreach (var d in Directory.GetDirectories(from, "*", SearchOption.AllDirectories)) Directory.CreateDirectory(d.Replace(from, to));
            Directory.CreateDirectory(to);
            foreach (var f in Directory.GetFiles(from, "*", SearchOption.AllDirectories)) File.Copy(f, f.Replace(from, to));
        }
    }
}
