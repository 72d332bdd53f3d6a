using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Storage;
using NekkBackup.Core.Tests.Cloud;
using NekkBackup.Core.Tests.TestKit;
using Xunit;
using Xunit.Abstractions;

namespace NekkBackup.Core.Tests.Storage
{
    /// <summary>
    /// The lock between real processes (tests/NekkBackup.LockHost): two racing for the exclusive lock never
    /// overlap (on a folder and in a bucket); a killed holder's lock is taken over at once; a holder suspended
    /// past its lease finds its lock taken over when it wakes and stops before it commits.
    /// </summary>
    [Collection("s3rver")]
    public class TargetLockProcessTests
    {
        private readonly ITestOutputHelper _out;
        private readonly S3rverFixture _s3;

        public TargetLockProcessTests(S3rverFixture s3, ITestOutputHelper output)
        {
            _s3 = s3;
            _out = output;
        }

        private sealed class Host : IDisposable
        {
            public Process P = null!;
            public readonly List<string> Lines = new();
            public int Pid;

            public bool Has(string prefix) { lock (Lines) return Lines.Any(l => l.StartsWith(prefix, StringComparison.Ordinal)); }
            public string Text { get { lock (Lines) return string.Join("\n", Lines); } }

            public void WaitFor(string prefix, TimeSpan timeout)
            {
                var sw = Stopwatch.StartNew();
                while (!Has(prefix))
                {
                    if (sw.Elapsed > timeout) throw new TimeoutException($"no '{prefix}' from the lock host after {timeout}:\n{Text}");
                    if (P.HasExited && !Has(prefix)) { P.WaitForExit(); if (!Has(prefix)) throw new InvalidOperationException($"the lock host exited {P.ExitCode} without '{prefix}':\n{Text}"); }
                    Thread.Sleep(20);
                }
            }

            public void Dispose()
            {
                try { if (!P.HasExited) { ProcessHelper.Run("kill", $"-CONT {Pid}"); P.Kill(true); } } catch { }
                P.Dispose();
            }
        }

