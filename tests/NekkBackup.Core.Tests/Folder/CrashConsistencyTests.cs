using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using NekkBackup.Core.Folder;
using NekkBackup.Core.Tests.TestKit;
using Xunit;
using Xunit.Abstractions;

namespace NekkBackup.Core.Tests.Folder
{
    /// <summary>
    /// Kills a real backup process (NekkBackup.CrashHost) at random moments, mutating the source
    /// between some rounds. After every kill: Test passes (an interrupted run is only a warning) and
    /// the last good run restores byte for byte; at the end a clean run does not recopy what landed.
    /// </summary>
    public class CrashConsistencyTests
    {
        private readonly ITestOutputHelper _out;
        public CrashConsistencyTests(ITestOutputHelper output) => _out = output;

        private sealed class Child
        {
            public Process P = null!;
            public readonly ManualResetEventSlim Started = new();
            public readonly System.Text.StringBuilder Out = new();
        }

        private static Child Start(string dest, string src)
        {
            var psi = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var a in new[] { FolderKit.CrashHostDll, dest, src, "--force", "--throttle", "2" }) psi.ArgumentList.Add(a);
            psi.Environment["NEKKBACKUP_DATA"] = Path.Combine(Path.GetTempPath(), "nekk-crashhost-data");
            var c = new Child();
            c.P = Process.Start(psi)!;
            c.P.OutputDataReceived += (_, e) =>
            {
                if (e.Data == null) return;
                lock (c.Out) c.Out.AppendLine(e.Data);
                if (e.Data.StartsWith("PID ")) c.Started.Set();
            };
            c.P.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (c.Out) c.Out.AppendLine(e.Data); };
            c.P.BeginOutputReadLine();
            c.P.BeginErrorReadLine();
            return c;
        }

        [Fact]
        public void KilledAtRandomMoments_LastGoodRunAlwaysRestores_NextRunResumes()
        {
            using var tmp = new TempDir("fb-crash");
            var src = StudioData.Generate(Path.Combine(tmp.Path, "Studio"), 30, 31);
            var dest = Path.Combine(tmp.Path, "nas");
            var rng = new Random(4242);
            int refNo = 0;
            string currentRef = tmp.Sub("ref0");
            StudioData.CopyTree(src, currentRef);
            string? lastGoodRef = null, lastGoodRun = null;
            int rounds = 0, interrupted = 0, completed = 0;
            var sw = Stopwatch.StartNew();

            // Rounds until 22 kills have hit a running backup (bounded).
            for (int round = 0; interrupted < 22 && round < 80; round++, rounds++)
            {
                if (round > 0)
                {
                    if (round % 3 == 0) StudioData.Mutate(src, 10, 500 + round);
                    // Also rewrite the big recordings so there are long copies to interrupt.
                    foreach (var big in Directory.GetFiles(src, "*.wav", SearchOption.AllDirectories).Where(f => new FileInfo(f).Length > (1 << 20)))
                    {
                        var data = File.ReadAllBytes(big);
                        new Random(round).NextBytes(data.AsSpan(44, Math.Min(data.Length - 44, 1 << 20)));
                        File.WriteAllBytes(big, data);
                        File.SetLastWriteTimeUtc(big, new DateTime(2025, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddMinutes(round));
                    }
                    currentRef = tmp.Sub("ref" + (++refNo));
                    StudioData.CopyTree(src, currentRef);
                }

                var child = Start(dest, src);
                Assert.True(child.Started.Wait(TimeSpan.FromSeconds(30)), "child did not start: " + child.Out);
                int delay = rng.Next(5, 400);
                bool letFinish = round % 6 == 5; // now and then a run completes: a new last good run
                if (letFinish) Assert.True(child.P.WaitForExit(120_000), "run did not finish");
                else Thread.Sleep(delay);
                bool wasRunning = !child.P.HasExited;
                if (wasRunning)
                {
                    child.P.Kill();
                    interrupted++;
                }
                Assert.True(child.P.WaitForExit(30_000), "child did not exit");
                child.P.WaitForExit();
                if (!wasRunning) lock (child.Out) Assert.True(child.Out.ToString().Contains("RUN {"), "a run that was not killed failed: " + child.Out);

                var runs = Directory.Exists(Path.Combine(dest, ".nekkbackup", "runs")) ? FolderBackupEngine.GetRuns(dest) : Array.Empty<NekkBackup.FolderBackupRun>();
                if (runs.Count > 0 && runs[runs.Count - 1].RunId != lastGoodRun)
                {
                    lastGoodRun = runs[runs.Count - 1].RunId;
                    lastGoodRef = currentRef;
                    completed++;
                    if (runs.Count > 1 && runs[runs.Count - 1].BytesCopied < runs[runs.Count - 2].BytesCopied) { }
                }
                var journals = Directory.Exists(Path.Combine(dest, ".nekkbackup", "journal")) ? Directory.GetFiles(Path.Combine(dest, ".nekkbackup", "journal")).Length : 0;
                _out.WriteLine($"round {round}: {(letFinish ? "no kill" : "kill after " + delay + " ms")}, {(wasRunning ? "killed" : "had finished")}, runs {runs.Count}, pending journals {journals}");
                if (lastGoodRun == null) continue;

                var test = FolderKit.Test(dest, false);
                Assert.True(test.Problems.Length == 0, $"round {round}: " + string.Join("\n", test.Problems));
                Assert.NotEqual("Failed", test.Status);

                var target = Path.Combine(tmp.Path, "restore");
                var r = FolderKit.Restore(dest, target, lastGoodRun);
                Assert.True(r.Status == "Succeeded", $"round {round}: restore {r.Status}\n" + string.Join("\n", r.ErrorDetails));
                FolderKit.AssertSameTree(lastGoodRef!, Path.Combine(target, "Studio"));
                Directory.Delete(target, true);
            }
            _out.WriteLine($"{rounds} rounds, {interrupted} kills of a running backup, {completed} runs completed, {sw.Elapsed.TotalSeconds:0.0} s");
            Assert.True(interrupted >= 22, $"only {interrupted} kills hit a running backup");

            // Change every recording, kill the run once some have landed, then finish cleanly:
            // the clean run copies exactly the recordings that had not landed.
            var journalDir = Path.Combine(dest, ".nekkbackup", "journal");
            Assert.True(FolderKit.Backup(dest, null, true, src).Status == "Succeeded");
            var wavs = Directory.GetFiles(src, "*.wav", SearchOption.AllDirectories);
            long wavBytes = wavs.Sum(f => new FileInfo(f).Length), landedBytes = 0;
            int landed = 0;
            for (int attempt = 0; attempt < 8 && landed == 0; attempt++)
            {
                foreach (var w in wavs)
                {
                    var data = File.ReadAllBytes(w);
                    new Random(1000 + attempt).NextBytes(data.AsSpan(44));
                    File.WriteAllBytes(w, data);
                    File.SetLastWriteTimeUtc(w, new DateTime(2025, 6, 1, 0, 0, 0, DateTimeKind.Utc).AddMinutes(attempt));
                }
                var last = Start(dest, src);
                Assert.True(last.Started.Wait(TimeSpan.FromSeconds(30)));
                var until = Stopwatch.StartNew();
                while (until.ElapsedMilliseconds < 20_000 && !last.P.HasExited &&
                       !(Directory.Exists(journalDir) && Directory.GetFiles(journalDir).Any(f => new FileInfo(f).Length > 0)))
                    Thread.Sleep(1);
                if (!last.P.HasExited) last.P.Kill();
                last.P.WaitForExit(30_000);
                var lines = Directory.Exists(journalDir) ? Directory.GetFiles(journalDir).SelectMany(File.ReadAllLines).ToList() : new System.Collections.Generic.List<string>();
                foreach (var l in lines)
                {
                    var j = System.Text.Json.JsonDocument.Parse(l).RootElement;
                    if (j.TryGetProperty("h", out _)) { landed++; landedBytes += j.GetProperty("s").GetInt64(); }
                }
                if (landed == 0) Assert.Equal("Succeeded", FolderKit.Backup(dest, null, true, src).Status);
            }
            Assert.True(landed > 0, "never caught a run with landed files");
            var clean = FolderKit.Backup(dest, null, true, src);
            _out.WriteLine($"final clean run: {clean.BytesCopied} bytes copied; recordings {wavBytes} bytes, {landed} file(s) / {landedBytes} bytes had landed before the kill");
            Assert.Equal("Succeeded", clean.Status);
            Assert.Equal(wavBytes - landedBytes, clean.BytesCopied);
            Assert.Empty(Directory.GetFiles(Path.Combine(dest, ".nekkbackup", "partial")));
            Assert.Empty(Directory.GetFiles(journalDir));
            var final = Path.Combine(tmp.Path, "final");
            Assert.Equal("Succeeded", FolderKit.Restore(dest, final).Status);
            FolderKit.AssertSameTree(src, Path.Combine(final, "Studio"));
            var full = FolderKit.Test(dest, true);
            Assert.True(full.Status == "Passed", string.Join("\n", full.Problems.Concat(full.Warnings)));
        }
    }
}
