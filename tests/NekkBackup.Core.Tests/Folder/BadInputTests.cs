using System;
using System.IO;
using System.Threading;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Folder;
using NekkBackup.Core.Tests.TestKit;
using Xunit;

namespace NekkBackup.Core.Tests.Folder
{
    /// <summary>Bad input fails with the right ErrorId before anything is written.</summary>
    public class BadInputTests
    {
        private static NekkBackupException BackupFails(FolderBackupOptions o) =>
            Assert.ThrowsAny<NekkBackupException>(() => FolderBackupEngine.BackupAsync(o, new RecordingObserver(), CancellationToken.None).GetAwaiter().GetResult());

        [Fact]
        public void Backup_BadInput_RightErrorId_NothingWritten()
        {
            using var tmp = new TempDir("fb-bad");
            var src = tmp.Sub("Src");
            File.WriteAllText(Path.Combine(src, "a.txt"), "a");
            var dest = Path.Combine(tmp.Path, "nas");

            Assert.Equal("NekkBackup.SourceNotFound", BackupFails(new FolderBackupOptions { Sources = new[] { Path.Combine(tmp.Path, "nope") }, Destination = dest }).ErrorId);
            Assert.False(Directory.Exists(dest));

            var inside = Path.Combine(src, "backup");
            Assert.Equal("NekkBackup.DestinationInsideSource", BackupFails(new FolderBackupOptions { Sources = new[] { src }, Destination = inside }).ErrorId);
            Assert.False(Directory.Exists(inside));

            Assert.Equal("NekkBackup.DestinationNotFound", BackupFails(new FolderBackupOptions { Sources = new[] { src }, Destination = Path.Combine(tmp.Path, "no", "such", "nas") }).ErrorId);

            var neg = BackupFails(new FolderBackupOptions { Sources = new[] { src }, Destination = dest, Retention = new RetentionPolicy { Daily = -1 } });
            Assert.Equal("NekkBackup.InvalidRetention", neg.ErrorId);
            Assert.Equal(FailureKind.InvalidArgument, neg.Kind);
            Assert.Equal("NekkBackup.InvalidRetention", BackupFails(new FolderBackupOptions { Sources = new[] { src }, Destination = dest, Retention = new RetentionPolicy { KeepLast = 0, Daily = 0 } }).ErrorId);
            Assert.Equal("NekkBackup.InvalidRetention", BackupFails(new FolderBackupOptions { Sources = new[] { src }, Destination = dest, Retention = new RetentionPolicy() }).ErrorId);
            Assert.False(Directory.Exists(dest));

            Assert.Equal("NekkBackup.InvalidPath", BackupFails(new FolderBackupOptions { Sources = new[] { "relative/path" }, Destination = dest }).ErrorId);
            Assert.Equal(new[] { "Src" }, Array.ConvertAll(Directory.GetFileSystemEntries(tmp.Path), Path.GetFileName));
        }

        [Fact]
        public void Restore_BadInput_RightErrorId_NothingWritten()
        {
            using var tmp = new TempDir("fb-bad2");
            var src = tmp.Sub("Src");
            File.WriteAllText(Path.Combine(src, "a.txt"), "a");
            var dest = Path.Combine(tmp.Path, "nas");
            var run = FolderKit.Backup(dest, null, false, src);
            var target = Path.Combine(tmp.Path, "t");

            var e1 = Assert.Throws<NekkBackupException>(() => FolderKit.Restore(dest, target, runId: "20990101T000000000Z-abcdef"));
            Assert.Equal("NekkBackup.RunNotFound", e1.ErrorId);
            Assert.False(Directory.Exists(target));

            var e2 = Assert.Throws<NekkBackupException>(() => FolderKit.Restore(dest, target, asOf: run.Started.AddDays(-1)));
            Assert.Equal("NekkBackup.RunNotFound", e2.ErrorId);
            Assert.False(Directory.Exists(target));

            Directory.CreateDirectory(target);
            File.WriteAllText(Path.Combine(target, "mine.txt"), "keep me");
            var e3 = Assert.Throws<NekkBackupException>(() => FolderKit.Restore(dest, target));
            Assert.Equal("NekkBackup.TargetNotEmpty", e3.ErrorId);
            Assert.Single(Directory.GetFileSystemEntries(target));

            var ok = FolderKit.Restore(dest, target, overwrite: true);
            Assert.Equal("Succeeded", ok.Status);
            Assert.Equal("keep me", File.ReadAllText(Path.Combine(target, "mine.txt")));
            Assert.Equal("a", File.ReadAllText(Path.Combine(target, "Src", "a.txt")));

            var e4 = Assert.Throws<NekkBackupException>(() => FolderBackupEngine.GetRuns(tmp.Sub("empty")));
            Assert.Equal("NekkBackup.BackupNotFound", e4.ErrorId);
        }
    }
}
