using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using NekkBackup.Core.Cloud;
using NekkBackup.Core.Tests.TestKit;
using Xunit;
using static NekkBackup.Core.Tests.Cloud.CloudTestHelpers;

namespace NekkBackup.Core.Tests.Cloud
{
    [Collection("s3rver")]
    public sealed class CloudRoundTripTests
    {
        private readonly S3rverFixture _s3;

        public CloudRoundTripTests(S3rverFixture s3) => _s3 = s3;

        [Fact]
        public async Task StudioTreeAndLargeFile_RoundTripByteForByte_AndIncrementalSendsOnlyChanges()
        {
            using var tmp = new TempDir("cloud-rt");
            var src = tmp.Sub("Sessions");
            StudioData.Generate(src, 20, 7);
            MakeFile(Path.Combine(src, "Bounces", "long-take.wav"), 105L * 1024 * 1024 + 12345, 42);
            var before = DigestWithRoot(src);            // independent digests taken BEFORE the upload
            var bucket = _s3.NewBucket();
            var target = _s3.Target(bucket);
            var journal = tmp.Sub("journal");
            var obs = new RecordingObserver();

            var run1 = await new CloudBackupEngine(target, obs).RunAsync(new CloudBackupOptions { Paths = new[] { src }, JournalDirectory = journal });
            Assert.True(run1.Status == "Succeeded", obs.FailureText);
            Assert.Equal(before.Count, run1.FilesScanned);
            long totalBytes = Directory.EnumerateFiles(src, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
            long distinctBytes = Directory.EnumerateFiles(src, "*", SearchOption.AllDirectories)
                .GroupBy(f => before[Path.GetFileName(src) + "/" + Path.GetRelativePath(src, f).Replace('\\', '/')])
                .Sum(g => new FileInfo(g.First()).Length);
            Assert.Equal(distinctBytes, run1.BytesUploaded);
            Assert.True(run1.BytesUploaded <= totalBytes);

            // Every object read back with a plain client and compared with the digests taken before the upload.
            var items = await new CloudRestoreEngine(target).GetItemsAsync(null);
            Assert.Equal(before.Count, items.Count);
            using (var s3 = _s3.Client())
            {
                foreach (var it in items)
                {
                    Assert.Equal(before[it.Path], it.Hash);
                    Assert.Equal($"studio/testhost/data/{it.Hash}", it.Key);
                    var (hash, len) = ReadBack(s3, bucket, it.Key);
                    Assert.True(hash == before[it.Path], $"object {it.Key} of {it.Path} differs from the source ({len} bytes stored, {it.Size} expected)");
                    Assert.Equal(it.Size, len);
                }
            }

            // Restore and compare with the source digests.
            var restoreDir = Path.Combine(tmp.Path, "restore");
            var rr = await new CloudRestoreEngine(target, obs).RestoreAsync(new CloudRestoreOptions { Target = restoreDir });
            Assert.True(rr.Status == "Succeeded", obs.FailureText);
            var restored = DigestWithRoot(Path.Combine(restoreDir, "Sessions"));
            Assert.True(before.Count == restored.Count && before.All(kv => restored.TryGetValue(kv.Key, out var h) && h == kv.Value), StudioData.Diff(before, restored));
            var someFile = Directory.EnumerateFiles(src, "*", SearchOption.AllDirectories).First();
            Assert.Equal(File.GetLastWriteTimeUtc(someFile), File.GetLastWriteTimeUtc(Path.Combine(restoreDir, "Sessions", Path.GetRelativePath(src, someFile))));

            // No change: 0 bytes sent.
            var run2 = await new CloudBackupEngine(target, obs).RunAsync(new CloudBackupOptions { Paths = new[] { src }, JournalDirectory = journal });
            Assert.Equal("Succeeded", run2.Status);
            Assert.Equal(0, run2.BytesUploaded);
            Assert.Equal(0, run2.FilesUploaded);
            Assert.Equal(run1.FilesScanned, run2.FilesSkipped);

            // One changed file: only that file is sent.
            var changed = Directory.EnumerateFiles(src, "*.rpp", SearchOption.AllDirectories).FirstOrDefault()
                          ?? Directory.EnumerateFiles(src, "*", SearchOption.AllDirectories).First(f => new FileInfo(f).Length < 1_000_000);
            File.AppendAllText(changed, "\n# edited " + Guid.NewGuid());
            var run3 = await new CloudBackupEngine(target, obs).RunAsync(new CloudBackupOptions { Paths = new[] { src }, JournalDirectory = journal });
            Assert.Equal("Succeeded", run3.Status);
            Assert.Equal(1, run3.FilesUploaded);
            Assert.Equal(new FileInfo(changed).Length, run3.BytesUploaded);

            // The latest manifest maps the edited path to the new content; the first run's still maps the old one.
            var latest = await new CloudRestoreEngine(target).GetItemsAsync(null, new[] { "Sessions/" + Path.GetRelativePath(src, changed) });
            Assert.Single(latest);
            Assert.True(Sha256File(changed) == latest[0].Hash, $"{latest[0].Path} {latest[0].Size} {latest[0].Hash} changed={changed} len={new FileInfo(changed).Length}");
            var old = await new CloudRestoreEngine(target).GetItemsAsync(run1.RunId, new[] { "Sessions/" + Path.GetRelativePath(src, changed) });
            Assert.True(old.Count == 1 && before[old[0].Path] == old[0].Hash, string.Join("\n", old.Select(o => $"{o.Path} {o.Hash} {o.Size} before={before[o.Path]} changed={changed}")));
        }

        [Fact]
        public async Task Encrypted_ObjectsAreNotPlaintext_AndRestoreVerifies()
        {
            using var tmp = new TempDir("cloud-enc");
            var src = tmp.Sub("Enc");
            MakeFile(Path.Combine(src, "a.wav"), 20L * 1024 * 1024 + 7, 1);   // multipart
            MakeFile(Path.Combine(src, "small.txt"), 3000, 2);
            File.WriteAllBytes(Path.Combine(src, "empty.bin"), Array.Empty<byte>());
            var before = DigestWithRoot(src);
            var bucket = _s3.NewBucket();
            var target = _s3.Target(bucket);
            var obs = new RecordingObserver();
            var cipher = ContentCipher.FromPassphrase("correct horse battery staple");
            var run = await new CloudBackupEngine(target, obs).RunAsync(new CloudBackupOptions { Paths = new[] { src }, Cipher = cipher, JournalDirectory = tmp.Sub("j") });
            Assert.True(run.Status == "Succeeded", obs.FailureText);
            using (var s3 = _s3.Client())
            {
                var items = await new CloudRestoreEngine(target).GetItemsAsync(null);
                foreach (var it in items)
                {
                    var (hash, len) = ReadBack(s3, bucket, it.Key);
                    Assert.NotEqual(before[it.Path], hash);
                    Assert.Equal(ContentCipher.EncryptedLength(it.Size), len);
                }
            }
            var bad = await Assert.ThrowsAsync<NekkBackup.Core.Errors.NekkBackupException>(() =>
                new CloudRestoreEngine(target).RestoreAsync(new CloudRestoreOptions { Target = Path.Combine(tmp.Path, "r0") }));
            Assert.Equal("NekkBackup.EncryptionKeyRequired", bad.ErrorId);
            var wrong = await new CloudRestoreEngine(target, new RecordingObserver()).RestoreAsync(new CloudRestoreOptions { Target = Path.Combine(tmp.Path, "r1"), Cipher = ContentCipher.FromPassphrase("wrong") });
            Assert.Equal(3, wrong.Errors);
            var rr = await new CloudRestoreEngine(target, obs).RestoreAsync(new CloudRestoreOptions { Target = Path.Combine(tmp.Path, "r2"), Cipher = cipher });
            Assert.True(rr.Status == "Succeeded", obs.FailureText);
            Assert.Equal(before, DigestWithRoot(Path.Combine(tmp.Path, "r2", "Enc")));
        }

        [Fact]
        public async Task ModifiedWithin_OldFilesAreNotRead_AndStayInTheManifest()
        {
            using var tmp = new TempDir("cloud-mw");
            var src = tmp.Sub("Proj");
            var oldFile = MakeFile(Path.Combine(src, "old.wav"), 10_000, 1);
            var newFile = MakeFile(Path.Combine(src, "new.wav"), 10_000, 2);
            var target = _s3.Target(_s3.NewBucket());
            var j = tmp.Sub("j");
            var run1 = await new CloudBackupEngine(target).RunAsync(new CloudBackupOptions { Paths = new[] { src }, JournalDirectory = j });
            Assert.Equal(2, run1.FilesUploaded);

            // Change both; make old.wav 40 days old. With 30d only new.wav is read and sent.
            File.AppendAllText(oldFile, "x");
            File.AppendAllText(newFile, "y");
            File.SetLastWriteTimeUtc(oldFile, DateTime.UtcNow.AddDays(-40));
            var run2 = await new CloudBackupEngine(target).RunAsync(new CloudBackupOptions { Paths = new[] { src }, ModifiedWithin = ModifiedWithin.Parse("30d"), JournalDirectory = j });
            Assert.Equal(1, run2.FilesUploaded);
            Assert.Equal(10_001, run2.BytesUploaded);
            var items = await new CloudRestoreEngine(target).GetItemsAsync(null);
            Assert.Equal(2, items.Count);
            Assert.Equal(10_000, items.Single(i => i.Path == "Proj/old.wav").Size); // kept from the last manifest
        }
    }
}
