using System;
using System.IO;
using System.Linq;
using NekkBackup.Core.Folder;
using NekkBackup.Core.Tests.TestKit;
using Xunit;

namespace NekkBackup.Core.Tests.Folder
{
    public class FolderBackupRoundTripTests
    {
        [Fact]
        public void ThreeRunsWithMutations_EachRunRestoresExactly_AsOfAndPartial()
        {
            using var tmp = new TempDir("fb-rt");
            var src = StudioData.Generate(Path.Combine(tmp.Path, "Studio"), 20, 11);
            var dest = Path.Combine(tmp.Path, "nas");
            var refs = new string[3];
            var runs = new NekkBackup.FolderBackupRun[3];
            for (int i = 0; i < 3; i++)
            {
                if (i > 0) StudioData.Mutate(src, 10, 100 + i);
                refs[i] = tmp.Sub("ref" + i);
                StudioData.CopyTree(src, refs[i]);
                var obs = new RecordingObserver();
                runs[i] = FolderKit.Backup(dest, obs, false, src);
                Assert.True(runs[i].Status == "Succeeded", runs[i].Status + " " + runs[i].Reason + "\n" + obs.Describe());
                // The mirror is the plain current state.
                FolderKit.AssertSameTree(refs[i], Path.Combine(dest, "Studio"));
                FolderKit.AssertSameDirs(src, Path.Combine(dest, "Studio"));
                System.Threading.Thread.Sleep(20);
            }
            Assert.True(runs[0].FilesCopied == runs[0].FilesScanned, "first run copies everything");
            Assert.True(runs[1].FilesCopied < runs[0].FilesCopied / 2, $"incremental copied {runs[1].FilesCopied}");
            Assert.True(runs[1].FilesVersioned + runs[2].FilesVersioned > 0, "old versions kept");

            for (int i = 0; i < 3; i++)
            {
                var target = Path.Combine(tmp.Path, "restore" + i);
                var r = FolderKit.Restore(dest, target, runs[i].RunId);
                Assert.Equal("Succeeded", r.Status);
                FolderKit.AssertSameTree(refs[i], Path.Combine(target, "Studio"));
                if (i == 2) FolderKit.AssertSameDirs(src, Path.Combine(target, "Studio"));
            }

            // AsOf: just before the third run → the second.
            var asOfTarget = Path.Combine(tmp.Path, "asof");
            var ra = FolderKit.Restore(dest, asOfTarget, asOf: runs[2].Started.AddMilliseconds(-1));
            Assert.Equal(runs[1].RunId, ra.RunId);
            FolderKit.AssertSameTree(refs[1], Path.Combine(asOfTarget, "Studio"));

            // Partial restore by glob, of the first run.
            var partTarget = Path.Combine(tmp.Path, "part");
            var rp = FolderKit.Restore(dest, partTarget, runs[0].RunId, paths: new[] { "**/*.wav" });
            var expected = StudioData.Digest(refs[0]).Where(kv => kv.Key.EndsWith(".wav")).ToDictionary(kv => kv.Key, kv => kv.Value);
            var got = StudioData.Digest(Path.Combine(partTarget, "Studio"));
            Assert.True(expected.Count > 0);
            Assert.True(expected.Count == got.Count && expected.All(kv => got[kv.Key] == kv.Value), StudioData.Diff(expected, got));

            // Catalog listing and per-file versions.
            var listed = FolderBackupEngine.GetRuns(dest);
            Assert.Equal(runs.Select(r => r.RunId), listed.Select(r => r.RunId));
            var changed = StudioData.Digest(refs[0]).Keys.First(k => StudioData.Digest(refs[2]).TryGetValue(k, out var h) && h != StudioData.Digest(refs[0])[k]);
            var versions = FolderBackupEngine.GetFileVersions(dest, "Studio/" + changed);
            Assert.Equal("Added", versions[0].State);
            Assert.Contains(versions, v => v.State == "Changed");
            Assert.Equal(versions.Select(v => v.Hash), FolderBackupEngine.GetFileVersions(dest, changed).Select(v => v.Hash)); // path inside the source

            // A no-change run is a stat walk: nothing copied.
            var again = FolderKit.Backup(dest, null, false, src);
            Assert.Equal("Succeeded", again.Status);
            Assert.Equal(0, again.FilesCopied);
            Assert.Equal(0, again.BytesCopied);

            var test = FolderKit.Test(dest, true);
            Assert.True(test.Status == "Passed", string.Join("\n", test.Problems.Concat(test.Warnings)));
            Assert.True(test.BytesVerified > 0);
        }

