using System;
using System.IO;
using System.Linq;
using NekkBackup.Core.Folder;
using NekkBackup.Core.Tests.TestKit;
using Xunit;
using Xunit.Abstractions;

namespace NekkBackup.Core.Tests.Folder
{
    public class RansomwareGuardTests
    {
        private readonly ITestOutputHelper _out;
        public RansomwareGuardTests(ITestOutputHelper output) => _out = output;

        private static string[] SourceFiles(string src) =>
            Directory.GetFiles(src, "*", SearchOption.AllDirectories).Where(f => new FileInfo(f).LinkTarget == null).OrderBy(f => f, StringComparer.Ordinal).ToArray();

        [Fact]
        public void MassOverwrite_Refused_DestinationByteIdentical()
        {
            using var tmp = new TempDir("fb-rw1");
            var src = StudioData.Generate(Path.Combine(tmp.Path, "Studio"), 12, 21);
            var dest = Path.Combine(tmp.Path, "nas");
            Assert.Equal("Succeeded", FolderKit.Backup(dest, null, false, src).Status);
            var before = FolderKit.WholeDirDigest(dest);

            var files = SourceFiles(src);
            FolderKit.Encrypt(files.Where((_, i) => i % 5 != 0), 7); // 80 %
            var run = FolderKit.Backup(dest, null, false, src);
            Assert.Equal("Refused", run.Status);
            Assert.Contains("MaxChangedPercent", run.Reason);
            Assert.Equal(0, run.FilesCopied);
            Assert.Equal(before, FolderKit.WholeDirDigest(dest));
            Assert.Single(FolderBackupEngine.GetRuns(dest));
        }

        [Fact]
        public void MassDeletion_RefusedByPercentOnly()
        {
            using var tmp = new TempDir("fb-rw2");
            var src = StudioData.Generate(Path.Combine(tmp.Path, "Studio"), 10, 22);
            var dest = Path.Combine(tmp.Path, "nas");
            FolderKit.Backup(dest, null, false, src);
            var before = FolderKit.WholeDirDigest(dest);
            foreach (var f in SourceFiles(src).Where((_, i) => i % 5 < 2)) File.Delete(f); // 40 %, no new content
            var run = FolderKit.Backup(dest, null, false, src);
            Assert.Equal("Refused", run.Status);
            Assert.Contains("deleted", run.Reason);
            Assert.Equal(before, FolderKit.WholeDirDigest(dest));
            // MaxChangedPercent raised: goes through.
            var ok = FolderBackupEngine.BackupAsync(new FolderBackupOptions { Sources = new[] { src }, Destination = dest, MaxChangedPercent = 50 }, new RecordingObserver(), default).Result;
            Assert.Equal("Succeeded", ok.Status);
            Assert.True(ok.FilesDeleted > 0);
        }

        [Fact]
        public void TenPercentOfCompressibleFilesEncrypted_RefusedByEntropyOnly_ForceRuns()
        {
            using var tmp = new TempDir("fb-rw3");
            var src = StudioData.Generate(Path.Combine(tmp.Path, "Studio"), 20, 23);
            var dest = Path.Combine(tmp.Path, "nas");
            FolderKit.Backup(dest, null, false, src);
            var before = FolderKit.WholeDirDigest(dest);

            var all = SourceFiles(src);
            var compressible = all.Where(f => FolderKit.TextExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()) && new FileInfo(f).Length >= 2048).ToArray();
            var victims = compressible.Where((_, i) => i % 10 == 0).ToArray(); // 10 % of them
            _out.WriteLine($"{all.Length} files, {compressible.Length} compressible text-ish, encrypting {victims.Length} ({100.0 * victims.Length / all.Length:0.0} % of all)");
            Assert.True(victims.Length >= 3 && 100.0 * victims.Length / all.Length < 15);
            FolderKit.Encrypt(victims, 9);

            var obs = new RecordingObserver();
            var run = FolderKit.Backup(dest, obs, false, src);
            _out.WriteLine(run.Reason);
            Assert.Equal("Refused", run.Status);
            Assert.Contains("encrypted", run.Reason);
            Assert.Equal(before, FolderKit.WholeDirDigest(dest));

            var forced = FolderKit.Backup(dest, null, true, src);
            Assert.Equal("Succeeded", forced.Status);
            Assert.Equal(victims.Length, forced.FilesCopied);
            // The pre-encryption versions stay restorable.
            var first = FolderBackupEngine.GetRuns(dest)[0];
            var r = FolderKit.Restore(dest, Path.Combine(tmp.Path, "r"), first.RunId);
            Assert.Equal("Succeeded", r.Status);
        }

        [Fact]
        public void NormalStudioEdits_NeverRefused()
        {
            using var tmp = new TempDir("fb-rw4");
            var src = StudioData.Generate(Path.Combine(tmp.Path, "Studio"), 20, 24);
            var dest = Path.Combine(tmp.Path, "nas");
            FolderKit.Backup(dest, null, false, src);
            int[] pcts = { 10, 10, 20, 10, 20, 5 };
            for (int i = 0; i < pcts.Length; i++)
            {
                StudioData.Mutate(src, pcts[i], 300 + i);
                var obs = new RecordingObserver();
                var run = FolderKit.Backup(dest, obs, false, src);
                _out.WriteLine($"mutate {pcts[i]} %: {run.Status} {run.FilesCopied} copied; " + string.Join(" | ", obs.Messages.Where(m => m.Contains("guard"))));
                Assert.True(run.Status == "Succeeded", run.Reason);
            }
        }
    }
}