        private static Host Start(params string[] args)
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "NekkBackup.LockHost.dll"));
            foreach (var a in args) psi.ArgumentList.Add(a);
            var h = new Host();
            h.P = Process.Start(psi)!;
            h.P.OutputDataReceived += (_, e) => { if (e.Data != null) lock (h.Lines) h.Lines.Add(e.Data); };
            h.P.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (h.Lines) h.Lines.Add("ERR " + e.Data); };
            h.P.BeginOutputReadLine();
            h.P.BeginErrorReadLine();
            h.Pid = h.P.Id; // `dotnet <dll>` is the engine itself: signals reach it
            return h;
        }

        private string S3Spec(out string bucket)
        {
            bucket = _s3.NewBucket();
            return $"s3:{_s3.Endpoint}|{bucket}|repo/";
        }

        private void Race(string spec, int iterations)
        {
            using var dir = new TempDir("lock-race");
            var marker = Path.Combine(dir.Path, "inside");
            using var a = Start("race", spec, iterations.ToString(), "30", marker);
            using var b = Start("race", spec, iterations.ToString(), "30", marker);
            Assert.True(a.P.WaitForExit(180_000) && b.P.WaitForExit(180_000), "the racers finished");
            a.P.WaitForExit();
            b.P.WaitForExit();
            _out.WriteLine(a.Text + "\n---\n" + b.Text);
            Assert.DoesNotContain("VIOLATION", a.Text + b.Text);
            Assert.Equal(0, a.P.ExitCode);
            Assert.Equal(0, b.P.ExitCode);
            Assert.Contains($"DONE {iterations} 0", a.Text);
            Assert.Contains($"DONE {iterations} 0", b.Text);
        }

        [Fact]
        public void Two_processes_racing_on_a_folder_never_hold_the_exclusive_lock_at_once()
        {
            using var dir = new TempDir("lock-race-target");
            Race("local:" + dir.Path, 15);
            Assert.Empty(Directory.EnumerateFiles(Path.Combine(dir.Path, "locks"))); // every holder released
        }

        [Fact]
        public async Task Two_processes_racing_in_a_bucket_never_hold_the_exclusive_lock_at_once()
        {
            Race(S3Spec(out var bucket), 8);
            var target = await S3Target.OpenAsync(_s3.Target(bucket), new S3TargetOptions { RootPrefix = "repo/" }, CancellationToken.None);
            Assert.Empty(await TargetLock.ListAsync(target, null, CancellationToken.None));
        }

        [Fact]
        public async Task A_killed_holder_on_this_host_is_taken_over_at_once()
        {
            using var dir = new TempDir("lock-kill");
            using (var holder = Start("hold", "local:" + dir.Path, "600000", "1000", "1000", "600000"))
            {
                holder.WaitFor("HELD", TimeSpan.FromSeconds(60));
                var target = LocalDirectoryTarget.Open(dir.Path);
                await Assert.ThrowsAsync<NekkBackup.Core.Errors.NekkBackupException>(() => TargetLock.AcquireAsync(target, LockMode.Exclusive, "test", null, null, CancellationToken.None));
                holder.P.Kill(); // SIGKILL: no release
                holder.P.WaitForExit();
                var sw = Stopwatch.StartNew();
                await using var mine = await TargetLock.AcquireAsync(target, LockMode.Exclusive, "after-kill", null, null, CancellationToken.None);
                Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), "no wait for the 10-minute lease");
                var locks = await TargetLock.ListAsync(target, null, CancellationToken.None);
                Assert.Equal(new[] { mine.Key }, locks.Select(l => l.Key).ToArray());
            }
        }

        [Fact]
        public async Task A_holder_suspended_past_its_lease_loses_the_lock_and_never_commits()
        {
            using var dir = new TempDir("lock-stop");
            var target = LocalDirectoryTarget.Open(dir.Path);
            var options = new LockOptions { Lease = TimeSpan.FromSeconds(3), RefreshInterval = TimeSpan.FromMilliseconds(300), ClockSkew = TimeSpan.FromMilliseconds(500) };
            using var holder = Start("hold", "local:" + dir.Path, "3000", "300", "500", "8000");
            holder.WaitFor("HELD", TimeSpan.FromSeconds(60));
            ProcessHelper.Check("kill", $"-STOP {holder.Pid}"); // a laptop lid closed mid-run
            await Task.Delay(TimeSpan.FromSeconds(4.5));
            await using var taker = await TargetLock.AcquireAsync(target, LockMode.Exclusive, "taker", options, null, CancellationToken.None);
            ProcessHelper.Check("kill", $"-CONT {holder.Pid}");
            Assert.True(holder.P.WaitForExit(30_000), "the woken holder stops");
            holder.P.WaitForExit();
            _out.WriteLine(holder.Text);
            Assert.Equal(3, holder.P.ExitCode);
            Assert.Contains("LOST", holder.Text);
            Assert.DoesNotContain("COMMIT", holder.Text);
            // The taker is undisturbed: its lock is the only one and it still holds.
            await Task.Delay(700);
            await taker.EnsureHeldAsync(CancellationToken.None);
            var locks = await TargetLock.ListAsync(target, options, CancellationToken.None);
            Assert.Equal(new[] { taker.Key }, locks.Select(l => l.Key).ToArray());
        }

        [Fact]
        public void A_holder_left_alone_commits()
        {
            using var dir = new TempDir("lock-ok");
            using var holder = Start("hold", "local:" + dir.Path, "3000", "300", "500", "4000");
            Assert.True(holder.P.WaitForExit(60_000));
            holder.P.WaitForExit();
            Assert.Equal(0, holder.P.ExitCode);
            Assert.Contains("COMMIT", holder.Text);
            Assert.Empty(Directory.EnumerateFiles(Path.Combine(dir.Path, "locks")));
        }
    }
}
