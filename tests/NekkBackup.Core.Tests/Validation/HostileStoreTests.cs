using System;
using System.Collections;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Folder;
using NekkBackup.Core.Imaging;
using NekkBackup.Core.Plans;
using NekkBackup.Core.Tests.Folder;
using NekkBackup.Core.Tests.Fuzz;
using NekkBackup.Core.Tests.Imaging;
using NekkBackup.Core.Tests.Plans;
using NekkBackup.Core.Tests.TestKit;
using Xunit;

namespace NekkBackup.Core.Tests.Validation
{
    /// <summary>
    /// Regression tests for issue 11's findings 1–7 (hostile and broken destinations): each one failed on the code
    /// before the validation layer. Every call runs under a watchdog; everything beside the store is snapshotted
    /// before and compared after, so a write outside it fails the test.
    /// </summary>
    public sealed class HostileStoreTests
    {
        private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

        private static T Call<T>(TempDir tmp, Func<T> body)
        {
            var o = Watchdog.Run(body, Deadline, tmp.Path);
            Assert.False(o.Hung, "the call hung (no answer within " + Deadline.TotalSeconds + " s)");
            if (o.Error != null) throw o.Error;
            return o.Value!;
        }

        private static NekkBackupException Fails<T>(TempDir tmp, Func<T> body, string errorId)
        {
            var o = Watchdog.Run(body, Deadline, tmp.Path);
            Assert.False(o.Hung, "the call hung (no answer within " + Deadline.TotalSeconds + " s)");
            var ex = Assert.IsAssignableFrom<NekkBackupException>(o.Error);
            Assert.Equal(errorId, ex.ErrorId);
            return ex;
        }

        private static (string Src, string Dest, FolderBackupRun Run) FolderFixture(TempDir tmp)
        {
            var src = tmp.Sub("S");
            Directory.CreateDirectory(Path.Combine(src, "sub"));
            File.WriteAllText(Path.Combine(src, "a.txt"), "alpha");
            File.WriteAllText(Path.Combine(src, "sub", "b.txt"), "bravo");
            File.WriteAllBytes(Path.Combine(src, "c.bin"), Enumerable.Range(0, 5000).Select(i => unchecked((byte)i)).ToArray());
            var dest = Path.Combine(tmp.Path, "a", "b", "nas");
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            var run = FolderKit.Backup(dest, null, false, src);
            Assert.Equal("Succeeded", run.Status);
            return (src, dest, run);
        }

        private static string ManifestFile(string dest, string runId) => Path.Combine(dest, ".nekkbackup", "runs", runId + ".json");

        private static void EditManifest(string dest, string runId, Action<JsonObject> edit)
        {
            var f = ManifestFile(dest, runId);
            var o = JsonNode.Parse(File.ReadAllText(f))!.AsObject();
            edit(o);
            File.WriteAllText(f, o.ToJsonString());
        }

        private static JsonObject Entry(JsonObject manifest, string path) =>
            manifest["Entries"]!.AsArray().Select(e => e!.AsObject()).First(e => (string?)e["p"] == path);

        private static (string Repo, GhostImage Image) GhostFixture(TempDir tmp)
        {
            var vol = Path.Combine(tmp.Path, "vol.img");
            GhostTestSupport.WriteVolumeFile(vol, 256 * 1024, 11, zeroFrom: 64 * 1024, zeroLength: 64 * 1024);
            var repo = Path.Combine(tmp.Path, "a", "b", "repo");
            Directory.CreateDirectory(Path.GetDirectoryName(repo)!);
            var img = GhostTestSupport.Capture(vol, repo, chunkSize: 16 * 1024);
            return (repo, img);
        }

        private static void EditImage(string repo, string imageId, Action<JsonObject> edit)
        {
            var f = Path.Combine(repo, "images", imageId + ".json");
            var o = JsonNode.Parse(File.ReadAllText(f))!.AsObject();
            edit(o);
            File.WriteAllText(f, o.ToJsonString());
        }

        // ---------------------------------------------------------------- 1. writes outside the repository

        [Fact]
        public void Finding1_ImageIdWithTraversal_DrillNeverWrittenOutside_NotPassed()
        {
            using var tmp = new TempDir("hostile1");
            var (repo, img) = GhostFixture(tmp);
            var outside = tmp.Sub("outside");
            var bait = Path.Combine(outside, "pwn-drill.json");
            File.WriteAllText(bait, "{\"keep\":true}");
            EditImage(repo, img.ImageId, o => o["imageId"] = "/../../../../outside/pwn-drill");
            var before = TreeSnapshot.Take(tmp.Path, repo);

            var result = Call(tmp, () => GhostTestSupport.Test(repo, true));

            Assert.Empty(before.Diff(TreeSnapshot.Take(tmp.Path, repo)));
            Assert.Equal("{\"keep\":true}", File.ReadAllText(bait));
            Assert.Equal("Failed", result.Status);
            Assert.Contains(result.Problems, p => p.Problem == "ManifestCorrupt" && p.Message.Contains("imageId"));
        }

