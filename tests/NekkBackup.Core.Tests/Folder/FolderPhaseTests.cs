using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Folder;
using NekkBackup.Core.Tests.TestKit;
using Xunit;
using Xunit.Abstractions;

namespace NekkBackup.Core.Tests.Folder
{
    /// <summary>
    /// The folder leg's phases on real trees: the plan (a -WhatIf preview) writes nothing and predicts the run that
    /// follows; formatVersion on format.json and manifests (newer majors refused, 0.1.0's files still read); the
    /// platform's path identity in versions, restore and test.
    /// </summary>
    public class FolderPhaseTests
    {
        private readonly ITestOutputHelper _out;
        public FolderPhaseTests(ITestOutputHelper output) => _out = output;

        private static FolderBackupOptions Options(string dest, string src, RetentionPolicy? retention = null, PathIdentity? identity = null, bool force = false) =>
            new() { Sources = new[] { src }, Destination = dest, ThrottleLimit = 2, Retention = retention, PathIdentity = identity ?? PathIdentity.Platform, Force = force };

        private static FolderBackupRun Run(FolderBackupOptions o) =>
            FolderBackupEngine.BackupAsync(o, new RecordingObserver(), CancellationToken.None).GetAwaiter().GetResult();

        [Fact]
        public void Plan_WritesNothing_AndPredictsTheRunThatFollows()
        {
            using var tmp = new TempDir("fb-plan");
            var src = StudioData.Generate(Path.Combine(tmp.Path, "Studio"), 6, 71);
            var dest = Path.Combine(tmp.Path, "nas");

            // A destination that does not exist yet: everything is to copy, and nothing is created.
            var first = FolderBackupEngine.Plan(Options(dest, src), null, CancellationToken.None);
            Assert.False(Directory.Exists(dest));
            var files = Directory.GetFiles(src, "*", SearchOption.AllDirectories);
            Assert.Equal((files.Length, files.Sum(f => new FileInfo(f).Length), 0), (first.FilesToCopy, first.BytesToCopy, first.Deletions.Count));
            Assert.False(first.Guard.Checked);
            var run1 = Run(Options(dest, src));
            Assert.Equal((long)first.FilesToCopy, run1.FilesCopied);
            Assert.Equal(first.BytesToCopy, run1.BytesCopied);

            Thread.Sleep(20);
            var run2 = Run(Options(dest, src));
            StudioData.Mutate(src, 10, 72);
            File.Delete(Directory.GetFiles(src, "*", SearchOption.AllDirectories).OrderBy(f => f, StringComparer.Ordinal).First());
            var before = FolderKit.WholeDirDigest(dest);
            var plan = FolderBackupEngine.Plan(Options(dest, src, new RetentionPolicy { KeepLast = 2 }), null, CancellationToken.None);
            Assert.Equal(before, FolderKit.WholeDirDigest(dest));
            _out.WriteLine($"copy {plan.FilesToCopy} ({plan.BytesToCopy} bytes), delete {plan.Deletions.Count}, versions ≤ {plan.VersionsToKeep}, guard {plan.Guard.ChangedPercent:0.#} %, drops {string.Join(",", plan.RetentionDrops)}");
            Assert.True(plan.Guard.Checked && plan.Refusal == null);
            Assert.True(plan.FilesToCopy > 0 && plan.Deletions.Count > 0);
            Assert.Equal(new[] { run1.RunId }, plan.RetentionDrops.ToArray()); // KeepLast 2 with the planned run: the oldest goes

            var run3 = Run(Options(dest, src, new RetentionPolicy { KeepLast = 2 }));
            Assert.Equal("Succeeded", run3.Status);
            Assert.Equal((long)plan.FilesToCopy, run3.FilesCopied);
            Assert.Equal(plan.BytesToCopy, run3.BytesCopied);
            Assert.Equal((long)plan.Deletions.Count, run3.FilesDeleted);
            Assert.InRange(run3.FilesVersioned, 1, plan.VersionsToKeep);
            Assert.Equal(new[] { run2.RunId, run3.RunId }, FolderBackupEngine.GetRuns(dest).Select(r => r.RunId).ToArray());
        }

