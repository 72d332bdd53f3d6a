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

        // Seed 424243, folder.manifest trial 718 (Backup -Retention) and 1360 (Backup): .nekkbackup/ replaced by a link to a
        // folder outside the destination, and the backup (on the storage seam since step 2) wrote format.json, its lock
        // and temporary files through it.
        [Fact]
        public void CatalogFolderThatIsALink_IsRefusedAndNothingIsWrittenThroughIt()
        {
            using var tmp = new TempDir("ff-metalink");
            var src = tmp.Sub("S");
            File.WriteAllText(Path.Combine(src, "a.txt"), "a");
            var dest = Path.Combine(tmp.Path, "nas");
            FolderKit.Backup(dest, null, false, src);
            var outside = tmp.Sub("outside");
            Directory.Delete(Path.Combine(dest, ".nekkbackup"), recursive: true);
            Directory.CreateSymbolicLink(Path.Combine(dest, ".nekkbackup"), outside);
            var obs = new RecordingObserver();
            var e = Assert.Throws<NekkBackupException>(() => FolderKit.Backup(dest, obs, false, src));
            Assert.Equal("NekkBackup.UnsafePath", e.ErrorId);
            Assert.Empty(Directory.EnumerateFileSystemEntries(outside));
        }

        // Seed 424245, ghost.config trials 4109, 5374, 6501, 6685…: a byte flip made a property NAME of config.json invalid
        // UTF-8, and JsonElement.TryGetProperty threw InvalidOperationException out of Test, Remove, Capture and the plan's
        // image evidence. Every field-by-field reader now gets a document whose whole text is valid UTF-8.
        [Fact]
        public void RepositoryConfigWithAnInvalidUtf8Name_IsNamedNotRaw()
        {
            using var tmp = new TempDir("ff-cfgutf8");
            var vol = Path.Combine(tmp.Path, "vol.img");
            GhostTestSupport.WriteVolumeFile(vol, 64 * 1024, 4);
            var repo = Path.Combine(tmp.Path, "repo");
            GhostTestSupport.Capture(vol, repo, chunkSize: 8192);
            var cfg = Path.Combine(repo, "config.json");
            var bytes = File.ReadAllBytes(cfg);
            int at = Encoding.ASCII.GetString(bytes).IndexOf("\"formatVersion\"", StringComparison.Ordinal) + 9;
            bytes[at] = 0xC3; // a lead byte without its continuation, inside a property name
            File.WriteAllBytes(cfg, bytes);
            var e = Assert.Throws<NekkBackupException>(() => GhostTestSupport.Test(repo, true));
            Assert.Contains(e.ErrorId, new[] { "NekkBackup.NotARepository", "NekkBackup.RepositoryCorrupt" });
            Assert.Contains("UTF-8", e.Message);
            var e2 = Assert.Throws<NekkBackupException>(() => GhostTestSupport.Capture(vol, repo, chunkSize: 8192));
            Assert.StartsWith("NekkBackup.", e2.ErrorId);
        }

        // Seed 424247, ghost.manifest trial 8066: "durationMs": 1E+18 passed the manifest rules (any non-negative number)
        // and TimeSpan.FromMilliseconds threw OverflowException out of Get-NekkGhostImage. A duration over a year is damage.
        [Fact]
        public void ManifestWithAnImpossibleDuration_IsNamedNotRaw()
        {
            using var tmp = new TempDir("ff-duration");
            var vol = Path.Combine(tmp.Path, "vol.img");
            GhostTestSupport.WriteVolumeFile(vol, 64 * 1024, 4);
            var repo = Path.Combine(tmp.Path, "repo");
            var img = GhostTestSupport.Capture(vol, repo, chunkSize: 8192);
            var file = Path.Combine(repo, "images", img.ImageId + ".json");
            var text = File.ReadAllText(file);
            var at = text.IndexOf("\"durationMs\"", StringComparison.Ordinal);
            var end = text.IndexOfAny(new[] { ',', '\n', '}' }, at);
            File.WriteAllText(file, text.Substring(0, at) + "\"durationMs\": 1000000000000000000" + text.Substring(end));
            var ex = Record.Exception(() => GhostRepository.List(repo, new RecordingObserver()));
            Assert.True(ex == null || ex is NekkBackupException, ex?.ToString());
            GhostImageTestResult? r = null;
            var te = Record.Exception(() => r = GhostTestSupport.Test(repo, true));
            Assert.True(te == null || te is NekkBackupException, te?.ToString());
            var said = te?.Message ?? string.Join("\n", r!.Problems.Select(p => p.Message));
            Assert.Contains("durationMs", said);
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

        // Seed 101, ghost.drills trial 560: bit flips made a drill record's text invalid UTF-8, and the plan's image evidence
        // reader (Test-NekkBackupCompliance) threw InvalidOperationException from JsonElement.GetString.
        [Fact]
        public void DrillRecordWithInvalidUtf8_IsNotEvidence()
        {
            using var tmp = new TempDir("ff-evidence");
            var vol = Path.Combine(tmp.Path, "vol.img");
            GhostTestSupport.WriteVolumeFile(vol, 64 * 1024, 4);
            var repo = Path.Combine(tmp.Path, "repo");
            var img = GhostTestSupport.Capture(vol, repo, chunkSize: 8192);
            var drill = GhostTestSupport.Test(repo, true, img.ImageId).DrillRecords.Single();
            var bytes = File.ReadAllBytes(drill);
            var at = Encoding.UTF8.GetString(bytes).IndexOf("Passed", StringComparison.Ordinal);
            bytes[at] = 0xC3; // "Passed" becomes invalid UTF-8
            File.WriteAllBytes(drill, bytes);
            var plan = new BackupPlan { Name = "p", Host = OperatingSystemInfo.HostName, Sources = new[] { tmp.Path }, NasDestination = tmp.Path, ImageSource = vol, ImageRepository = repo };
            var ev = new NekkBackup.Core.Plans.ImageEvidenceSource().ReadAsync(plan, System.Threading.CancellationToken.None).GetAwaiter().GetResult();
            Assert.Single(ev.Runs);
            Assert.Empty(ev.Drills);
        }

        // Seed 101, ghost.chunks trial 90: a folder sat where a chunk belongs, and a capture that had to (re)store that
        // chunk threw a raw IOException ("Is a directory") from the rename.
        [Fact]
        public void FolderWhereAChunkBelongs_CaptureIsRepositoryCorrupt()
        {
            using var tmp = new TempDir("ff-chunkdir");
            var vol = Path.Combine(tmp.Path, "vol.img");
            GhostTestSupport.WriteVolumeFile(vol, 64 * 1024, 4);
            var repo = Path.Combine(tmp.Path, "repo");
            GhostTestSupport.Capture(vol, repo, chunkSize: 8192);
            var chunk = Directory.EnumerateFiles(Path.Combine(repo, "chunks"), "*", SearchOption.AllDirectories).First();
            Fuzz.HostileFs.Replace(chunk, p => { Directory.CreateDirectory(p); File.WriteAllText(Path.Combine(p, "x"), "x"); });
            var e = Assert.ThrowsAny<NekkBackupException>(() => GhostTestSupport.Capture(vol, repo));
            Assert.Equal("NekkBackup.RepositoryCorrupt", e.ErrorId);
            Assert.Contains(Path.GetFileName(chunk), e.Message);
        }

        // Seed 424242, ghost.manifest trial 6536: "volumeSha256": null passed the manifest rules (an empty digest is
        // allowed) but stayed null, and Restore-NekkGhostImage threw NullReferenceException on its Length.
        [Fact]
        public void NullVolumeDigest_ReadsAsNoDigest_RestoreIsExact()
        {
            using var tmp = new TempDir("ff-nulldigest");
            var vol = Path.Combine(tmp.Path, "vol.img");
            GhostTestSupport.WriteVolumeFile(vol, 64 * 1024, 4);
            var repo = Path.Combine(tmp.Path, "repo");
            var img = GhostTestSupport.Capture(vol, repo, chunkSize: 8192);
            var f = Path.Combine(repo, "images", img.ImageId + ".json");
            var o = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(f))!.AsObject();
            o["volumeSha256"] = null;
            File.WriteAllText(f, o.ToJsonString());
            var target = Path.Combine(tmp.Path, "restored.img");
            GhostTestSupport.Restore(repo, img.ImageId, target);
            Assert.Equal(GhostTestSupport.Sha256(vol), GhostTestSupport.Sha256(target));
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
