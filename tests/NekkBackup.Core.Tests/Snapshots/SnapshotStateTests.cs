using System;
using System.Collections.Concurrent;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Snapshots;
using NekkBackup.Core.Tests.TestKit;
using Xunit;

namespace NekkBackup.Core.Tests.Snapshots
{
    /// <summary>The state file and the manager's create/undo/orphan rules, with an in-memory provider.</summary>
    public class SnapshotStateTests
    {
        /// <summary>Snapshots as entries of a set; can fail or be cancelled after "creating".</summary>
        private sealed class MemoryProvider : ISnapshotProvider
        {
            public readonly ConcurrentDictionary<string, bool> Existing = new();
            public Func<SnapshotRecord, Exception?>? FailAfterCreate;
            public SnapshotProviderKind Kind => SnapshotProviderKind.Btrfs;

            public Task PrepareAsync(string fullPath, SnapshotRecord record, CancellationToken ct)
            {
                record.SnapshotId = "Btrfs:" + SnapshotErrors.NewName();
                record.Volume = "/mem";
                record.SnapshotPath = "/mem/" + record.SnapshotId;
                return Task.CompletedTask;
            }

            public Task CreateAsync(SnapshotRecord record, ISnapshotJournal journal, CancellationToken ct)
            {
                Existing[record.SnapshotId] = true;
                var ex = FailAfterCreate?.Invoke(record);
                if (ex != null) throw ex;
                return Task.CompletedTask;
            }

            public Task DeleteAsync(SnapshotRecord record, CancellationToken ct)
            {
                Existing.TryRemove(record.SnapshotId, out _);
                return Task.CompletedTask;
            }

            public Task<bool?> ExistsAsync(SnapshotRecord record, CancellationToken ct) => Task.FromResult<bool?>(Existing.ContainsKey(record.SnapshotId));
        }

        private sealed class Env : IDisposable
        {
            public readonly TempDir Dir = new("snapstate");
            public readonly MemoryProvider Provider = new();
            public readonly RecordingObserver Obs = new();
            public readonly SnapshotManager Manager;
            public Env() => Manager = new SnapshotManager(new SnapshotStateStore(Path.Combine(Dir.Path, "data", "snapshots.json")), new ISnapshotProvider[] { Provider }, Obs, () => false, () => true);
            public void Dispose() => Dir.Dispose();
        }

        [Fact]
        public async Task A_failed_creation_removes_what_was_made_and_its_record()
        {
            using var env = new Env();
            env.Provider.FailAfterCreate = _ => new NekkBackupException("SnapshotCreateFailed", FailureKind.InvalidOperation, "boom");
            await Assert.ThrowsAsync<NekkBackupException>(() => env.Manager.CreateAsync(env.Dir.Path, SnapshotProviderKind.Btrfs, false, CancellationToken.None));
            Assert.Empty(env.Provider.Existing);
            Assert.Empty(env.Manager.Records());
        }

        [Fact]
        public async Task Ctrl_C_during_creation_removes_what_was_made_and_its_record()
        {
            using var env = new Env();
            using var cts = new CancellationTokenSource();
            env.Provider.FailAfterCreate = _ => { cts.Cancel(); return new OperationCanceledException(cts.Token); };
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => env.Manager.CreateAsync(env.Dir.Path, SnapshotProviderKind.Btrfs, false, cts.Token));
            Assert.Empty(env.Provider.Existing);
            Assert.Empty(env.Manager.Records());
        }

        [Fact]
        public async Task Crash_leftovers_at_every_step_are_orphans_once_the_owner_is_gone()
        {
            using var env = new Env();
            // 1. Intent written, crash before the snapshot existed.
            var intentOnly = new SnapshotRecord { SnapshotId = "Btrfs:nekk_a", Provider = "Btrfs", State = SnapshotStates.Creating, OwnerPid = VssProviderTests.DeadPid() };
            env.Manager.Store.Add(intentOnly);
            // 2. Intent written, snapshot made, crash before the record was completed.
            var made = new SnapshotRecord { SnapshotId = "Btrfs:nekk_b", Provider = "Btrfs", State = SnapshotStates.Creating, OwnerPid = VssProviderTests.DeadPid() };
            env.Manager.Store.Add(made);
            env.Provider.Existing[made.SnapshotId] = true;
            // 3. Ready and in use by a run that was killed.
            var inUse = new SnapshotRecord { SnapshotId = "Btrfs:nekk_c", Provider = "Btrfs", State = SnapshotStates.Ready, OwnerPid = VssProviderTests.DeadPid() };
            env.Manager.Store.Add(inUse);
            env.Provider.Existing[inUse.SnapshotId] = true;
            // 4. A live run's snapshot (this process): not an orphan.
            var live = await env.Manager.CreateAsync(env.Dir.Path, SnapshotProviderKind.Btrfs, false, CancellationToken.None);
            // 5. A failed release by a live process: an orphan (retried).
            var failed = new SnapshotRecord { SnapshotId = "Btrfs:nekk_e", Provider = "Btrfs", State = SnapshotStates.ReleaseFailed };
            SnapshotOwner.Stamp(failed);
            env.Manager.Store.Add(failed);
            env.Provider.Existing[failed.SnapshotId] = true;
            // 6. A snapshot that is not recorded at all: never touched.
            env.Provider.Existing["Btrfs:someone-else"] = true;

            Assert.Equal(new[] { "Btrfs:nekk_a", "Btrfs:nekk_b", "Btrfs:nekk_c", "Btrfs:nekk_e" }, env.Manager.FindOrphans().Select(r => r.SnapshotId).OrderBy(x => x));
            var removed = await env.Manager.RemoveOrphansAsync(CancellationToken.None);
            Assert.Equal(new[] { "Btrfs:nekk_a", "Btrfs:nekk_b", "Btrfs:nekk_c", "Btrfs:nekk_e" }, removed.OrderBy(x => x));
            Assert.Equal(new[] { "Btrfs:someone-else", live.SnapshotId }.OrderBy(x => x), env.Provider.Existing.Keys.OrderBy(x => x));
            Assert.Equal(new[] { live.SnapshotId }, env.Manager.Records().Select(r => r.SnapshotId));
        }