        [Fact]
        public void TwoSources_MirroredByName_NameConflictRefused()
        {
            using var tmp = new TempDir("fb-multi");
            var a = tmp.Sub("A/Sessions");
            var b = tmp.Sub("B/Bounces");
            File.WriteAllText(Path.Combine(a, "song.txt"), "la la la");
            File.WriteAllText(Path.Combine(b, "mix.txt"), "mix");
            var dest = Path.Combine(tmp.Path, "nas");
            var run = FolderKit.Backup(dest, null, false, a, b);
            Assert.Equal("Succeeded", run.Status);
            Assert.Equal("la la la", File.ReadAllText(Path.Combine(dest, "Sessions", "song.txt")));
            Assert.Equal("mix", File.ReadAllText(Path.Combine(dest, "Bounces", "mix.txt")));

            var c = tmp.Sub("C/Sessions");
            var ex = Assert.Throws<NekkBackup.Core.Errors.NekkBackupException>(() => new FolderBackupOptions { Sources = new[] { a, c }, Destination = dest }.Validate());
            Assert.Equal("NekkBackup.SourceNameConflict", ex.ErrorId);
        }

        [Fact]
        public void ChecksumMode_FindsContentChangeWithSameSizeAndTime()
        {
            using var tmp = new TempDir("fb-sum");
            var src = tmp.Sub("Proj");
            var f = Path.Combine(src, "a.bin");
            File.WriteAllBytes(f, Enumerable.Repeat((byte)1, 5000).ToArray());
            var t = File.GetLastWriteTimeUtc(f);
            var dest = Path.Combine(tmp.Path, "nas");
            FolderKit.Backup(dest, null, false, src);
            File.WriteAllBytes(f, Enumerable.Repeat((byte)2, 5000).ToArray());
            File.SetLastWriteTimeUtc(f, t);
            var plain = FolderKit.Backup(dest, null, false, src);
            Assert.Equal(0, plain.FilesCopied);
            var sum = FolderBackupEngine.BackupAsync(new FolderBackupOptions { Sources = new[] { src }, Destination = dest, Checksum = true }, new RecordingObserver(), default).Result;
            Assert.Equal(1, sum.FilesCopied);
            Assert.Equal(2, File.ReadAllBytes(Path.Combine(dest, "Proj", "a.bin"))[0]);
        }

        [Fact]
        public void IncludeExclude_Globs()
        {
            using var tmp = new TempDir("fb-glob");
            var src = tmp.Sub("S");
            Directory.CreateDirectory(Path.Combine(src, "keep", "cache"));
            File.WriteAllText(Path.Combine(src, "keep", "a.wav"), "a");
            File.WriteAllText(Path.Combine(src, "keep", "b.tmp"), "b");
            File.WriteAllText(Path.Combine(src, "keep", "cache", "c.wav"), "c");
            File.WriteAllText(Path.Combine(src, "top.wav"), "t");
            File.WriteAllText(Path.Combine(src, "notes.txt"), "n");
            var dest = Path.Combine(tmp.Path, "nas");
            var run = FolderBackupEngine.BackupAsync(new FolderBackupOptions
            {
                Sources = new[] { src },
                Destination = dest,
                Include = new[] { "*.wav", "*.tmp" },
                Exclude = new[] { "cache", "**/*.tmp" },
            }, new RecordingObserver(), default).Result;
            Assert.Equal("Succeeded", run.Status);
            var got = StudioData.Digest(Path.Combine(dest, "S")).Keys.OrderBy(x => x).ToArray();
            Assert.Equal(new[] { "keep/a.wav", "top.wav" }, got);
        }

