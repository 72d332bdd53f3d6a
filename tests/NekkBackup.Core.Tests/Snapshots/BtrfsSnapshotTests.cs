using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Folder;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Snapshots;
using NekkBackup.Core.Tests.TestKit;
using Xunit;
using Xunit.Abstractions;

namespace NekkBackup.Core.Tests.Snapshots
{
    /// <summary>Real btrfs (and ext4) loop filesystems, real `btrfs` commands, real processes.</summary>
    public class BtrfsSnapshotTests
    {
        private readonly ITestOutputHelper _out;

        public BtrfsSnapshotTests(ITestOutputHelper output) => _out = output;

        /// <summary>A btrfs loop filesystem with a subvolume "studio" holding studio data, and a private state file.</summary>
        private sealed class Pool : IDisposable
        {
            public readonly LoopFileSystem Fs;
            public readonly TempDir State = new("snapstate");
            public readonly RecordingObserver Obs = new();
            public readonly string Subvolume;
            public readonly SnapshotManager Manager;

            public Pool(int dataMb = 10, int seed = 1)
            {
                Fs = new LoopFileSystem("btrfs", 256);
                Subvolume = Path.Combine(Fs.MountPoint, "studio");
                ProcessHelper.Check("btrfs", $"subvolume create \"{Subvolume}\"");
                if (dataMb > 0) StudioData.Generate(Path.Combine(Subvolume, "Sessions"), dataMb, seed);
                Manager = SnapshotManager.CreateDefault(Obs, new SnapshotStateStore(StatePath));
            }

            public string StatePath => Path.Combine(State.Path, "snapshots.json");
            public string Sessions => Path.Combine(Subvolume, "Sessions");

            /// <summary>Our snapshots as `btrfs subvolume list` (an independent tool) sees them.</summary>
            public string[] ListedNekkSnapshots() =>
                ProcessHelper.Check("btrfs", $"subvolume list \"{Fs.MountPoint}\"").Split('\n').Where(l => l.Contains(".nekk-snapshots/nekk_")).ToArray();

            public void Dispose()
            {
                // Never leave a subvolume behind that keeps the loop mount busy.
                foreach (var l in ListedNekkSnapshots())
                {
                    var rel = l.Substring(l.IndexOf(" path ", StringComparison.Ordinal) + 6).Trim();
                    ProcessHelper.Run("btrfs", $"subvolume delete \"{Path.Combine(Fs.MountPoint, rel)}\"");
                }
                Fs.Dispose();
                State.Dispose();
            }
        }

        [RootFact("mkfs.btrfs", "btrfs", "findmnt")]
        public async Task Snapshot_holds_the_data_of_its_moment_while_the_source_keeps_changing()
        {
            using var pool = new Pool(dataMb: 20, seed: 3);
            var atSnapshot = StudioData.Digest(pool.Sessions);
            var resolver = SnapshotSources.ForMode(SnapshotMode.Required, pool.Obs, pool.Manager);

            string readPath;
            using (var view = await resolver.OpenAsync(pool.Sessions, CancellationToken.None))
            {
                readPath = view.ReadPath;
                Assert.StartsWith("Btrfs:nekk_", view.SnapshotId);
                Assert.StartsWith(Path.Combine(pool.Fs.MountPoint, ".nekk-snapshots", "nekk_"), readPath);
                Assert.EndsWith("/Sessions", readPath);
                Assert.Single(pool.ListedNekkSnapshots());

                // The source keeps changing: 30 % of files mutated plus a writer appending meanwhile.
                using var stop = new CancellationTokenSource();
                var writer = Task.Run(() =>
                {
                    var f = Path.Combine(pool.Sessions, "live-take.wav");
                    for (int i = 0; i < 2000 && !stop.IsCancellationRequested; i++) File.AppendAllText(f, new string('x', 4096));
                });
                StudioData.Mutate(pool.Sessions, 30, 77);
                var duringChange = StudioData.Digest(readPath);
                stop.Cancel();
                await writer;

                Assert.True(atSnapshot.Count > 10);
                Assert.True(StudioData.Diff(atSnapshot, duringChange).Length == 0, StudioData.Diff(atSnapshot, duringChange));
                Assert.NotEqual(atSnapshot.Count + "|" + string.Join(",", atSnapshot.Values), StudioData.Digest(pool.Sessions).Count + "|" + string.Join(",", StudioData.Digest(pool.Sessions).Values));
                // Read-only: nothing can be written into the snapshot.
                Assert.ThrowsAny<IOException>(() => File.WriteAllText(Path.Combine(readPath, "new.txt"), "x"));
                var rec = Assert.Single(pool.Manager.Records());
                Assert.Equal(SnapshotStates.Ready, rec.State);
                Assert.False(rec.Persistent);
            }

            Assert.False(Directory.Exists(readPath));
            Assert.Empty(pool.ListedNekkSnapshots());
            Assert.Empty(pool.Manager.Records());
        }

