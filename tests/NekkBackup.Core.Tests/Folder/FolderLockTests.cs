using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Folder;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Storage;
using NekkBackup.Core.Tests.TestKit;
using Xunit;
using Xunit.Abstractions;

namespace NekkBackup.Core.Tests.Folder
{
    /// <summary>
    /// The destination lock (TargetLock under .nekkbackup/locks/, plus 0.1.0's .nekkbackup/lock during the move): a
    /// lock stolen mid-run stops the run before its manifest; two real processes racing for one destination never write
    /// at once; a run holds 0.1.0's lock file too, so an old version started meanwhile refuses.
    /// </summary>
    public class FolderLockTests
    {
        private readonly ITestOutputHelper _out;
        public FolderLockTests(ITestOutputHelper output) => _out = output;

        private static readonly LockOptions Fast = new() { Lease = TimeSpan.FromSeconds(6), RefreshInterval = TimeSpan.FromSeconds(1), ClockSkew = TimeSpan.FromSeconds(1) };

        private static void AddTakes(string dir, int count, int mb, int seed)
        {
            var rng = new Random(seed);
            Directory.CreateDirectory(dir);
            for (int i = 0; i < count; i++)
            {
                var data = new byte[mb << 20];
                rng.NextBytes(data);
                File.WriteAllBytes(Path.Combine(dir, $"take {i:00}.wav"), data);
            }
        }

        /// <summary>Another host's live lock object, as TargetLock writes it.</summary>
        private static string WriteForeignLock(string locks)
        {
            var id = Guid.NewGuid().ToString("N");
            var now = DateTime.UtcNow;
            var path = Path.Combine(locks, id + ".json");
            File.WriteAllText(path, JsonSerializer.Serialize(new
            {
                formatVersion = 1, id, host = "studio-nas-2", pid = 4242, exclusive = true, operation = "Backup-NekkFolder",
                created = now, refreshed = now, leaseSeconds = 1800.0,
            }));
            return path;
        }

        private sealed class OnFirstBytes : IRunObserver
        {
            private readonly Action _action;
            private int _done;
            public readonly RecordingObserver Inner = new();
            public OnFirstBytes(Action action) => _action = action;
            public bool Fired => Volatile.Read(ref _done) != 0;
            public void Progress(RunProgress p) { if (p.BytesDone > 0 && Interlocked.Exchange(ref _done, 1) == 0) _action(); }
            public void Message(RunMessageLevel level, string text) => Inner.Message(level, text);
            public void ItemFailed(string item, NekkBackupException error) => Inner.ItemFailed(item, error);
        }

