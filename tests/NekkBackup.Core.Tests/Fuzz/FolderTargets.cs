using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Folder;
using NekkBackup.Core.Tests.Folder;

namespace NekkBackup.Core.Tests.Fuzz
{
    /// <summary>
    /// The folder destination's formats. The fixture is real: three Backup-NekkFolder runs of a small generated studio
    /// tree (files changed, deleted and added between runs, so history objects exist), a pending run journal written by
    /// the engine's journal writer, and a lock record. Each trial attacks one part and calls Restore, Test (quick or
    /// full), GetRuns, GetFileVersions or an incremental Backup.
    /// </summary>
    internal sealed class FolderTarget : FuzzTarget
    {
        public enum Part { Manifest, Format, Journal, Objects, Mirror, Lock }

        private readonly Part _part;
        private readonly Dictionary<string, Dictionary<string, string>> _refs = new(StringComparer.Ordinal);
        private readonly HashSet<string> _contents = new(StringComparer.Ordinal);
        private string[] _runIds = Array.Empty<string>();
        private string _srcFixture = "";

        public FolderTarget(Part part) => _part = part;

        public override string Name => "folder." + _part.ToString().ToLowerInvariant();

        /// <summary>A small studio tree: takes, samples with holes, an empty file, a link, a deep folder.</summary>
        internal static void Generate(string s, int seed)
        {
            var rng = new Random(seed);
            byte[] Bytes(int n, bool holes = false)
            {
                var b = new byte[n];
                rng.NextBytes(b);
                if (holes) Array.Clear(b, n / 4, n / 2);
                return b;
            }
            Directory.CreateDirectory(Path.Combine(s, "Sessions", "Take 1"));
            Directory.CreateDirectory(Path.Combine(s, "Samples"));
            Directory.CreateDirectory(Path.Combine(s, "Deep", "x", "y"));
            Directory.CreateDirectory(Path.Combine(s, "Empty folder"));
            File.WriteAllBytes(Path.Combine(s, "Sessions", "Take 1", "kick.wav"), Bytes(48 * 1024));
            File.WriteAllBytes(Path.Combine(s, "Sessions", "Take 1", "snare.wav"), Bytes(9 * 1024));
            File.WriteAllText(Path.Combine(s, "Sessions", "Take 1", "notes.txt"), "take one, " + rng.Next());
            File.WriteAllText(Path.Combine(s, "Sessions", "song.rpp"), "<REAPER_PROJECT 0.1\n  <TRACK\n  >\n>\n" + rng.Next());
            File.WriteAllBytes(Path.Combine(s, "Samples", "loop.aif"), Bytes(200 * 1024, holes: true));
            File.WriteAllBytes(Path.Combine(s, "empty.txt"), Array.Empty<byte>());
            File.WriteAllText(Path.Combine(s, "Deep", "x", "y", "z.txt"), "deep " + rng.Next());
            File.CreateSymbolicLink(Path.Combine(s, "latest-notes"), "Sessions/Take 1/notes.txt");
        }

        private void Snap(string src, string runId)
        {
            var d = Digests.Tree(src).ToDictionary(kv => "S/" + kv.Key, kv => kv.Value, StringComparer.Ordinal);
            _refs[runId] = d;
            foreach (var v in d.Values) _contents.Add(v);
        }

        public override void Build(string dir)
        {
            FuzzRunner.TryDelete(dir);
            var src = Path.Combine(dir, "src", "S");
            var dest = Path.Combine(dir, "dest");
            Generate(src, 7);
            var r1 = FolderKit.Backup(dest, null, true, src);
            Snap(src, r1.RunId);
            File.WriteAllBytes(Path.Combine(src, "Sessions", "Take 1", "kick.wav"), Enumerable.Range(0, 30000).Select(i => (byte)(i * 7 % 251)).ToArray());
            File.Delete(Path.Combine(src, "Sessions", "Take 1", "snare.wav"));
            File.WriteAllText(Path.Combine(src, "Sessions", "new.txt"), "new in run 2");
            Thread.Sleep(20);
            var r2 = FolderKit.Backup(dest, null, true, src);
            Snap(src, r2.RunId);
            File.AppendAllText(Path.Combine(src, "Sessions", "song.rpp"), "\n# edit 3");
            File.WriteAllText(Path.Combine(src, "Deep", "x", "y", "z.txt"), "deeper");
            Thread.Sleep(20);
            var r3 = FolderKit.Backup(dest, null, true, src);
            Snap(src, r3.RunId);
            _runIds = new[] { r1.RunId, r2.RunId, r3.RunId };
            if (new[] { r1, r2, r3 }.Any(r => r.Status != "Succeeded")) throw new InvalidOperationException("fixture backup failed");

            // A pending journal (an interrupted fourth run), written by the engine's own journal writer.
            var repo = new FolderRepository(dest);
            var manifest = repo.LoadManifest(r3.RunId);
            using (var j = RunJournal.Create(repo, NekkBackup.Core.Primitives.RunId.New() + "-zz"))
            {
                foreach (var e in manifest.Entries.Take(4)) j.Landed(e);
                j.Removed("S/Sessions/new.txt");
            }
            // Stale lock records (runs that died long ago on another host): 0.1.0's lock file and a lock object.
            File.WriteAllText(Path.Combine(repo.Meta, FolderLock.LegacyKey), JsonSerializer.Serialize(new FolderLock.LegacyRecord { host = "other-host", pid = 4242, time = DateTime.UtcNow.AddHours(-3), token = "t" }));
            Directory.CreateDirectory(Path.Combine(repo.Meta, "locks"));
            var stale = DateTime.UtcNow.AddHours(-3);
            File.WriteAllText(Path.Combine(repo.Meta, "locks", "0123456789abcdef0123456789abcdef.json"), JsonSerializer.Serialize(new
            {
                formatVersion = 1, id = "0123456789abcdef0123456789abcdef", host = "other-host", pid = 4242, exclusive = true,
                operation = "Backup-NekkFolder", created = stale, refreshed = stale, leaseSeconds = 1800.0,
            }));
            _srcFixture = Path.Combine(dir, "src");
        }

