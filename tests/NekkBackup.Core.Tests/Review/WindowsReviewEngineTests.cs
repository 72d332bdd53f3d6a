using System;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Folder;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Resilience;
using NekkBackup.Core.Snapshots;
using NekkBackup.Core.Tests.Folder;
using NekkBackup.Core.Tests.Snapshots;
using NekkBackup.Core.Tests.TestKit;
using Xunit;

namespace NekkBackup.Core.Tests.Review
{
    /// <summary>
    /// Review findings W4 and W7 (issue 10), checked by running the real folder engine on this Linux host: the VSS
    /// provider with the fake CIM layer and a fake volume API whose shadow "device" is a real folder, and the folder
    /// engine with the Windows (case-insensitive) path identity.
    /// </summary>
    public sealed class WindowsReviewEngineTests : IDisposable
    {
        private readonly TempDir _dir = new("review-engine");

        public void Dispose() => _dir.Dispose();

        private static void Write(string path, string text, DateTime? mtimeUtc = null)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, text);
            File.SetLastWriteTimeUtc(path, mtimeUtc ?? new DateTime(2026, 11, 2, 10, 0, 0, DateTimeKind.Utc));
        }

        private static void CopyTree(string from, string to)
        {
            foreach (var f in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
            {
                var dst = Path.Combine(to, Path.GetRelativePath(from, f));
                Directory.CreateDirectory(Path.GetDirectoryName(dst)!);
                File.Copy(f, dst);
                File.SetLastWriteTimeUtc(dst, File.GetLastWriteTimeUtc(f));
            }
        }

        // ------------------------------------------------------------------ W4

        [Fact]
        [Trait("Review", "W4")]
        public async Task W4_a_source_that_is_a_volume_root_is_read_through_a_link_to_the_shadow_root()
        {
            // The source is a mount point of another volume: its path inside the shadow is the shadow's root.
            var source = _dir.Sub("Media");
            Write(Path.Combine(source, "Takes", "take1.wav"), "take one");
            Write(Path.Combine(source, "Takes", "take2.wav"), "take two");
            Write(Path.Combine(source, "notes.txt"), "session notes");
            // What the shadow copy froze; the live volume changes after the snapshot.
            var frozen = _dir.Sub("shadow-content");
            CopyTree(source, frozen);
            Write(Path.Combine(source, "late.wav"), "recorded after the snapshot");

            var cim = new FakeCim { Counter = 7 };
            var volumes = new FakeVolumes { MountPoint = source.Replace('/', '\\') + @"\", Guid = @"\\?\Volume{0b1c2d3e-0000-0000-0000-100000000007}\" };
            volumes.ShadowContent[@"\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy7\"] = frozen;
            var links = Path.Combine(_dir.Path, "data", "shadow-links");
            var obs = new Folder.RecordingObserver();
            var provider = new VssSnapshotProvider(() => cim, volumes, obs, () => true, () => true, () => VssHostCheck.Result.Native,
                new NekkResilience.RetryPreset(1, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(1)), links);
            var manager = new SnapshotManager(new SnapshotStateStore(Path.Combine(_dir.Path, "data", "snapshots.json")), new ISnapshotProvider[] { provider }, obs,
                isWindows: () => true, isLinux: () => false);

            var dest = _dir.Sub("nas");
            var run = await FolderBackupEngine.BackupAsync(new FolderBackupOptions
            {
                Sources = new[] { source },
                Destination = dest,
                SourceResolver = SnapshotSources.ForMode(SnapshotMode.Required, obs, manager),
            }, obs, CancellationToken.None);

            Assert.True(run.Status == "Succeeded", run.Status + ": " + string.Join("; ", run.ErrorDetails) + "\n" + obs.Describe());
            Assert.Equal(3, run.FilesCopied);
            Assert.StartsWith("Vss:{", run.SnapshotUsed);
            FolderKit.AssertSameTree(frozen, Path.Combine(dest, "Media"));
            // The link pointed at the root WITH its trailing backslash (else Windows makes a file link) and is gone again,
            // before the shadow itself was deleted.
            var link = Assert.Single(volumes.Calls, c => c.StartsWith("Link ", StringComparison.Ordinal));
            Assert.EndsWith(@"-> \\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy7\", link);
            Assert.Contains(volumes.Calls, c => c.StartsWith("Unlink " + links, StringComparison.Ordinal));
            Assert.Empty(Directory.GetFileSystemEntries(links));
            Assert.Empty(cim.Shadows);
        }

        // ------------------------------------------------------------------ W7

        private static string StudioTree(string root)
        {
            var studio = Path.Combine(root, "Studio");
            for (int i = 1; i <= 8; i++) Write(Path.Combine(studio, "Sessions", "Song A", $"take{i}.wav"), $"take {i} of song A");
            Write(Path.Combine(studio, "Sessions", "Song A", "Song A.ptx"), "pro tools session");
            Write(Path.Combine(studio, "Samples", "kick.wav"), "kick");
            Write(Path.Combine(studio, "Samples", "snare.wav"), "snare");
            return studio;
        }

        private static FolderBackupRun Backup(string source, string dest, PathIdentity identity) =>
            FolderBackupEngine.BackupAsync(new FolderBackupOptions { Sources = new[] { source }, Destination = dest, ThrottleLimit = 2, PathIdentity = identity },
                NullRunObserver.Instance, CancellationToken.None).GetAwaiter().GetResult();

        private static int ManifestEntries(string dest)
        {
            var repo = new FolderRepository(dest);
            return repo.LoadManifest(repo.ListRunIds().Last()).Entries.Count;
        }

        [Fact]
        [Trait("Review", "W7")]
        public void W7_case_only_renames_and_another_case_source_path_are_the_same_files_with_Windows_identity()
        {
            // Control: with byte-for-byte (POSIX) identity the case rename looks like 9 of 11 files deleted and 9 new ones:
            // the ransomware guard refuses. That is right on Linux and exactly the W7 failure on Windows.
            var posix = StudioTree(_dir.Sub("posix"));
            var posixNas = _dir.Sub("posix-nas");
            Assert.Equal("Succeeded", Backup(posix, posixNas, PathIdentity.Posix).Status);
            Directory.Move(Path.Combine(posix, "Sessions"), Path.Combine(posix, "SESSIONS"));
            Assert.Equal("Refused", Backup(posix, posixNas, PathIdentity.Posix).Status);

            // Windows identity: the same rename is no change at all.
            var studio = StudioTree(_dir.Sub("win"));
            var nas = _dir.Sub("win-nas");
            var first = Backup(studio, nas, PathIdentity.Windows);
            Assert.Equal("Succeeded", first.Status);
            int entries = ManifestEntries(nas);
            Directory.Move(Path.Combine(studio, "Sessions"), Path.Combine(studio, "SESSIONS"));
            var renamed = Backup(studio, nas, PathIdentity.Windows);
            Assert.True(renamed.Status == "Succeeded", renamed.Status + ": " + renamed.Reason);
            Assert.Equal((0L, 0L, 0L), (renamed.FilesCopied, renamed.FilesDeleted, renamed.FilesVersioned));
            Assert.Equal(entries, ManifestEntries(nas));

            // The source typed in another case ("...\studio"; here a link of that name to the same folder): the recorded
            // tree stays "Studio/...", nothing is copied again and nothing is duplicated in the manifest.
            var otherCase = Path.Combine(_dir.Path, "typed", "studio");
            Directory.CreateDirectory(Path.GetDirectoryName(otherCase)!);
            Directory.CreateSymbolicLink(otherCase, studio);
            var typed = Backup(otherCase, nas, PathIdentity.Windows);
            Assert.True(typed.Status == "Succeeded", typed.Status + ": " + typed.Reason);
            Assert.Equal((0L, 0L), (typed.FilesCopied, typed.FilesDeleted));
            Assert.Equal(entries, ManifestEntries(nas));

            // A real change under the renamed folder is still seen.
            Write(Path.Combine(studio, "SESSIONS", "Song A", "take1.wav"), "take 1, punched in", new DateTime(2026, 11, 3, 9, 0, 0, DateTimeKind.Utc));
            var changed = Backup(studio, nas, PathIdentity.Windows);
            Assert.Equal((1L, 1L), (changed.FilesCopied, changed.FilesVersioned));
        }
    }
}