        [Fact]
        public void Plan_CarriesTheGuardsVerdict_WithoutTouchingTheDestination()
        {
            using var tmp = new TempDir("fb-plan-guard");
            var src = StudioData.Generate(Path.Combine(tmp.Path, "Studio"), 8, 73);
            var dest = Path.Combine(tmp.Path, "nas");
            Assert.Equal("Succeeded", Run(Options(dest, src)).Status);
            var before = FolderKit.WholeDirDigest(dest);
            var texts = Directory.GetFiles(src, "*", SearchOption.AllDirectories)
                .Where(f => FolderKit.TextExtensions.Contains(Path.GetExtension(f).ToLowerInvariant())).ToArray();
            FolderKit.Encrypt(texts, 74);
            var plan = FolderBackupEngine.Plan(new FolderBackupOptions { Sources = new[] { src }, Destination = dest, MaxChangedPercent = 100 }, null, CancellationToken.None);
            _out.WriteLine($"{plan.Guard.Replaced} replaced, {plan.Guard.Suspicious} of {plan.Guard.Compressible} look encrypted: {plan.Refusal}");
            Assert.NotNull(plan.Refusal);
            Assert.True(plan.Guard.Suspicious > 0 && plan.Guard.Replaced >= texts.Length);
            Assert.Equal(before, FolderKit.WholeDirDigest(dest));
        }

        private static JsonObject ReadJson(string path) => JsonNode.Parse(File.ReadAllText(path))!.AsObject();

        [Fact]
        public void FormatVersion_IsWritten_NewerMajorsRefused_OldFilesRead()
        {
            using var tmp = new TempDir("fb-format");
            var src = tmp.Sub("S");
            File.WriteAllText(Path.Combine(src, "a.txt"), "alpha");
            var dest = Path.Combine(tmp.Path, "nas");
            var run = FolderKit.Backup(dest, null, false, src);
            var meta = Path.Combine(dest, ".nekkbackup");
            var format = ReadJson(Path.Combine(meta, "format.json"));
            Assert.Equal((1, "nekkbackup-folder", 1), ((int)format["formatVersion"]!, (string)format["format"]!, (int)format["version"]!));
            var manifestPath = Path.Combine(meta, "runs", run.RunId + ".json");
            Assert.StartsWith("{\"formatVersion\":1,", File.ReadAllText(manifestPath)); // first, so a reader finds it before anything else
            Assert.Equal(1, (int)ReadJson(manifestPath)["Format"]!); // 0.1.0 reads it too

            // A manifest as 0.1.0 wrote it (no formatVersion) reads and restores.
            var m = ReadJson(manifestPath);
            m.Remove("formatVersion");
            File.WriteAllText(manifestPath, m.ToJsonString());
            Assert.Equal("Succeeded", FolderKit.Restore(dest, Path.Combine(tmp.Path, "r0")).Status);

            // A newer major (with a layout this version cannot parse) is refused as such, not reported as damage.
            var newer = new JsonObject { ["formatVersion"] = "2.1", ["RunId"] = run.RunId, ["Entries"] = new JsonObject { ["chunked"] = true } };
            File.WriteAllText(manifestPath, newer.ToJsonString());
            var ex = Assert.ThrowsAny<NekkBackupException>(() => FolderKit.Restore(dest, Path.Combine(tmp.Path, "r1")));
            Assert.Equal("NekkBackup.UnsupportedFormatVersion", ex.ErrorId);
            Assert.Contains("2.1", ex.Message);
            Assert.Contains(FolderBackupEngine.GetRuns(dest), r => r.Status == "Damaged" && r.Reason!.Contains("format version 2"));
            Assert.Contains(FolderKit.Test(dest, false).Problems, p => p.Contains("UnsupportedFormatVersion"));
            var backup = Assert.ThrowsAny<NekkBackupException>(() => FolderKit.Backup(dest, null, false, src));
            Assert.Equal("NekkBackup.UnsupportedFormatVersion", backup.ErrorId);
            Assert.Single(Directory.GetFiles(Path.Combine(meta, "runs")));

            // A newer format.json refuses a backup before anything is written.
            File.Delete(manifestPath);
            format["formatVersion"] = 3;
            File.WriteAllText(Path.Combine(meta, "format.json"), format.ToJsonString());
            var before = FolderKit.WholeDirDigest(dest);
            var refused = Assert.ThrowsAny<NekkBackupException>(() => FolderKit.Backup(dest, null, false, src));
            Assert.Equal("NekkBackup.UnsupportedFormatVersion", refused.ErrorId);
            Assert.Equal("NekkBackup.UnsupportedFormatVersion", Assert.ThrowsAny<NekkBackupException>(() => FolderBackupEngine.GetRuns(dest)).ErrorId);
            Assert.Empty(Directory.GetFiles(Path.Combine(meta, "runs")));
            Assert.Equal(before, FolderKit.WholeDirDigest(dest));
        }