        public override void Prepare(string fixture, TrialContext t)
        {
            FsCopy.Tree(Path.Combine(fixture, "dest"), t.Fixture);
            FsCopy.Tree(_srcFixture, Path.Combine(t.Sandbox, "src"));
        }

        private string Meta(TrialContext t, params string[] p) => Path.Combine(new[] { t.Fixture, ".nekkbackup" }.Concat(p).ToArray());

        private static List<string> FilesUnder(string dir) =>
            Directory.Exists(dir) ? Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Where(f => new FileInfo(f).LinkTarget == null).ToList() : new List<string>();

        public override void Attack(TrialContext t)
        {
            var m = t.Mutate;
            var r = t.Rng.Next(100);
            switch (_part)
            {
                case Part.Manifest:
                    if (r < 8) m.SwapDirectory(Meta(t, "runs"));
                    else if (r < 11) m.SwapDirectory(Meta(t));
                    else
                    {
                        m.Attack(Meta(t, "runs", t.Pick(_runIds) + ".json"), json: true);
                        if (t.Rng.Next(4) == 0) m.Attack(Meta(t, "runs", t.Pick(_runIds) + ".json"), json: true);
                    }
                    break;
                case Part.Format:
                    m.Attack(Meta(t, "format.json"), json: true, swapPercent: 25);
                    break;
                case Part.Journal:
                    if (r < 12) m.SwapDirectory(Meta(t, "journal"));
                    else m.Attack(FilesUnder(Meta(t, "journal")).First(), json: true, lines: true);
                    break;
                case Part.Objects:
                    var objects = FilesUnder(Meta(t, "objects"));
                    if (r < 10) m.SwapDirectory(Meta(t, "objects"));
                    else if (r < 25) m.SwapDirectory(Path.GetDirectoryName(t.Pick(objects.ToArray()))!);
                    else if (r < 45) m.SwapFile(t.Pick(objects.ToArray()));
                    else { var o = t.Pick(objects.ToArray()); File.WriteAllBytes(o, m.MutateBytes(File.ReadAllBytes(o))); }
                    if (t.Rng.Next(3) == 0) m.SwapDirectory(Meta(t, "partial"));
                    break;
                case Part.Mirror:
                    var files = FilesUnder(Path.Combine(t.Fixture, "S"));
                    var dirs = Directory.GetDirectories(Path.Combine(t.Fixture, "S"), "*", SearchOption.AllDirectories).Where(d => new DirectoryInfo(d).LinkTarget == null).ToArray();
                    if (r < 30) m.SwapDirectory(t.Pick(dirs));
                    else if (r < 65) m.SwapFile(t.Pick(files.ToArray()));
                    else
                    {
                        var f = t.Pick(files.ToArray());
                        var time = File.GetLastWriteTimeUtc(f);
                        File.WriteAllBytes(f, m.MutateBytes(File.ReadAllBytes(f)));
                        if (t.Rng.Next(2) == 0) File.SetLastWriteTimeUtc(f, time);
                    }
                    break;
                case Part.Lock:
                    if (r < 50) m.Attack(Meta(t, "lock"), json: true, swapPercent: 35);
                    else if (r < 60) m.SwapDirectory(Meta(t, "locks"));
                    else m.Attack(Meta(t, "locks", "0123456789abcdef0123456789abcdef.json"), json: true, swapPercent: 35);
                    break;
            }
            ChooseEntry(t);
        }