        [Fact]
        public void Retention_DropsRunsAndUnreferencedHistory()
        {
            using var tmp = new TempDir("fb-ret");
            var src = tmp.Sub("S");
            var f = Path.Combine(src, "f.txt");
            var dest = Path.Combine(tmp.Path, "nas");
            var ids = new System.Collections.Generic.List<string>();
            for (int i = 0; i < 5; i++)
            {
                File.WriteAllText(f, "version " + i + new string('x', 2000));
                File.SetLastWriteTimeUtc(f, new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddHours(i));
                var run = FolderBackupEngine.BackupAsync(new FolderBackupOptions
                {
                    Sources = new[] { src }, Destination = dest, Force = true,
                    Retention = new RetentionPolicy { KeepLast = 2 },
                }, new RecordingObserver(), default).Result;
                Assert.Equal("Succeeded", run.Status);
                ids.Add(run.RunId);
            }
            Assert.Equal(ids.Skip(3), FolderBackupEngine.GetRuns(dest).Select(r => r.RunId));
            // Only the version the kept older run needs stays in history (the newest is the mirror).
            var objects = Directory.GetFiles(Path.Combine(dest, ".nekkbackup", "objects"), "*", SearchOption.AllDirectories);
            Assert.Single(objects);
            var r3 = FolderKit.Restore(dest, Path.Combine(tmp.Path, "r3"), ids[3]);
            Assert.Equal("Succeeded", r3.Status);
            Assert.StartsWith("version 3", File.ReadAllText(Path.Combine(tmp.Path, "r3", "S", "f.txt")));
            Assert.Equal("Passed", FolderKit.Test(dest, true).Status);
        }

        [Fact]
        public void Retention_Gfs_KeepsNewestPerBucket()
        {
            var baseT = new DateTime(2024, 3, 10, 12, 0, 0);
            var runs = Enumerable.Range(0, 10).Select(i => ("r" + i, baseT.AddDays(i / 2).AddHours(i % 2))).ToList();
            var keep = Retention.Keep(runs, new RetentionPolicy { Daily = 3 });
            Assert.Equal(new[] { "r5", "r7", "r9" }, keep.OrderBy(x => x));
            var keep2 = Retention.Keep(runs, new RetentionPolicy { KeepLast = 1, Monthly = 2 });
            Assert.Equal(new[] { "r9" }, keep2.OrderBy(x => x));
        }
    }
}

namespace NekkBackup.Core.Tests.Folder
{
    public class FolderBackupEdgeTests
    {
        [Fact]
        public void FileBecomesFolderAndBack_EveryRunRestores()
        {
            using var tmp = new TempDir("fb-type");
            var src = tmp.Sub("S");
            var x = Path.Combine(src, "X");
            var dest = Path.Combine(tmp.Path, "nas");
            var refs = new System.Collections.Generic.List<(string Run, string Ref)>();
            void Round(int i)
            {
                var r = tmp.Sub("ref" + i);
                StudioData.CopyTree(src, r);
                var run = FolderKit.Backup(dest, null, true, src);
                Assert.Equal("Succeeded", run.Status);
                refs.Add((run.RunId, r));
            }
            File.WriteAllText(Path.Combine(src, "keep.txt"), "k");
            File.WriteAllText(x, "I am a file");
            Round(0);
            File.Delete(x);
            Directory.CreateDirectory(x);
            File.WriteAllText(Path.Combine(x, "y.txt"), "I am inside a folder");
            Round(1);
            Directory.Delete(x, true);
            File.WriteAllText(x, "a file again, longer");
            Round(2);
            for (int i = 0; i < refs.Count; i++)
            {
                var t = Path.Combine(tmp.Path, "t" + i);
                Assert.Equal("Succeeded", FolderKit.Restore(dest, t, refs[i].Run).Status);
                FolderKit.AssertSameTree(refs[i].Ref, Path.Combine(t, "S"));
            }
            Assert.Equal("Passed", FolderKit.Test(dest, true).Status);
        }