        [Fact]
        public void WindowsIdentity_VersionsRestoreAndTest_FindFilesInAnyCase()
        {
            using var tmp = new TempDir("fb-w7");
            var src = tmp.Sub("Studio");
            Directory.CreateDirectory(Path.Combine(src, "Sessions", "Song A"));
            File.WriteAllText(Path.Combine(src, "Sessions", "Song A", "take1.wav"), "take one");
            File.WriteAllText(Path.Combine(src, "Sessions", "Song A", "notes.txt"), "notes");
            var dest = Path.Combine(tmp.Path, "nas");
            Assert.Equal("Succeeded", Run(Options(dest, src, identity: PathIdentity.Windows)).Status);
            File.WriteAllText(Path.Combine(src, "Sessions", "Song A", "take1.wav"), "take one, punched in");
            File.SetLastWriteTimeUtc(Path.Combine(src, "Sessions", "Song A", "take1.wav"), DateTime.UtcNow.AddMinutes(1));
            Assert.Equal("Succeeded", Run(Options(dest, src, identity: PathIdentity.Windows, force: true)).Status);

            var versions = FolderBackupEngine.GetFileVersions(dest, "studio/SESSIONS/song a/TAKE1.WAV", PathIdentity.Windows);
            Assert.Equal(new[] { "Added", "Changed" }, versions.Select(v => v.State).ToArray());
            Assert.Empty(FolderBackupEngine.GetFileVersions(dest, "studio/SESSIONS/song a/TAKE1.WAV", PathIdentity.Posix));

            var r = Path.Combine(tmp.Path, "r");
            var restored = FolderBackupEngine.RestoreAsync(new FolderRestoreOptions { Destination = dest, Target = r, Paths = new[] { "sessions/SONG A/*.WAV" }, PathIdentity = PathIdentity.Windows },
                new RecordingObserver(), CancellationToken.None).GetAwaiter().GetResult();
            Assert.Equal((1L, "Succeeded"), (restored.FilesRestored, restored.Status));
            Assert.Equal("take one, punched in", File.ReadAllText(Path.Combine(r, "Studio", "Sessions", "Song A", "take1.wav")));
            var posix = Assert.ThrowsAny<NekkBackupException>(() => FolderBackupEngine.RestoreAsync(new FolderRestoreOptions
            {
                Destination = dest, Target = Path.Combine(tmp.Path, "r2"), Paths = new[] { "sessions/SONG A/*.WAV" }, PathIdentity = PathIdentity.Posix,
            }, new RecordingObserver(), CancellationToken.None).GetAwaiter().GetResult());
            Assert.Equal("NekkBackup.PathNotFound", posix.ErrorId);
            Assert.Equal("Passed", Verifier.RunAsync(dest, true, new RecordingObserver(), CancellationToken.None, PathIdentity.Windows).GetAwaiter().GetResult().Status);
        }
    }
}