        [RootFact("mkfs.btrfs", "btrfs", "findmnt")]
        public async Task Every_snapshot_holds_a_matching_session_and_audio_pair_while_live_reads_do_not()
        {
            using var pool = new Pool(dataMb: 0);
            var project = Path.Combine(pool.Subvolume, "Project");
            Directory.CreateDirectory(project);
            using var stop = new CancellationTokenSource();
            long written = 0;
            // The application: each generation writes a new take (temp + fsync + rename), then the session
            // file that references it (temp + fsync + rename), then drops the take before last. At every
            // instant the session's take exists and carries the session's generation.
            var writer = Task.Run(() =>
            {
                var payload = new byte[128 * 1024];
                for (long gen = 1; !stop.IsCancellationRequested && gen < 100_000; gen++)
                {
                    new Random((int)gen).NextBytes(payload);
                    var take = $"take_{gen:D6}.wav";
                    WriteAtomically(Path.Combine(project, take), System.Text.Encoding.ASCII.GetBytes($"NEKKGEN {gen}\n").Concat(payload).ToArray());
                    WriteAtomically(Path.Combine(project, "song.session"), System.Text.Encoding.ASCII.GetBytes($"generation={gen}\naudio={take}\n"));
                    var old = Path.Combine(project, $"take_{gen - 2:D6}.wav");
                    if (File.Exists(old)) File.Delete(old);
                    Interlocked.Exchange(ref written, gen);
                    Thread.Sleep(2);
                }
            });
            try
            {
                var deadline = DateTime.UtcNow.AddSeconds(10);
                while (Interlocked.Read(ref written) < 5 && DateTime.UtcNow < deadline) Thread.Sleep(10);

                var resolver = SnapshotSources.ForMode(SnapshotMode.Required, pool.Obs, pool.Manager);
                int snapshots = 0, liveMismatches = 0, liveReads = 0;
                var snapshotGens = new List<long>();
                for (int i = 0; i < 12; i++)
                {
                    using (var view = await resolver.OpenAsync(project, CancellationToken.None))
                    {
                        var (ok, gen, detail) = ReadPairLikeABackup(view.ReadPath);
                        Assert.True(ok, $"snapshot {i}: {detail}");
                        snapshotGens.Add(gen);
                        snapshots++;
                    }
                    // Control: the same backup-style read of the live folder.
                    for (int k = 0; k < 5; k++)
                    {
                        liveReads++;
                        if (!ReadPairLikeABackup(project).Ok) liveMismatches++;
                    }
                }
                var rate = Interlocked.Read(ref written);
                _out.WriteLine($"{snapshots} snapshots all consistent (generations {string.Join(",", snapshotGens)}); live control: {liveMismatches}/{liveReads} inconsistent; writer reached generation {rate}");
                Assert.True(snapshots >= 10);
                Assert.True(snapshotGens.Distinct().Count() >= 5, "the writer was not running while snapshots were taken");
            }
            finally
            {
                stop.Cancel();
                await writer;
            }
            Assert.Empty(pool.ListedNekkSnapshots());
        }