        // ---------------------------------------------------------------- 2. writes outside the destination

        [Theory]
        [InlineData("../../../../x/pwn")]
        [InlineData("ABSOLUTE")]
        [InlineData("sub/dir")]
        [InlineData("..")]
        [InlineData("NUL")]
        public void Finding2_PlanHostThatIsAPath_IsInvalidPlan(string host)
        {
            using var tmp = new TempDir("hostile2");
            if (host == "ABSOLUTE") host = Path.Combine(tmp.Path, "Outside", "PWN");
            var h = PlanTestData.Minimal();
            h["Host"] = host;
            var ex = Assert.Throws<NekkBackupException>(() => PlanParser.Parse(h, "/etc/nekk/p.psd1"));
            Assert.Equal("NekkBackup.InvalidPlan", ex.ErrorId);
            Assert.Contains("'Host'", ex.Message);
        }

        [Fact]
        public void Finding2_PlanHistory_NeverAppendsOutsideTheDestination()
        {
            using var tmp = new TempDir("hostile2b");
            var nas = tmp.Sub("a/b/c/nas");
            var plan = new BackupPlan { Name = "p", Host = "../../../../x/pwn", Sources = new[] { tmp.Sub("src") }, NasDestination = nas };
            var before = TreeSnapshot.Take(tmp.Path, nas);
            var problems = PlanHistoryStore.Append(plan, new[] { new PlanHistoryEntry { Plan = "p", Job = "Folder", Step = "Backup", Status = "Succeeded" } });
            Assert.Empty(before.Diff(TreeSnapshot.Take(tmp.Path, nas)));
            Assert.Contains(problems, p => p.Contains("UnsafePath") || p.Contains("Host"));
        }

        // ---------------------------------------------------------------- 3. hangs

        [Fact]
        public void Finding3_FifoAsRunManifest_GetTestRestoreAnswer()
        {
            using var tmp = new TempDir("hostile3a");
            var (_, dest, run) = FolderFixture(tmp);
            HostileFs.Replace(ManifestFile(dest, run.RunId), HostileFs.MakeFifo);

            var runs = Call(tmp, () => FolderBackupEngine.GetRuns(dest));
            Assert.Contains(runs, r => r.Status == "Damaged" && r.Reason!.Contains("FIFO"));
            var test = Call(tmp, () => FolderKit.Test(dest, false));
            Assert.Contains(test.Problems, p => p.Contains("FIFO"));
            Fails(tmp, () => FolderKit.Restore(dest, Path.Combine(tmp.Path, "t"), runId: run.RunId), "NekkBackup.CorruptCatalog");
        }

        [Fact]
        public void Finding3_FifoAsMirrorFile_TestRestoreAndNextBackupAnswer()
        {
            using var tmp = new TempDir("hostile3b");
            var (src, dest, _) = FolderFixture(tmp);
            File.WriteAllBytes(Path.Combine(src, "empty.txt"), Array.Empty<byte>());
            var run2 = FolderKit.Backup(dest, null, true, src);
            // A FIFO where a mirror file belongs, with the recorded time (size 0 matches the empty file's record).
            var empty = Path.Combine(dest, "S", "empty.txt");
            var mtime = File.GetLastWriteTimeUtc(empty);
            HostileFs.Replace(empty, HostileFs.MakeFifo);
            File.SetLastWriteTimeUtc(empty, mtime);
            HostileFs.Replace(Path.Combine(dest, "S", "a.txt"), HostileFs.MakeFifo);

            var test = Call(tmp, () => FolderKit.Test(dest, true));
            Assert.Contains(test.Problems, p => p.Contains("S/empty.txt") && p.Contains("FIFO"));
            var obs = new RecordingObserver();
            var target = Path.Combine(tmp.Path, "t");
            var r = Call(tmp, () => FolderKit.Restore(dest, target, obs: obs));
            Assert.Equal("CompletedWithErrors", r.Status);
            Assert.Contains(obs.Failed, f => f.Item == "S/a.txt");
            Assert.Equal("bravo", File.ReadAllText(Path.Combine(target, "S", "sub", "b.txt")));

            // The next backup displaces the changed file's mirror copy: it must not hash the FIFO.
            File.WriteAllText(Path.Combine(src, "a.txt"), "alpha, second take");
            var run3 = Call(tmp, () => FolderKit.Backup(dest, new RecordingObserver(), true, src));
            Assert.NotEqual(run2.RunId, run3.RunId);
            Assert.Equal("alpha, second take", File.ReadAllText(Path.Combine(dest, "S", "a.txt")));
        }