        [Fact]
        public async Task Release_failure_is_a_warning_and_leaves_a_record_for_the_next_run()
        {
            using var env = new Env();
            var snap = await env.Manager.CreateAsync(env.Dir.Path, SnapshotProviderKind.Btrfs, false, CancellationToken.None);
            var store = env.Manager.Store;
            var broken = new SnapshotManager(store, new ISnapshotProvider[] { new ThrowingDelete() }, env.Obs, () => false, () => true);
            broken.Release(snap.SnapshotId); // never throws
            Assert.Contains(env.Obs.Warnings, w => w.Contains(snap.SnapshotId));
            Assert.Equal(SnapshotStates.ReleaseFailed, Assert.Single(store.Load()).State);
            Assert.Single(env.Manager.FindOrphans());
        }

        private sealed class ThrowingDelete : ISnapshotProvider
        {
            public SnapshotProviderKind Kind => SnapshotProviderKind.Btrfs;
            public Task PrepareAsync(string fullPath, SnapshotRecord record, CancellationToken ct) => Task.CompletedTask;
            public Task CreateAsync(SnapshotRecord record, ISnapshotJournal journal, CancellationToken ct) => Task.CompletedTask;
            public Task DeleteAsync(SnapshotRecord record, CancellationToken ct) => throw new NekkBackupException("SnapshotRemoveFailed", FailureKind.InvalidOperation, "device busy");
            public Task<bool?> ExistsAsync(SnapshotRecord record, CancellationToken ct) => Task.FromResult<bool?>(true);
        }

        [Fact]
        public void The_state_file_survives_concurrent_writers_and_is_replaced_atomically()
        {
            using var dir = new TempDir("snapstate");
            var path = Path.Combine(dir.Path, "snapshots.json");
            // Two store objects = two independent writers (the lock file serialises them, as across processes).
            var a = new SnapshotStateStore(path);
            var b = new SnapshotStateStore(path);
            Parallel.For(0, 40, i => (i % 2 == 0 ? a : b).Add(new SnapshotRecord { SnapshotId = "Btrfs:nekk_" + i, Provider = "Btrfs" }));
            Assert.Equal(40, a.Load().Count);
            Assert.Empty(Directory.GetFiles(dir.Path, "*.tmp-*"));
            Parallel.For(0, 40, i => b.Remove("Btrfs:nekk_" + i));
            Assert.Empty(a.Load());
        }

        [Fact]
        public void A_corrupt_state_file_is_reported_not_overwritten()
        {
            using var dir = new TempDir("snapstate");
            var path = Path.Combine(dir.Path, "snapshots.json");
            File.WriteAllText(path, "{ not json");
            var ex = Assert.Throws<NekkBackupException>(() => new SnapshotStateStore(path).Add(new SnapshotRecord { SnapshotId = "x" }));
            Assert.Equal("NekkBackup.SnapshotStateCorrupt", ex.ErrorId);
            Assert.Equal("{ not json", File.ReadAllText(path));
        }

        [Fact]
        public async Task Bad_input_is_refused_before_anything_is_recorded()
        {
            using var env = new Env();
            var ex = await Assert.ThrowsAsync<NekkBackupException>(() => env.Manager.CreateAsync(Path.Combine(env.Dir.Path, "missing"), SnapshotProviderKind.Auto, false, CancellationToken.None));
            Assert.Equal("NekkBackup.PathNotFound", ex.ErrorId);
            ex = await Assert.ThrowsAsync<NekkBackupException>(() => env.Manager.CreateAsync(env.Dir.Path, SnapshotProviderKind.Lvm, false, CancellationToken.None));
            Assert.Equal("NekkBackup.SnapshotUnsupported", ex.ErrorId);
            Assert.Empty(env.Manager.Records());
            Assert.False(File.Exists(env.Manager.Store.FilePath) && env.Manager.Records().Count > 0);
        }
    }
}