        [Fact]
        public void Lock_StolenMidRun_StopsBeforeTheManifest_LastGoodRunIntact()
        {
            using var tmp = new TempDir("fb-steal");
            var src = StudioData.Generate(Path.Combine(tmp.Path, "Studio"), 4, 81);
            var ref1 = tmp.Sub("ref1");
            StudioData.CopyTree(src, ref1);
            var dest = Path.Combine(tmp.Path, "nas");
            var run1 = FolderKit.Backup(dest, null, false, src);
            Assert.Equal("Succeeded", run1.Status);

            AddTakes(Path.Combine(src, "Recordings"), 6, 4, 82);
            var locks = Path.Combine(dest, ".nekkbackup", "locks");
            string? thief = null;
            var obs = new OnFirstBytes(() =>
            {
                // Another host judged this run's lock stale and took the destination over.
                foreach (var f in Directory.GetFiles(locks)) File.Delete(f);
                thief = WriteForeignLock(locks);
            });
            var sw = Stopwatch.StartNew();
            var ex = Assert.Throws<FolderBackupException>(() => FolderBackupEngine.BackupAsync(new FolderBackupOptions
            {
                Sources = new[] { src }, Destination = dest, ThrottleLimit = 1, Force = true, LockOptions = Fast,
            }, obs, CancellationToken.None).GetAwaiter().GetResult());
            _out.WriteLine($"{ex.ErrorId} after {sw.Elapsed.TotalSeconds:0.0} s, {ex.Run.BytesCopied} bytes copied: {ex.Message}\n{obs.Inner.Describe()}");
            Assert.True(obs.Fired);
            Assert.Equal("NekkBackup.LockLost", ex.ErrorId);
            Assert.Equal("Failed", ex.Run.Status);
            Assert.Equal(new[] { run1.RunId }, FolderBackupEngine.GetRuns(dest).Select(r => r.RunId).ToArray());
            Assert.True(File.Exists(thief), "the new holder's lock stays");
            Assert.Single(Directory.GetFiles(locks));
            Assert.False(File.Exists(Path.Combine(dest, ".nekkbackup", "lock")), "this run's own 0.1.0 lock file is released");
            Assert.Empty(Directory.GetFiles(Path.Combine(dest, ".nekkbackup", "partial")));

            // While the other holder is live, a run is refused; the last good run restores as it was.
            var refused = Assert.ThrowsAny<NekkBackupException>(() => FolderKit.Backup(dest, null, true, src));
            Assert.Equal("NekkBackup.DestinationLocked", refused.ErrorId);
            Assert.Contains("studio-nas-2", refused.Message);
            Assert.Equal("Succeeded", FolderKit.Restore(dest, Path.Combine(tmp.Path, "r1"), run1.RunId).Status);
            FolderKit.AssertSameTree(ref1, Path.Combine(tmp.Path, "r1", "Studio"));

            // Once it is gone, the next run resumes from what had landed and commits.
            File.Delete(thief!);
            var next = FolderKit.Backup(dest, null, true, src);
            Assert.Equal("Succeeded", next.Status);
            Assert.Equal("Succeeded", FolderKit.Restore(dest, Path.Combine(tmp.Path, "r2")).Status);
            FolderKit.AssertSameTree(src, Path.Combine(tmp.Path, "r2", "Studio"));
        }

        [Fact]
        public void Lock_RunHoldsTheOldVersionsLockFileToo_AndRespectsALiveOne()
        {
            using var tmp = new TempDir("fb-legacy");
            var src = StudioData.Generate(Path.Combine(tmp.Path, "Studio"), 3, 83);
            var dest = Path.Combine(tmp.Path, "nas");
            var legacy = Path.Combine(dest, ".nekkbackup", "lock");
            JsonElement? seen = null;
            var obs = new OnFirstBytes(() => seen = JsonDocument.Parse(File.ReadAllText(legacy)).RootElement.Clone());
            var run = FolderBackupEngine.BackupAsync(new FolderBackupOptions { Sources = new[] { src }, Destination = dest, ThrottleLimit = 1 }, obs, CancellationToken.None).GetAwaiter().GetResult();
            Assert.Equal("Succeeded", run.Status);
            // What 0.1.0 reads: {host, pid, time}: live while this process runs, so an old version refuses.
            Assert.Equal(OperatingSystemInfo.HostName, seen!.Value.GetProperty("host").GetString());
            Assert.Equal(Environment.ProcessId, seen.Value.GetProperty("pid").GetInt32());
            Assert.True(DateTime.UtcNow - seen.Value.GetProperty("time").GetDateTime().ToUniversalTime() < TimeSpan.FromMinutes(5));
            Assert.False(File.Exists(legacy));
            Assert.Empty(Directory.GetFiles(Path.Combine(dest, ".nekkbackup", "locks")));

            // A live 0.1.0 run on another host (renewed a minute ago) is respected.
            File.WriteAllText(legacy, $"{{\"host\":\"old-workstation\",\"pid\":777,\"time\":\"{DateTime.UtcNow.AddMinutes(-1):o}\",\"token\":\"t\"}}");
            var ex = Assert.ThrowsAny<NekkBackupException>(() => FolderKit.Backup(dest, null, false, src));
            Assert.Equal("NekkBackup.DestinationLocked", ex.ErrorId);
            Assert.Contains("old-workstation", ex.Message);
            Assert.True(File.Exists(legacy));
            Assert.Equal("Warning", FolderKit.Test(dest, false).Status);
        }

        private sealed class Child
        {
            public Process P = null!;
            public readonly List<string> Lines = new();
            public bool Has(string prefix) { lock (Lines) return Lines.Any(l => l.StartsWith(prefix, StringComparison.Ordinal)); }
            public string Text { get { lock (Lines) return string.Join("\n", Lines); } }
        }