        [Fact]
        public void Finding3_FifoAsGhostChunk_TestAnswers()
        {
            using var tmp = new TempDir("hostile3c");
            var (repo, img) = GhostFixture(tmp);
            var chunk = Directory.EnumerateFiles(Path.Combine(repo, "chunks"), "*", SearchOption.AllDirectories).First();
            HostileFs.Replace(chunk, HostileFs.MakeFifo);
            var quick = Call(tmp, () => GhostTestSupport.Test(repo, false, img.ImageId));
            Assert.Equal("Failed", quick.Status);
            var drill = Call(tmp, () => GhostTestSupport.Test(repo, true, img.ImageId));
            Assert.Equal("Failed", drill.Status);
            Fails(tmp, () => GhostTestSupport.Restore(repo, img.ImageId, Path.Combine(tmp.Path, "restored.img")), "NekkBackup.ChunkCorrupt");
        }

        [Fact]
        public void Finding3_HashThatIsAnAbsolutePath_NeverOpened()
        {
            using var tmp = new TempDir("hostile3d");
            var (_, dest, run) = FolderFixture(tmp);
            EditManifest(dest, run.RunId, m => Entry(m, "S/c.bin")["h"] = "/dev/zero");
            File.Delete(Path.Combine(dest, "S", "c.bin"));
            var obs = new RecordingObserver();
            var target = Path.Combine(tmp.Path, "t");
            var r = Call(tmp, () => FolderKit.Restore(dest, target, obs: obs));
            Assert.Contains(obs.Failed, f => f.Item == "S/c.bin" && f.Error.ErrorId == "NekkBackup.CorruptCatalog" && f.Error.Message.Contains(".h'"));
            Assert.Equal("alpha", File.ReadAllText(Path.Combine(target, "S", "a.txt")));
            Assert.Equal(2, r.FilesRestored);
            Assert.Contains(Call(tmp, () => FolderKit.Test(dest, true)).Problems, p => p.Contains("S/c.bin"));
        }

        [Fact]
        public void Finding3_IndexFilePointingElsewhere_NeverOpened()
        {
            using var tmp = new TempDir("hostile3e");
            var (repo, img) = GhostFixture(tmp);
            EditImage(repo, img.ImageId, o => o["indexFile"] = "/dev/zero");
            var t = Call(tmp, () => GhostTestSupport.Test(repo, false));
            Assert.Contains(t.Problems, p => p.Problem == "ManifestCorrupt" && p.Message.Contains("indexFile"));
            Fails(tmp, () => GhostTestSupport.Restore(repo, img.ImageId, Path.Combine(tmp.Path, "r.img")), "NekkBackup.ManifestCorrupt");
        }

        // ---------------------------------------------------------------- 4. amplification

        [Fact]
        public void Finding4_ManifestRepeatingOneEntry_RestoresItOnceAtMost()
        {
            using var tmp = new TempDir("hostile4");
            var (_, dest, run) = FolderFixture(tmp);
            EditManifest(dest, run.RunId, m =>
            {
                var e = Entry(m, "S/a.txt");
                var list = m["Entries"]!.AsArray();
                for (int i = 0; i < 30000; i++) list.Add(e.DeepClone());
            });
            var obs = new RecordingObserver();
            var target = Path.Combine(tmp.Path, "t");
            var r = Call(tmp, () => FolderKit.Restore(dest, target, obs: obs));
            Assert.True(r.FilesRestored <= 3, $"{r.FilesRestored} files restored from a 3-file backup");
            Assert.Single(obs.Failed, f => f.Item == "S/a.txt" && f.Error.ErrorId == "NekkBackup.CorruptCatalog");
            Assert.Equal("bravo", File.ReadAllText(Path.Combine(target, "S", "sub", "b.txt")));
        }

        // ---------------------------------------------------------------- 5. raw .NET exceptions

        [Fact]
        public void Finding5_FormatFileWithWrongTypes_IsCorruptCatalog()
        {
            using var tmp = new TempDir("hostile5a");
            var (_, dest, _) = FolderFixture(tmp);
            File.WriteAllText(Path.Combine(dest, ".nekkbackup", "format.json"), "{\"format\":5,\"version\":\"one\"}");
            var ex = Fails(tmp, () => FolderBackupEngine.GetRuns(dest), "NekkBackup.CorruptCatalog");
            Assert.Contains("format.json", ex.Message);
            Fails(tmp, () => FolderKit.Test(dest, false), "NekkBackup.CorruptCatalog");
        }

