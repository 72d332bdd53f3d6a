using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Storage;
using Xunit;

namespace NekkBackup.Core.Tests.Storage
{
    /// <summary>The lock's contract on every target kind (the two-process races are in TargetLockProcessTests).</summary>
    public abstract partial class BackupTargetConformance
    {
        /// <summary>Short timings so staleness and loss show within seconds.</summary>
        protected static LockOptions Fast(bool tolerateShared = false, TimeSpan? wait = null) => new()
        {
            Lease = TimeSpan.FromSeconds(3), RefreshInterval = TimeSpan.FromMilliseconds(200), ClockSkew = TimeSpan.FromMilliseconds(500),
            ExclusiveToleratesShared = tolerateShared, WaitTimeout = wait ?? TimeSpan.Zero,
        };

        private Task<TargetLock> LockAsync(LockMode mode, LockOptions? o = null, string op = "test") =>
            TargetLock.AcquireAsync(Target, mode, op, o ?? Fast(), null, CancellationToken.None);

        private Task PutLockRecordAsync(string id, string host, int pid, bool exclusive, DateTime refreshed, double leaseSeconds = 3) =>
            PutAsync($"locks/{id}.json", Encoding.UTF8.GetBytes(
                $"{{\"formatVersion\":1,\"id\":\"{id}\",\"host\":\"{host}\",\"pid\":{pid},\"exclusive\":{(exclusive ? "true" : "false")},\"operation\":\"planted\",\"created\":\"{refreshed:o}\",\"refreshed\":\"{refreshed:o}\",\"leaseSeconds\":{leaseSeconds}}}"));

        [Fact]
        public async Task Lock_exclusive_excludes_every_other_lock_until_released()
        {
            var first = await LockAsync(LockMode.Exclusive);
            var ex = await Assert.ThrowsAsync<NekkBackupException>(() => LockAsync(LockMode.Exclusive));
            Assert.Equal("NekkBackup.TargetLocked", ex.ErrorId);
            Assert.Contains("test on", ex.Message);
            await Assert.ThrowsAsync<NekkBackupException>(() => LockAsync(LockMode.Shared));
            Assert.Single(await KeysAsync("locks/"));
            await first.DisposeAsync();
            Assert.Empty(await KeysAsync("locks/"));
            await using var second = await LockAsync(LockMode.Exclusive);
            Assert.False(second.IsLost);
        }

        [Fact]
        public async Task Lock_shared_holders_coexist_and_keep_exclusive_out()
        {
            await using var a = await LockAsync(LockMode.Shared, op: "capture");
            await using var b = await LockAsync(LockMode.Shared, op: "restore");
            Assert.Equal(2, (await TargetLock.ListAsync(Target, Fast(), CancellationToken.None)).Count(h => !h.IsStale && !h.Exclusive));
            var ex = await Assert.ThrowsAsync<NekkBackupException>(() => LockAsync(LockMode.Exclusive, op: "prune"));
            Assert.Contains("(pid", ex.Message);
            // Ghost's remove: exclusive, tolerating running captures, told who they are.
            await using var prune = await LockAsync(LockMode.Exclusive, Fast(tolerateShared: true), "remove");
            Assert.Equal(2, prune.SharedHolders.Count);
            Assert.Contains(prune.SharedHolders, h => h.Operation == "capture");
            // …and a new capture is refused while it runs.
            await Assert.ThrowsAsync<NekkBackupException>(() => LockAsync(LockMode.Shared));
        }

        [Fact]
        public async Task Lock_refresh_keeps_a_long_run_alive_past_its_lease()
        {
            await using var held = await LockAsync(LockMode.Exclusive);
            var before = (await TargetLock.ListAsync(Target, Fast(), CancellationToken.None)).Single();
            await Task.Delay(TimeSpan.FromSeconds(4)); // longer than the 3 s lease
            var after = (await TargetLock.ListAsync(Target, Fast(), CancellationToken.None)).Single();
            Assert.True(after.RefreshedUtc > before.RefreshedUtc, "the refresh loop rewrote the lock");
            Assert.False(after.IsStale);
            Assert.False(held.IsLost);
            await held.EnsureHeldAsync(CancellationToken.None);
            await Assert.ThrowsAsync<NekkBackupException>(() => LockAsync(LockMode.Shared));
        }

