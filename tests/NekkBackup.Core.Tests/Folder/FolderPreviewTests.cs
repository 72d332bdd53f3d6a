using System;
using System.IO;
using System.Linq;
using System.Threading;
using NekkBackup.Core.Folder;
using NekkBackup.Core.Tests.TestKit;
using Xunit;

namespace NekkBackup.Core.Tests.Folder
{
    /// <summary>
    /// Backup-NekkFolder -WhatIf (issue 13 item 2): the public preview writes nothing, its totals are the sums of its
    /// items, and the run that follows does what it said (copies and deletions exactly; versions at most).
    /// </summary>
    public class FolderPreviewTests
    {
        private static FolderBackupOptions Options(string dest, string src, RetentionPolicy? retention = null) =>
            new() { Sources = new[] { src }, Destination = dest, ThrottleLimit = 2, Retention = retention, MaxChangedPercent = 100 };

        [Fact]
        public void Preview_WritesNothing_SumsItsItems_AndPredictsTheRun()
        {
            using var tmp = new TempDir("fb-preview");
            var src = StudioData.Generate(Path.Combine(tmp.Path, "Studio"), 6, 81);
            var dest = Path.Combine(tmp.Path, "nas");
            var run1 = FolderBackupEngine.BackupAsync(Options(dest, src), new RecordingObserver(), CancellationToken.None).GetAwaiter().GetResult();
            // What the first run backed up, by path and size (read from the tree, not from the product).
            var backedUp = Directory.GetFiles(src, "*", SearchOption.AllDirectories).ToDictionary(f => f, f => new FileInfo(f).Length);
            Thread.Sleep(20);
            StudioData.Mutate(src, 10, 82);
            foreach (var f in Directory.GetFiles(src, "*", SearchOption.AllDirectories).OrderBy(f => f, StringComparer.Ordinal).Take(2).ToArray())
                File.Delete(f);
            var gone = backedUp.Keys.Where(f => !File.Exists(f)).ToArray();
            long goneBytes = gone.Sum(f => backedUp[f]);
            var before = FolderKit.WholeDirDigest(dest);

            var p = FolderBackupEngine.PreviewAsync(Options(dest, src, new RetentionPolicy { KeepLast = 1 }), null, CancellationToken.None).GetAwaiter().GetResult();

            Assert.Equal(before, FolderKit.WholeDirDigest(dest));
            Assert.True(p.DestinationHasBackup);
            Assert.Equal(Directory.GetFiles(src, "*", SearchOption.AllDirectories).Length, p.FilesScanned);
            Assert.Equal(((long)gone.Length, goneBytes), (p.FilesToDelete, p.BytesToDelete));
            long Sum(string action) => p.Items.Where(i => i.Action == action).Sum(i => i.Size ?? 0);
            int Count(string action) => p.Items.Count(i => i.Action == action);
            Assert.Equal((p.FilesToCopy, p.BytesToCopy), (Count("Copy"), Sum("Copy")));
            Assert.Equal((p.FilesToVersion, p.BytesToVersion), (Count("Version"), Sum("Version")));
            Assert.Equal(p.FilesToDelete, Count("Delete"));
            Assert.Equal(new[] { run1.RunId }, p.RetentionPrunes);
            Assert.Equal("Pass", p.Guard);
            Assert.True(p.FilesToCopy > 0);

            var run2 = FolderBackupEngine.BackupAsync(Options(dest, src, new RetentionPolicy { KeepLast = 1 }), new RecordingObserver(), CancellationToken.None).GetAwaiter().GetResult();
            Assert.Equal((p.FilesToCopy, p.BytesToCopy, p.FilesToDelete), (run2.FilesCopied, run2.BytesCopied, run2.FilesDeleted));
            Assert.InRange(run2.FilesVersioned, 1, p.FilesToVersion);
        }

        [Fact]
        public void Preview_OfANewDestination_CreatesNothing_AndDoesNotCheckTheGuard()
        {
            using var tmp = new TempDir("fb-preview-new");
            var src = StudioData.Generate(Path.Combine(tmp.Path, "Studio"), 3, 83);
            var dest = Path.Combine(tmp.Path, "nas");
            var p = FolderBackupEngine.PreviewAsync(Options(dest, src, new RetentionPolicy { KeepLast = 1 }), null, CancellationToken.None).GetAwaiter().GetResult();
            Assert.False(Directory.Exists(dest));
            Assert.False(p.DestinationHasBackup);
            Assert.Equal(("NotChecked", 0), (p.Guard, p.RetentionPrunes.Length));
            var files = Directory.GetFiles(src, "*", SearchOption.AllDirectories);
            Assert.Equal((files.LongLength, files.Sum(f => new FileInfo(f).Length), 0L), (p.FilesToCopy, p.BytesToCopy, p.FilesToVersion));
        }
    }
}