        private static readonly (string Entry, int Weight)[] Entries =
        {
            ("Restore", 24), ("Restore -RunId", 8), ("Restore -Path", 6), ("Test", 15), ("Test -Full", 15), ("GetRuns", 8),
            ("GetFileVersions", 8), ("Backup", 11), ("Backup -Retention", 5),
        };

        /// <summary>Picks the entry point; a backup gets a changed source (before the sandbox is snapshotted).</summary>
        private static void ChooseEntry(TrialContext t)
        {
            t.Entry = Weighted(t, Entries);
            if (t.Entry.StartsWith("Backup", StringComparison.Ordinal))
            {
                var src = Path.Combine(t.Sandbox, "src", "S");
                File.AppendAllText(Path.Combine(src, "Sessions", "song.rpp"), "\n# trial " + t.Seed);
                File.WriteAllText(Path.Combine(src, "Deep", "x", "y", "z.txt"), "trial " + t.Seed);
            }
            if (t.Entry == "Restore -Path") t.CatalogMutated = true; // a part of the run, not all of it
        }

        internal static string Weighted(TrialContext t, (string Entry, int Weight)[] entries)
        {
            int x = t.Rng.Next(entries.Sum(e => e.Weight));
            foreach (var (e, w) in entries) { if (x < w) return e; x -= w; }
            return entries[0].Entry;
        }

        public override async Task<object?> InvokeAsync(TrialContext t, CancellationToken ct)
        {
            var dest = t.Fixture;
            var obs = new RecordingObserver();
            switch (t.Entry)
            {
                case "Restore":
                case "Restore -RunId":
                case "Restore -Path":
                    string? runId = t.Entry == "Restore -RunId" ? t.Pick(_runIds) : null;
                    string[]? paths = t.Entry == "Restore -Path" ? new[] { t.Pick("Sessions/*", "S/Deep", "*.wav", "S/empty.txt") } : null;
                    return await FolderBackupEngine.RestoreAsync(new FolderRestoreOptions { Destination = dest, Target = t.Target, RunId = runId, Paths = paths }, obs, ct).ConfigureAwait(false);
                case "Test":
                    return await FolderBackupEngine.TestAsync(dest, false, obs, ct).ConfigureAwait(false);
                case "Test -Full":
                    return await FolderBackupEngine.TestAsync(dest, true, obs, ct).ConfigureAwait(false);
                case "GetRuns":
                    return FolderBackupEngine.GetRuns(dest);
                case "GetFileVersions":
                    return FolderBackupEngine.GetFileVersions(dest, t.Pick("S/Sessions/Take 1/kick.wav", "Sessions/song.rpp", "S/empty.txt", "S/latest-notes", "../../outside/bait.txt"));
                default:
                    var retention = t.Entry == "Backup -Retention" ? new RetentionPolicy { KeepLast = 1 + t.Rng.Next(2) } : null;
                    return await FolderBackupEngine.BackupAsync(new FolderBackupOptions
                    {
                        Sources = new[] { Path.Combine(t.Sandbox, "src", "S") }, Destination = dest, Force = true, ThrottleLimit = 2, Retention = retention,
                    }, obs, ct).ConfigureAwait(false);
            }
        }

        public override string? Verify(TrialContext t, object? result)
        {
            switch (result)
            {
                case FolderRestoreResult r:
                    if (!_refs.TryGetValue(r.RunId, out var reference)) return $"restored run '{r.RunId}', which the destination does not hold";
                    return Digests.CheckRestore(Path.Combine(t.Target), reference.ToDictionary(k => k.Key, k => k.Value), _contents, t.CatalogMutated, r.Status == "Succeeded");
                case FolderBackupRun b when b.Status == "Succeeded" || b.Status == "CompletedWithErrors":
                    // The promise of a good run: it restores the source as it was read — or names what it cannot restore.
                    var o = Watchdog.Run(ct => FolderBackupEngine.RestoreAsync(new FolderRestoreOptions { Destination = t.Fixture, Target = t.Target, RunId = b.RunId },
                        new RecordingObserver(), ct), Deadline, t.Sandbox);
                    if (o.Hung) return "restoring the new run hung";
                    if (o.Error != null) return o.Error is Errors.NekkBackupException ? null : "restoring the new run threw " + o.Error.GetType().Name + ": " + o.Error.Message;
                    var src = Digests.Tree(Path.Combine(t.Sandbox, "src", "S")).ToDictionary(kv => "S/" + kv.Key, kv => kv.Value, StringComparer.Ordinal);
                    // A file that failed to copy keeps its previous version; a damaged catalog may carry a (backed-up) content over.
                    bool exact = b.Status == "Succeeded" && !t.CatalogMutated;
                    var contents = new HashSet<string>(_contents.Concat(src.Values), StringComparer.Ordinal);
                    return Digests.CheckRestore(t.Target, src, contents, catalogMutated: !exact, succeeded: exact && o.Value!.Status == "Succeeded");
                default:
                    return null;
            }
        }
    }
}