        private static Child Start(string dest, string src, string go)
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { FolderKit.CrashHostDll, dest, src, "--force", "--throttle", "1", "--start-at", go }) psi.ArgumentList.Add(a);
            psi.Environment["NEKKBACKUP_DATA"] = Path.Combine(Path.GetTempPath(), "nekk-crashhost-data");
            var c = new Child { P = Process.Start(psi)! };
            c.P.OutputDataReceived += (_, e) => { if (e.Data != null) lock (c.Lines) c.Lines.Add(e.Data); };
            c.P.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (c.Lines) c.Lines.Add("ERR " + e.Data); };
            c.P.BeginOutputReadLine();
            c.P.BeginErrorReadLine();
            return c;
        }

        [Fact]
        public void Lock_TwoProcessesRacingForOneDestination_NeverWriteAtOnce()
        {
            using var tmp = new TempDir("fb-race");
            var a = StudioData.Generate(Path.Combine(tmp.Path, "Alpha"), 6, 84);
            var b = StudioData.Generate(Path.Combine(tmp.Path, "Bravo"), 6, 85);
            var dest = Path.Combine(tmp.Path, "nas");
            int succeeded = 0, locked = 0;
            for (int round = 0; round < 3; round++)
            {
                if (round > 0) { StudioData.Mutate(a, 20, 90 + round); StudioData.Mutate(b, 20, 95 + round); }
                var go = Path.Combine(tmp.Path, "go" + round);
                var children = new[] { Start(dest, a, go), Start(dest, b, go) };
                var sw = Stopwatch.StartNew();
                while (!children.All(c => c.Has("PID ")) && sw.Elapsed < TimeSpan.FromSeconds(60)) Thread.Sleep(5);
                File.WriteAllText(go, "");
                foreach (var c in children)
                {
                    Assert.True(c.P.WaitForExit(180_000), "a racer did not finish:\n" + c.Text);
                    c.P.WaitForExit();
                    _out.WriteLine($"round {round}: " + c.Lines.LastOrDefault(l => l.StartsWith("RUN ") || l.StartsWith("ERROR ")));
                    if (c.Has("RUN "))
                    {
                        var run = JsonDocument.Parse(c.Lines.Single(l => l.StartsWith("RUN ")).Substring(4)).RootElement;
                        Assert.Equal("Succeeded", run.GetProperty("Status").GetString());
                        succeeded++;
                    }
                    else
                    {
                        Assert.True(c.Has("ERROR NekkBackup.DestinationLocked "), "a racer failed otherwise:\n" + c.Text);
                        locked++;
                    }
                }
            }
            _out.WriteLine($"{succeeded} runs committed, {locked} refused with DestinationLocked");
            Assert.True(succeeded >= 3, "every round commits at least one run");

            // Between taking the lock (StartedUtc) and writing its manifest (FinishedUtc) a run is alone on the destination.
            var repo = new FolderRepository(dest);
            var spans = repo.ListRunIds().Select(id => repo.LoadHeader(id)).OrderBy(h => h.StartedUtc).ToList();
            Assert.Equal(succeeded, spans.Count);
            for (int i = 1; i < spans.Count; i++)
                Assert.True(spans[i].StartedUtc >= spans[i - 1].FinishedUtc,
                    $"runs {spans[i - 1].RunId} ({spans[i - 1].StartedUtc:o} – {spans[i - 1].FinishedUtc:o}) and {spans[i].RunId} ({spans[i].StartedUtc:o}) overlap");
            Assert.Empty(Directory.GetFiles(Path.Combine(dest, ".nekkbackup", "locks")));
            Assert.False(File.Exists(Path.Combine(dest, ".nekkbackup", "lock")));

            var final = FolderKit.Backup(dest, null, true, a, b);
            Assert.Equal("Succeeded", final.Status);
            var test = FolderKit.Test(dest, true);
            Assert.True(test.Status == "Passed", string.Join("\n", test.Problems.Concat(test.Warnings)));
            var r = Path.Combine(tmp.Path, "r");
            Assert.Equal("Succeeded", FolderKit.Restore(dest, r).Status);
            FolderKit.AssertSameTree(a, Path.Combine(r, "Alpha"));
            FolderKit.AssertSameTree(b, Path.Combine(r, "Bravo"));
        }
    }
}