        [Fact]
        public void FileVersions_States()
        {
            using var tmp = new TempDir("fb-states");
            var src = tmp.Sub("S");
            var f = Path.Combine(src, "mix.txt");
            for (int i = 0; i < 5; i++) File.WriteAllText(Path.Combine(src, $"other{i}.txt"), "o" + i);
            var dest = Path.Combine(tmp.Path, "nas");
            void Run() => Assert.Equal("Succeeded", FolderKit.Backup(dest, null, true, src).Status);
            File.WriteAllText(f, "v1"); Run();
            File.WriteAllText(f, "v2, longer"); Run();
            Run();
            File.Delete(f); Run();
            File.WriteAllText(f, "v3"); Run();
            var v = FolderBackupEngine.GetFileVersions(dest, "S/mix.txt");
            Assert.Equal(new[] { "Added", "Changed", "Unchanged", "Deleted", "Added" }, v.Select(x => x.State));
            Assert.Equal(10, v[1].Size);
            Assert.Null(v[3].Hash);
            Assert.Equal(v[0].RunId, FolderBackupEngine.GetRuns(dest)[0].RunId);
        }

        [Fact]
        public void DamagedLatestManifest_TestNamesIt_NextBackupStillRuns()
        {
            using var tmp = new TempDir("fb-badman");
            var src = tmp.Sub("S");
            File.WriteAllText(Path.Combine(src, "a.txt"), "a");
            var dest = Path.Combine(tmp.Path, "nas");
            var run1 = FolderKit.Backup(dest, null, false, src);
            File.WriteAllText(Path.Combine(src, "b.txt"), "b");
            var run2 = FolderKit.Backup(dest, null, true, src);
            var m2 = Path.Combine(dest, ".nekkbackup", "runs", run2.RunId + ".json");
            File.WriteAllText(m2, File.ReadAllText(m2).Substring(0, 40));
            var test = FolderKit.Test(dest, false);
            Assert.Equal("Failed", test.Status);
            Assert.Contains(test.Problems, p => p.Contains(run2.RunId));
            Assert.Equal(new[] { "Succeeded", "Damaged" }, FolderBackupEngine.GetRuns(dest).Select(r => r.Status));
            var obs = new RecordingObserver();
            var run3 = FolderKit.Backup(dest, obs, true, src);
            Assert.Equal("Succeeded", run3.Status);
            Assert.Contains(obs.Messages, m => m.Contains(run2.RunId));
            var r = Path.Combine(tmp.Path, "r");
            Assert.Equal("Succeeded", FolderKit.Restore(dest, r, run3.RunId).Status);
            Assert.Equal("b", File.ReadAllText(Path.Combine(r, "S", "b.txt")));
        }

        [Fact]
        public void EmptyFoldersAndFolderTimes_MirroredAndRestored()
        {
            using var tmp = new TempDir("fb-dirs");
            var src = tmp.Sub("Session");
            Directory.CreateDirectory(Path.Combine(src, "Audio Files"));
            Directory.CreateDirectory(Path.Combine(src, "Bounced Files", "Stems"));
            File.WriteAllText(Path.Combine(src, "song.ptx"), "session");
            var t0 = new DateTime(2023, 5, 1, 10, 0, 0, DateTimeKind.Utc);
            foreach (var d in Directory.GetDirectories(src, "*", SearchOption.AllDirectories)) Directory.SetLastWriteTimeUtc(d, t0);
            var dest = Path.Combine(tmp.Path, "nas");
            var run1 = FolderKit.Backup(dest, null, false, src);
            FolderKit.AssertSameDirs(src, Path.Combine(dest, "Session"));

            // Files land in a folder, another empty folder goes away.
            File.WriteAllText(Path.Combine(src, "Audio Files", "take 1.wav"), "take");
            Directory.SetLastWriteTimeUtc(Path.Combine(src, "Audio Files"), t0.AddDays(1));
            Directory.Delete(Path.Combine(src, "Bounced Files", "Stems"));
            Directory.SetLastWriteTimeUtc(Path.Combine(src, "Bounced Files"), t0.AddDays(2));
            var run2 = FolderKit.Backup(dest, null, true, src);
            Assert.Equal("Succeeded", run2.Status);
            FolderKit.AssertSameDirs(src, Path.Combine(dest, "Session"));

            var r1 = Path.Combine(tmp.Path, "r1");
            FolderKit.Restore(dest, r1, run1.RunId);
            Assert.True(Directory.Exists(Path.Combine(r1, "Session", "Bounced Files", "Stems")));
            Assert.Equal(t0, Directory.GetLastWriteTimeUtc(Path.Combine(r1, "Session", "Audio Files")));
            var r2 = Path.Combine(tmp.Path, "r2");
            FolderKit.Restore(dest, r2, run2.RunId);
            FolderKit.AssertSameDirs(src, Path.Combine(r2, "Session"));
            Assert.Equal("Passed", FolderKit.Test(dest, true).Status);
        }

