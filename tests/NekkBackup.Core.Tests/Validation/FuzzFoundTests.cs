using System;
using System.IO;
using System.Linq;
using System.Text;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Folder;
using NekkBackup.Core.Imaging;
using NekkBackup.Core.Tests.Folder;
using NekkBackup.Core.Tests.Imaging;
using NekkBackup.Core.Tests.TestKit;
using Xunit;

namespace NekkBackup.Core.Tests.Validation
{
    /// <summary>Every distinct failure the fuzzing harness (tests/…/Fuzz) found, as a regression test of its own.</summary>
    public sealed class FuzzFoundTests
    {
        // Seed 1, folder.format trial 59: a byte flip made a string of format.json invalid UTF-8, and
        // JsonElement.GetString threw InvalidOperationException out of Get/Test/Restore.
        [Fact]
        public void FormatFileWithInvalidUtf8_IsCorruptCatalog()
        {
            using var tmp = new TempDir("ff-utf8");
            var src = tmp.Sub("S");
            File.WriteAllText(Path.Combine(src, "a.txt"), "a");
            var dest = Path.Combine(tmp.Path, "nas");
            FolderKit.Backup(dest, null, false, src);
            var bytes = Encoding.UTF8.GetBytes("{\"format\":\"nekkbackup-folder\",\"version\":1}");
            bytes[13] = 0xC3; // a lead byte without its continuation, inside the string
            File.WriteAllBytes(Path.Combine(dest, ".nekkbackup", "format.json"), bytes);
            var e = Assert.Throws<NekkBackupException>(() => FolderBackupEngine.GetRuns(dest));
            Assert.Equal("NekkBackup.CorruptCatalog", e.ErrorId);
            Assert.Contains("UTF-8", e.Message);
        }

        // Seed 2, ghost.drills trial 3: a folder sat where the drill record was to be written, and AtomicFile's rename
        // threw a raw IOException ("Is a directory") out of Test-NekkGhostImage -Full.
        [Fact]
        public void FolderWhereTheDrillRecordGoes_DrillFailsByName()
        {
            using var tmp = new TempDir("ff-drill");
            var vol = Path.Combine(tmp.Path, "vol.img");
            GhostTestSupport.WriteVolumeFile(vol, 64 * 1024, 4);
            var repo = Path.Combine(tmp.Path, "repo");
            var img = GhostTestSupport.Capture(vol, repo, chunkSize: 8192);
            var now = DateTime.UtcNow;
            for (int s = -2; s < 120; s++)
                Directory.CreateDirectory(Path.Combine(repo, "drills", $"{now.AddSeconds(s):yyyyMMdd'T'HHmmss'Z'}-{img.ImageId}.json"));
            var r = GhostTestSupport.Test(repo, true, img.ImageId);
            Assert.Equal("Failed", r.Status);
            Assert.Contains(r.Problems, p => p.Problem == "DrillNotRecorded");
            Assert.Empty(r.DrillRecords);
        }

        // Seed 5, ghost.manifest trial 72: images/ replaced by a link to a copy of it elsewhere, and
        // Remove-NekkGhostImage deleted the image's manifest and chunk list there, through the link.
        [Fact]
        public void ImagesFolderLinkedElsewhere_RemoveDeletesNothingThroughIt()
        {
            using var tmp = new TempDir("ff-remove");
            var vol = Path.Combine(tmp.Path, "vol.img");
            GhostTestSupport.WriteVolumeFile(vol, 64 * 1024, 4);
            var repo = Path.Combine(tmp.Path, "repo");
            var img = GhostTestSupport.Capture(vol, repo, chunkSize: 8192);
            var copy = Path.Combine(tmp.Path, "outside", "copy-images");
            Fuzz.FsCopy.Tree(Path.Combine(repo, "images"), copy);
            Fuzz.HostileFs.Replace(Path.Combine(repo, "images"), p => Fuzz.HostileFs.MakeDirLink(p, copy));
            var before = Directory.GetFiles(copy).Length;
            var e = Assert.ThrowsAny<NekkBackupException>(() => GhostRepository.RemoveAsync(repo, new[] { img.ImageId }, null, System.Threading.CancellationToken.None).GetAwaiter().GetResult());
            Assert.Equal("NekkBackup.UnsafePath", e.ErrorId);
            Assert.Equal(before, Directory.GetFiles(copy).Length);
        }
    }
}