        private static void WriteAtomically(string path, byte[] content)
        {
            var tmp = path + ".tmp";
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write))
            {
                fs.Write(content, 0, content.Length);
                fs.Flush(true);
            }
            File.Move(tmp, path, true);
        }

        /// <summary>
        /// Reads the folder the way a file-by-file backup does: list it, copy every take, then the session,
        /// with the small delays real copying has. True when the copied session's take was copied and
        /// carries the same generation.
        /// </summary>
        private static (bool Ok, long Gen, string Detail) ReadPairLikeABackup(string dir)
        {
            var copied = new Dictionary<string, byte[]>();
            try
            {
                foreach (var f in Directory.GetFiles(dir).OrderBy(f => f, StringComparer.Ordinal))
                {
                    copied[Path.GetFileName(f)] = File.ReadAllBytes(f);
                    Thread.Sleep(3);
                }
            }
            catch (IOException ex) { return (false, 0, "vanished while copying: " + ex.Message); }
            if (!copied.TryGetValue("song.session", out var session)) return (false, 0, "no session");
            var lines = System.Text.Encoding.ASCII.GetString(session).Split('\n');
            long gen = long.Parse(lines[0].Substring("generation=".Length));
            var take = lines[1].Substring("audio=".Length);
            if (!copied.TryGetValue(take, out var audio)) return (false, gen, $"session {gen} references {take}, which the copy does not have");
            var header = System.Text.Encoding.ASCII.GetString(audio, 0, Math.Min(32, audio.Length)).Split('\n')[0];
            return header == $"NEKKGEN {gen}" ? (true, gen, "") : (false, gen, $"session {gen} but {take} says '{header}'");
        }

        [RootFact("mkfs.btrfs", "btrfs", "findmnt")]
        public async Task A_killed_snapshot_holder_leaves_an_orphan_that_the_next_run_removes()
        {
            using var pool = new Pool(dataMb: 5);
            var host = Path.Combine(AppContext.BaseDirectory, "NekkBackup.SnapshotHost.dll");
            Assert.True(File.Exists(host), host);
            var ready = Path.Combine(pool.State.Path, "ready.txt");
            var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false };
            psi.ArgumentList.Add(host);
            psi.ArgumentList.Add(pool.Sessions);
            psi.ArgumentList.Add("120");
            psi.ArgumentList.Add(ready);
            psi.Environment["NEKKBACKUP_DATA"] = pool.State.Path;
            using var child = Process.Start(psi)!;
            try
            {
                var deadline = DateTime.UtcNow.AddSeconds(60);
                while (!File.Exists(ready) && !child.HasExited && DateTime.UtcNow < deadline) Thread.Sleep(50);
                var line = File.Exists(ready) ? File.ReadAllText(ready) : "(no report; exited=" + child.HasExited + ")";
                Assert.True(line.StartsWith("READY "), line);
                Assert.Single(pool.ListedNekkSnapshots());
                var rec = Assert.Single(pool.Manager.Records());
                Assert.Equal(child.Id, rec.OwnerPid);
                // Owner alive: not an orphan, so a concurrent run leaves it alone.
                Assert.Empty(pool.Manager.FindOrphans());
            }
            finally
            {
                child.Kill(entireProcessTree: true);
                child.WaitForExit(30_000);
            }
            Assert.Single(pool.ListedNekkSnapshots()); // the crash left it

            // The next run: ForMode(...) cleans orphans before it snapshots.
            var resolver = SnapshotSources.ForMode(SnapshotMode.Required, pool.Obs, pool.Manager);
            using (var view = await resolver.OpenAsync(pool.Sessions, CancellationToken.None))
            {
                Assert.Single(pool.ListedNekkSnapshots()); // only this run's own
                Assert.Equal(view.SnapshotId, Assert.Single(pool.Manager.Records()).SnapshotId);
            }
            Assert.Empty(pool.ListedNekkSnapshots());
            Assert.Empty(pool.Manager.Records());
            Assert.Contains(pool.Obs.Warnings, w => w.Contains("orphaned snapshot"));
        }

        [RootFact("mkfs.btrfs", "btrfs", "findmnt")]
        public async Task Persistent_snapshots_are_listed_kept_and_removed_only_when_asked()
        {
            using var pool = new Pool(dataMb: 5);
            // Something not ours on the same filesystem: never touched.
            var foreign = Path.Combine(pool.Fs.MountPoint, "manual-snap");
            ProcessHelper.Check("btrfs", $"subvolume snapshot -r \"{pool.Subvolume}\" \"{foreign}\"");

            var snap = await pool.Manager.CreateAsync(pool.Sessions, SnapshotProviderKind.Btrfs, persistent: true, CancellationToken.None);
            Assert.Equal("Btrfs", snap.Provider);
            Assert.Equal(pool.Subvolume, snap.Volume);
            Assert.Equal(pool.Sessions, snap.SourcePath);
            Assert.True((DateTime.Now - snap.Created).Duration() < TimeSpan.FromMinutes(1));
            Assert.Equal(StudioData.Digest(pool.Sessions).Count, StudioData.Digest(snap.SnapshotPath).Count);

            // A persistent snapshot survives orphan cleanup even though its record's owner is "gone".
            var rec = pool.Manager.Records().Single();
            rec.OwnerPid = VssProviderTests.DeadPid();
            pool.Manager.Store.Update(rec.SnapshotId, rec);
            Assert.Empty(await pool.Manager.RemoveOrphansAsync(CancellationToken.None));
            Assert.Equal(new[] { snap.SnapshotId }, pool.Manager.List().Select(s => s.SnapshotId));

            var ex = await Assert.ThrowsAsync<NekkBackupException>(() => pool.Manager.RemoveAsync("Btrfs:manual-snap", CancellationToken.None));
            Assert.Equal("NekkBackup.SnapshotNotFound", ex.ErrorId);

            await pool.Manager.RemoveAsync(snap.SnapshotId, CancellationToken.None);
            Assert.Empty(pool.ListedNekkSnapshots());
            Assert.Empty(pool.Manager.List());
            Assert.True(Directory.Exists(foreign));
            ProcessHelper.Check("btrfs", $"subvolume delete \"{foreign}\"");
        }

        [RootFact("mkfs.btrfs", "btrfs", "findmnt")]
        public async Task A_folder_on_the_top_level_subvolume_is_snapshotted_too()
        {
            using var pool = new Pool(dataMb: 0);
            var plain = Path.Combine(pool.Fs.MountPoint, "Plain");
            StudioData.Generate(plain, 5, 9);
            var before = StudioData.Digest(plain);
            var snap = await pool.Manager.CreateAsync(plain, SnapshotProviderKind.Auto, false, CancellationToken.None);
            StudioData.Mutate(plain, 50, 5);
            Assert.Equal(pool.Fs.MountPoint, snap.Volume);
            Assert.True(StudioData.Diff(before, StudioData.Digest(snap.SnapshotPath)).Length == 0);
            await pool.Manager.RemoveAsync(snap.SnapshotId, CancellationToken.None);
            Assert.Empty(pool.ListedNekkSnapshots());
        }

        /// <summary>Lets the test change the live source right after the snapshot is taken and before the engine reads.</summary>
        private sealed class ChangeAfterSnapshot : Sources.ISourceResolver
        {
            private readonly Sources.ISourceResolver _inner;
            private readonly Action<string> _change;
            public ChangeAfterSnapshot(Sources.ISourceResolver inner, Action<string> change) { _inner = inner; _change = change; }
            public async Task<Sources.SourceView> OpenAsync(string sourcePath, CancellationToken ct)
            {
                var view = await _inner.OpenAsync(sourcePath, ct);
                _change(sourcePath);
                return view;
            }
        }

        [RootFact("mkfs.btrfs", "btrfs", "findmnt")]
        public async Task Folder_backup_reads_from_a_snapshot_and_removes_it()
        {
            using var pool = new Pool(dataMb: 15, seed: 11);
            using var nas = new TempDir("nas");
            var expected = StudioData.Digest(pool.Sessions);
            var run = await FolderBackupEngine.BackupAsync(new FolderBackupOptions
            {
                Sources = new[] { pool.Sessions },
                Destination = nas.Path,
                // 25 % of the files change (and one grows) between the snapshot and the engine's scan/copy.
                SourceResolver = new ChangeAfterSnapshot(SnapshotSources.ForMode(SnapshotMode.Required, pool.Obs, pool.Manager), src =>
                {
                    StudioData.Mutate(src, 25, 31);
                    File.AppendAllText(Directory.EnumerateFiles(src, "*", SearchOption.AllDirectories).First(), "changed after the snapshot");
                }),
            }, pool.Obs, CancellationToken.None);
            Assert.Equal("Succeeded", run.Status);
            Assert.StartsWith("Btrfs:nekk_", run.SnapshotUsed);
            var copied = StudioData.Digest(Path.Combine(nas.Path, "Sessions"));
            Assert.True(StudioData.Diff(expected, copied).Length == 0, StudioData.Diff(expected, copied));
            Assert.NotEqual(0, StudioData.Diff(expected, StudioData.Digest(pool.Sessions)).Length);
            Assert.Empty(pool.ListedNekkSnapshots());
            Assert.Empty(pool.Manager.Records());
        }

        [RootFact("mkfs.ext4", "findmnt")]
        public async Task On_ext4_Required_fails_SnapshotUnsupported_and_Auto_warns_and_reads_live()
        {
            using var fs = new LoopFileSystem("ext4", 64);
            using var state = new TempDir("snapstate");
            var src = Path.Combine(fs.MountPoint, "Sessions");
            StudioData.Generate(src, 2, 4);
            var obs = new RecordingObserver();
            var manager = SnapshotManager.CreateDefault(obs, new SnapshotStateStore(Path.Combine(state.Path, "snapshots.json")));

            var ex = await Assert.ThrowsAsync<NekkBackupException>(() => SnapshotSources.ForMode(SnapshotMode.Required, obs, manager).OpenAsync(src, CancellationToken.None));
            Assert.Equal("NekkBackup.SnapshotUnsupported", ex.ErrorId);
            Assert.Equal(FailureKind.NotSupported, ex.Kind);
            // The mount table's name for the file system, not stat's magic-number guess ("ext2/ext3").
            Assert.Contains("ext4 (mounted at " + fs.MountPoint + ")", ex.Message);
            Assert.DoesNotContain("ext2/ext3", ex.Message);

            // Auto on a file system nothing can snapshot: a Verbose note for the run log, never a warning (issue 13).
            using (var view = await SnapshotSources.ForMode(SnapshotMode.Auto, obs, manager).OpenAsync(src, CancellationToken.None))
            {
                Assert.Equal(src, view.ReadPath);
                Assert.Null(view.SnapshotId);
                Assert.Equal(RunMessageLevel.Verbose, view.NoteLevel);
                Assert.Contains("ext4", view.Note);
            }
            Assert.Empty(obs.Warnings);
            Assert.Empty(manager.Records());

            using (var none = await SnapshotSources.ForMode(SnapshotMode.None, obs, manager).OpenAsync(src, CancellationToken.None))
                Assert.Equal(src, none.ReadPath);
        }

        [RootFact("mkfs.btrfs", "btrfs", "findmnt")]
        public async Task Cancelling_a_run_before_it_snapshots_leaves_nothing()
        {
            using var pool = new Pool(dataMb: 2);
            using var cts = new CancellationTokenSource();
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pool.Manager.CreateAsync(pool.Sessions, SnapshotProviderKind.Btrfs, false, cts.Token));
            Assert.Empty(pool.ListedNekkSnapshots());
            Assert.Empty(pool.Manager.Records());
        }
    }
}