        [Fact]
        public async Task Lock_a_stale_lock_from_another_host_is_taken_over()
        {
            await PutLockRecordAsync("0123456789abcdef0123456789abcdef", "other-host", 4242, true, DateTime.UtcNow.AddSeconds(-10));
            // A live one from another host is respected.
            await PutLockRecordAsync("fedcba9876543210fedcba9876543210", "far-host", 4243, false, DateTime.UtcNow, leaseSeconds: 600);
            var ex = await Assert.ThrowsAsync<NekkBackupException>(() => LockAsync(LockMode.Exclusive));
            Assert.Contains("far-host", ex.Message);
            Assert.DoesNotContain("locks/0123456789abcdef0123456789abcdef.json", await KeysAsync("locks/")); // the stale one was swept
            await Target.DeleteAsync("locks/fedcba9876543210fedcba9876543210.json", CancellationToken.None);
            await using var held = await LockAsync(LockMode.Exclusive);
            Assert.Single(await KeysAsync("locks/"));
        }

        [Fact]
        public async Task Lock_of_an_ended_process_on_this_host_is_stale_at_once()
        {
            using var p = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
            p.WaitForExit();
            await PutLockRecordAsync("00000000000000000000000000000001", OperatingSystemInfo.HostName, p.Id, true, DateTime.UtcNow, leaseSeconds: 600);
            await using var held = await LockAsync(LockMode.Exclusive);
            Assert.Equal(new[] { held.Key }, await KeysAsync("locks/"));
        }

        [Fact]
        public async Task Lock_an_unreadable_lock_object_blocks_until_it_is_old()
        {
            await PutAsync("locks/garbage.json", Encoding.UTF8.GetBytes("{ not json"));
            var ex = await Assert.ThrowsAsync<NekkBackupException>(() => LockAsync(LockMode.Shared));
            Assert.Contains("unreadable", ex.Message);
            // A lock written by a newer NekkBackup (format 2) is respected the same way, not misread.
            await Target.DeleteAsync("locks/garbage.json", CancellationToken.None);
            await PutAsync("locks/abcdefabcdefabcdefabcdefabcdefab.json", Encoding.UTF8.GetBytes("{\"formatVersion\":2,\"id\":\"abcdefabcdefabcdefabcdefabcdefab\"}"));
            await Assert.ThrowsAsync<NekkBackupException>(() => LockAsync(LockMode.Shared));
        }

        [Fact]
        public async Task Lock_lost_when_its_object_is_removed_cancels_the_run_before_commit()
        {
            await using var held = await LockAsync(LockMode.Exclusive);
            using var run = CancellationTokenSource.CreateLinkedTokenSource(held.LostToken);
            // Another process judged it stale and removed it.
            await Target.DeleteAsync(held.Key, CancellationToken.None);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Task.Delay(TimeSpan.FromSeconds(10), run.Token));
            Assert.True(held.IsLost);
            Assert.Contains("removed", held.LostReason);
            var ex = await Assert.ThrowsAsync<NekkBackupException>(() => held.EnsureHeldAsync(CancellationToken.None));
            Assert.Equal("NekkBackup.LockLost", ex.ErrorId);
            await Task.Delay(500);
            Assert.Empty(await KeysAsync("locks/")); // a lost lock is never written again
        }

        [Fact]
        public async Task Lock_waits_for_a_holder_when_asked_to()
        {
            var first = await LockAsync(LockMode.Exclusive);
            var release = Task.Run(async () => { await Task.Delay(700); await first.DisposeAsync(); });
            var sw = Stopwatch.StartNew();
            await using var second = await LockAsync(LockMode.Exclusive, Fast(wait: TimeSpan.FromSeconds(20)));
            await release;
            Assert.InRange(sw.Elapsed, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(15));
        }
    }
}