        [Fact]
        public void Finding5_DanglingLinkAsRunManifest_IsCorruptCatalog()
        {
            using var tmp = new TempDir("hostile5b");
            var (_, dest, run) = FolderFixture(tmp);
            HostileFs.Replace(ManifestFile(dest, run.RunId), HostileFs.MakeDangling);
            var ex = Fails(tmp, () => FolderKit.Restore(dest, Path.Combine(tmp.Path, "t")), "NekkBackup.CorruptCatalog");
            Assert.Contains(run.RunId, ex.Message);
            Assert.Contains(Call(tmp, () => FolderKit.Test(dest, false)).Problems, p => p.Contains(run.RunId));
        }

        [Fact]
        public void Finding5_NullEntry_IsOneItemError_RestRestored()
        {
            using var tmp = new TempDir("hostile5c");
            var (_, dest, run) = FolderFixture(tmp);
            EditManifest(dest, run.RunId, m => m["Entries"]!.AsArray().Insert(0, null));
            var obs = new RecordingObserver();
            var target = Path.Combine(tmp.Path, "t");
            var r = Call(tmp, () => FolderKit.Restore(dest, target, obs: obs));
            Assert.Equal("CompletedWithErrors", r.Status);
            Assert.Contains(obs.Failed, f => f.Error.ErrorId == "NekkBackup.CorruptCatalog" && f.Error.Message.Contains("Entries[0]"));
            Assert.Equal("alpha", File.ReadAllText(Path.Combine(target, "S", "a.txt")));
            Assert.Contains(Call(tmp, () => FolderKit.Test(dest, false)).Problems, p => p.Contains("Entries[0]"));
        }

        // ---------------------------------------------------------------- 6. unclear errors

        [Fact]
        public void Finding6_EmptyHash_NamedItemError()
        {
            using var tmp = new TempDir("hostile6a");
            var (_, dest, run) = FolderFixture(tmp);
            EditManifest(dest, run.RunId, m => Entry(m, "S/a.txt")["h"] = "");
            var obs = new RecordingObserver();
            var r = Call(tmp, () => FolderKit.Restore(dest, Path.Combine(tmp.Path, "t"), obs: obs));
            Assert.Equal(2, r.FilesRestored);
            Assert.Contains(obs.Failed, f => f.Item == "S/a.txt" && f.Error.ErrorId == "NekkBackup.CorruptCatalog" && f.Error.Message.Contains(".h'"));
        }

        [Fact]
        public void Finding6_EmptyLinkTarget_OneItemError_RestRestored()
        {
            using var tmp = new TempDir("hostile6b");
            var (_, dest, run) = FolderFixture(tmp);
            EditManifest(dest, run.RunId, m => m["Entries"]!.AsArray().Add(new JsonObject { ["p"] = "S/link", ["s"] = 0, ["m"] = DateTime.UtcNow.Ticks, ["l"] = "" }));
            var obs = new RecordingObserver();
            var target = Path.Combine(tmp.Path, "t");
            var r = Call(tmp, () => FolderKit.Restore(dest, target, obs: obs));
            Assert.Equal(3, r.FilesRestored);
            Assert.Contains(obs.Failed, f => f.Item == "S/link" && f.Error.ErrorId == "NekkBackup.CorruptCatalog");
        }

        [Fact]
        public void Finding6_NulInPath_TestAndRestoreBothSayUnsafePath()
        {
            using var tmp = new TempDir("hostile6c");
            var (_, dest, run) = FolderFixture(tmp);
            EditManifest(dest, run.RunId, m => Entry(m, "S/a.txt")["p"] = "S/a\0.txt");
            var test = Call(tmp, () => FolderKit.Test(dest, false));
            Assert.Contains(test.Problems, p => p.Contains("UnsafePath") && p.Contains("NUL"));
            var obs = new RecordingObserver();
            Call(tmp, () => FolderKit.Restore(dest, Path.Combine(tmp.Path, "t"), obs: obs));
            Assert.Contains(obs.Failed, f => f.Error.ErrorId == "NekkBackup.UnsafePath" && f.Error.Message.Contains("NUL"));
        }