        [Fact]
        public void InterruptedRun_ThenSourceReverted_NextRunRecordsTheRevert()
        {
            using var tmp = new TempDir("fb-revert");
            var src = tmp.Sub("S");
            var f = Path.Combine(src, "take.wav");
            var v1 = new byte[3 << 20];
            new Random(1).NextBytes(v1);
            File.WriteAllBytes(f, v1);
            for (int i = 0; i < 5; i++) File.WriteAllText(Path.Combine(src, $"n{i}.txt"), "note " + i);
            var t1 = File.GetLastWriteTimeUtc(f);
            var dest = Path.Combine(tmp.Path, "nas");
            var run1 = FolderKit.Backup(dest, null, false, src);

            // A second version lands, then the run is cancelled before its manifest.
            var v2 = new byte[3 << 20];
            new Random(2).NextBytes(v2);
            File.WriteAllBytes(f, v2);
            File.WriteAllText(Path.Combine(src, "n0.txt"), "note 0, edited");
            File.SetLastWriteTimeUtc(Path.Combine(src, "n0.txt"), DateTime.UtcNow.AddMinutes(1));
            using (var cts = new System.Threading.CancellationTokenSource())
            {
                var obs = new CancelAfterLandingObserver(cts, Path.Combine(src, "n0.txt"));
                var r = FolderBackupEngine.BackupAsync(new FolderBackupOptions { Sources = new[] { src }, Destination = dest, ThrottleLimit = 1, Force = true }, obs, cts.Token).Result;
                Assert.Equal("Cancelled", r.Status);
                Assert.Single(Directory.GetFiles(Path.Combine(dest, ".nekkbackup", "journal")));
                Assert.Equal(v2, File.ReadAllBytes(Path.Combine(dest, "S", "take.wav"))); // version 2 had landed
            }
            // The user reverts the file (same bytes, same time as version 1).
            File.WriteAllBytes(f, v1);
            File.SetLastWriteTimeUtc(f, t1);
            File.WriteAllText(Path.Combine(src, "n0.txt"), "note 0");
            var run3 = FolderKit.Backup(dest, null, true, src);
            Assert.Equal("Succeeded", run3.Status);
            Assert.Equal(v1, File.ReadAllBytes(Path.Combine(dest, "S", "take.wav")));
            foreach (var id in new[] { run1.RunId, run3.RunId })
            {
                var t = Path.Combine(tmp.Path, "r" + id);
                Assert.Equal("Succeeded", FolderKit.Restore(dest, t, id).Status);
                Assert.Equal(v1, File.ReadAllBytes(Path.Combine(t, "S", "take.wav")));
            }
            Assert.Equal("Passed", FolderKit.Test(dest, true).Status);
        }

        private sealed class CancelAfterLandingObserver : NekkBackup.Core.Observability.IRunObserver
        {
            private readonly System.Threading.CancellationTokenSource _cts;
            private readonly string _vanish;
            // While the big file copies, a small one vanishes; its failure (after the big one landed) cancels the run.
            public CancelAfterLandingObserver(System.Threading.CancellationTokenSource cts, string vanish) { _cts = cts; _vanish = vanish; }
            public void Progress(NekkBackup.Core.Observability.RunProgress p) { if (p.BytesDone > 0) File.Delete(_vanish); }
            public void Message(NekkBackup.Core.Observability.RunMessageLevel level, string text) { }
            public void ItemFailed(string item, NekkBackup.Core.Errors.NekkBackupException error) => _cts.Cancel();
        }
    }
}
