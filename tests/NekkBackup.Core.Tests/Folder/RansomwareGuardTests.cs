using System;
using System.IO;
using System.Linq;
using System.Threading;
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

        /// <summary>
        /// A tree of 12 text files and 4 random ones, backed up; then <paramref name="edit"/> text files edited (still text),
        /// <paramref name="encrypt"/> text files and <paramref name="noise"/> random files replaced by new random bytes.
        /// </summary>
        private (FolderRunPlan Plan, RecordingObserver Obs) GuardPlan(string name, int edit, int encrypt, int noise)
        {
            using var tmp = new TempDir(name);
            var src = tmp.Sub("S");
            var rng = new Random(5);
            var texts = Enumerable.Range(0, 12).Select(i => Path.Combine(src, $"take{i:00}.xml")).ToArray();
            var bins = Enumerable.Range(0, 4).Select(i => Path.Combine(src, $"take{i:00}.wav")).ToArray();
            foreach (var t in texts)
                File.WriteAllText(t, string.Concat(Enumerable.Range(0, 400).Select(k => $"<param id=\"{k}\" value=\"{rng.Next(100)}\"/>\n")));
            foreach (var b in bins) File.WriteAllBytes(b, new byte[6000]);
            FolderKit.Encrypt(bins, 6);
            var dest = Path.Combine(tmp.Path, "nas");
            Assert.Equal("Succeeded", FolderKit.Backup(dest, null, false, src).Status);
            foreach (var t in texts.Take(edit)) { File.AppendAllText(t, "<param id=\"new\" value=\"1\"/>\n"); File.SetLastWriteTimeUtc(t, DateTime.UtcNow.AddMinutes(-2)); }
            FolderKit.Encrypt(texts.Skip(edit).Take(encrypt), 8);
            FolderKit.Encrypt(bins.Take(noise), 9);
            var obs = new RecordingObserver();
            var plan = FolderBackupEngine.Plan(new FolderBackupOptions { Sources = new[] { src }, Destination = dest, MaxChangedPercent = 100 }, obs, CancellationToken.None);
            _out.WriteLine($"{plan.Guard.Replaced} replaced, {plan.Guard.Suspicious} suspicious, {plan.Guard.Compressible?.ToString() ?? "not counted"} compressible: {plan.Refusal}");
            _out.WriteLine(obs.Describe());
            Assert.Equal(edit + encrypt + noise, plan.Guard.Replaced);
            return (plan, obs);
        }

        [Fact]
        public void Guard_ReadsOldCopiesOnlyOfFilesThatNoLongerCompress()
        {
            // Edits that keep text as text, and media replaced by other media: the old copy is read only for the 2 files
            // whose new content does not compress (the random ones), not for the 5 edited texts.
            var (plan, obs) = GuardPlan("fb-rw-lazy", edit: 5, encrypt: 0, noise: 2);
            Assert.Null(plan.Refusal);
            Assert.Equal(0, plan.Guard.Suspicious);
            Assert.Null(plan.Guard.Compressible);
            Assert.Contains(obs.Messages, m => m.Contains("2 do not compress now, so 2 old copies were read"));
        }

        [Fact]
        public void Guard_ThreeEncryptedAmongManyEditedTexts_SharePassesWithEveryOldCopyCounted()
        {
            // 3 suspicious reach MinSuspicious, so every replaced file's old ratio is read for the share rule: 3 of 12
            // compressible is under 50 %, so the run goes on.
            var (plan, _) = GuardPlan("fb-rw-share", edit: 9, encrypt: 3, noise: 1);
            Assert.Null(plan.Refusal);
            Assert.Equal(3, plan.Guard.Suspicious);
            Assert.Equal(12, plan.Guard.Compressible);
        }

        [Fact]
        public void Guard_FourEncryptedAmongFewEdits_Refused()
        {
            var (plan, _) = GuardPlan("fb-rw-refuse", edit: 1, encrypt: 4, noise: 1);
            Assert.NotNull(plan.Refusal);
            Assert.Equal(4, plan.Guard.Suspicious);
            Assert.Equal(5, plan.Guard.Compressible);
            Assert.Contains("4 of 5 replaced files", plan.Refusal);
        }
    }
}