        [Fact]
        public void Finding6_NegativeImageSize_IsManifestCorrupt()
        {
            using var tmp = new TempDir("hostile6d");
            var (repo, img) = GhostFixture(tmp);
            EditImage(repo, img.ImageId, o => o["sizeBytes"] = -1);
            var ex = Fails(tmp, () => GhostTestSupport.Restore(repo, img.ImageId, Path.Combine(tmp.Path, "r.img")), "NekkBackup.ManifestCorrupt");
            Assert.Contains("sizeBytes", ex.Message);
            Assert.Contains(Call(tmp, () => GhostTestSupport.Test(repo, false)).Problems, p => p.Problem == "ManifestCorrupt" && p.Message.Contains("sizeBytes"));
        }

        [Fact]
        public void Finding6_LocksFolderReplacedByAFile_IsRepositoryCorrupt()
        {
            using var tmp = new TempDir("hostile6e");
            var (repo, img) = GhostFixture(tmp);
            HostileFs.Replace(Path.Combine(repo, "locks"), p => File.WriteAllText(p, "not a folder"));
            var ex = Fails(tmp, () => GhostTestSupport.Test(repo, false), "NekkBackup.RepositoryCorrupt");
            Assert.Contains("locks", ex.Message);
            Fails(tmp, () => GhostTestSupport.Restore(repo, img.ImageId, Path.Combine(tmp.Path, "r.img")), "NekkBackup.RepositoryCorrupt");
        }

        // ---------------------------------------------------------------- 7. links inside the metadata

        [Fact]
        public void Finding7_DrillsFolderLinkedOutside_NothingWrittenThroughIt()
        {
            using var tmp = new TempDir("hostile7a");
            var (repo, img) = GhostFixture(tmp);
            var outside = tmp.Sub("outside");
            HostileFs.Replace(Path.Combine(repo, "drills"), p => HostileFs.MakeDirLink(p, outside));
            var before = TreeSnapshot.Take(tmp.Path, repo);
            Fails(tmp, () => GhostTestSupport.Test(repo, true, img.ImageId), "NekkBackup.UnsafePath");
            Assert.Empty(before.Diff(TreeSnapshot.Take(tmp.Path, repo)));
            Assert.Empty(Directory.GetFileSystemEntries(outside));
        }

        [Fact]
        public void Finding7_SelfLinkAsRunManifest_IsCorruptCatalog()
        {
            using var tmp = new TempDir("hostile7b");
            var (_, dest, run) = FolderFixture(tmp);
            HostileFs.Replace(ManifestFile(dest, run.RunId), HostileFs.MakeSelfLink);
            Fails(tmp, () => FolderKit.Restore(dest, Path.Combine(tmp.Path, "t")), "NekkBackup.CorruptCatalog");
            Assert.Contains(Call(tmp, () => FolderBackupEngine.GetRuns(dest)), r => r.Status == "Damaged");
            Assert.Contains(Call(tmp, () => FolderKit.Test(dest, false)).Problems, p => p.Contains(run.RunId));
        }

        [Fact]
        public void Finding7_AbsoluteMixedCaseHost_NoFileInTheLowerCasedTwin()
        {
            using var tmp = new TempDir("hostile7c");
            var upper = tmp.Sub("Outside");
            var h = PlanTestData.Minimal();
            h["NasDestination"] = tmp.Sub("nas");
            h["Host"] = Path.Combine(upper, "PWN");
            var ex = Assert.Throws<NekkBackupException>(() => PlanParser.Parse(h, Path.Combine(tmp.Path, "p.psd1")));
            Assert.Equal("NekkBackup.InvalidPlan", ex.ErrorId);
            Assert.False(Directory.Exists(upper.ToLowerInvariant()) && upper != upper.ToLowerInvariant());
        }

        [Fact]
        public void Finding7_MirrorFolderLinkedOutside_BackupNeverWritesThroughIt()
        {
            using var tmp = new TempDir("hostile7d");
            var (src, dest, _) = FolderFixture(tmp);
            var outside = tmp.Sub("outside");
            File.WriteAllText(Path.Combine(outside, "b.txt"), "victim");
            HostileFs.Replace(Path.Combine(dest, "S", "sub"), p => HostileFs.MakeDirLink(p, outside));
            File.WriteAllText(Path.Combine(src, "sub", "b.txt"), "bravo changed");
            File.WriteAllText(Path.Combine(src, "sub", "new.txt"), "new");
            var before = TreeSnapshot.Take(tmp.Path, dest, src);
            var obs = new RecordingObserver();
            Call(tmp, () => FolderKit.Backup(dest, obs, true, src));
            Assert.Empty(before.Diff(TreeSnapshot.Take(tmp.Path, dest, src)));
            Assert.Equal("victim", File.ReadAllText(Path.Combine(outside, "b.txt")));
        }
    }
}
