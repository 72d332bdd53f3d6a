using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using Amazon.S3.Model;
using NekkBackup.Core.Cloud;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Plans;
using NekkBackup.Core.Tests.TestKit;
using Xunit;
using static NekkBackup.Core.Tests.Cloud.CloudTestHelpers;

namespace NekkBackup.Core.Tests.Cloud
{
    /// <summary>
    /// The cloud leg on the shared walker and primitives, against s3rver: Include/Exclude (nothing excluded reaches the
    /// bucket), links recorded and restored as links (never followed out of the tree), run ids that stay Gregorian and
    /// ordered under a Thai Buddhist-calendar culture, and manifests of a newer major refused clearly.
    /// </summary>
    [Collection("s3rver")]
    public sealed class CloudWalkAndFormatTests
    {
        private readonly S3rverFixture _s3;

        public CloudWalkAndFormatTests(S3rverFixture s3) => _s3 = s3;

        private string[] Keys(string bucket, string prefix)
        {
            using var s3 = _s3.Client();
            return (s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, Prefix = prefix }).GetAwaiter().GetResult().S3Objects ?? new())
                .Select(o => o.Key).ToArray();
        }

        private JsonObject Manifest(CloudTarget t, string runId)
        {
            using var s3 = _s3.Client();
            using var r = s3.GetObjectAsync(t.Bucket, t.ManifestKey(runId)).GetAwaiter().GetResult();
            return JsonNode.Parse(new StreamReader(r.ResponseStream).ReadToEnd())!.AsObject();
        }

        [Fact]
        public async Task IncludeExclude_ExcludedFilesNeverReachTheBucket()
        {
            using var tmp = new TempDir("cloud-filter");
            var src = tmp.Sub("Proj");
            var keep = new[] { MakeFile(Path.Combine(src, "mix.wav"), 5000, 1), MakeFile(Path.Combine(src, "Stems", "kick.wav"), 7000, 2), MakeFile(Path.Combine(src, "song.rpp"), 900, 3) };
            var drop = new[]
            {
                MakeFile(Path.Combine(src, "notes.txt"), 800, 4),                              // not included
                MakeFile(Path.Combine(src, "Render Cache", "mix.wav"), 6000, 5),               // excluded folder
                MakeFile(Path.Combine(src, "Stems", "take.tmp.wav"), 4000, 6),                 // excluded pattern
            };
            var t = _s3.Target(_s3.NewBucket());
            var run = await new CloudBackupEngine(t).RunAsync(new CloudBackupOptions
            {
                Paths = new[] { src }, JournalDirectory = tmp.Sub("j"), Include = new[] { "*.wav", "*.rpp" }, Exclude = new[] { "Render Cache", "*.tmp.wav" },
            });
            Assert.Equal("Succeeded", run.Status);
            Assert.Equal(3, run.FilesScanned);
            var paths = Manifest(t, run.RunId)["files"]!.AsArray().Select(f => (string)f!["path"]!).OrderBy(p => p, StringComparer.Ordinal);
            Assert.Equal(new[] { "Proj/Stems/kick.wav", "Proj/mix.wav", "Proj/song.rpp" }, paths);
            var stored = Keys(t.Bucket, t.DataPrefix);
            Assert.All(keep, f => Assert.Contains(t.DataKey(Sha256File(f)), stored));
            Assert.All(drop, f => Assert.DoesNotContain(t.DataKey(Sha256File(f)), stored));
            Assert.Equal(3, stored.Length);
        }

        [Fact]
        public async Task Links_AreRecordedWithTheirTarget_NotFollowed_AndRestoredAsLinks()
        {
            if (!OperatingSystemInfo.IsLinux) return;
            using var tmp = new TempDir("cloud-links");
            var src = tmp.Sub("S");
            var outside = MakeFile(Path.Combine(tmp.Path, "elsewhere", "secret.wav"), 3000, 9);
            MakeFile(Path.Combine(src, "a.wav"), 2000, 1);
            File.CreateSymbolicLink(Path.Combine(src, "to-secret.wav"), outside);
            Directory.CreateSymbolicLink(Path.Combine(src, "Samples"), Path.GetDirectoryName(outside)!);
            var t = _s3.Target(_s3.NewBucket());
            var run = await new CloudBackupEngine(t).RunAsync(new CloudBackupOptions { Paths = new[] { src }, JournalDirectory = tmp.Sub("j") });
            Assert.Equal("Succeeded", run.Status);
            Assert.Equal(3, run.FilesScanned);
            Assert.DoesNotContain(t.DataKey(Sha256File(outside)), Keys(t.Bucket, t.DataPrefix)); // never followed out of the tree
            var files = Manifest(t, run.RunId)["files"]!.AsArray().Select(f => f!.AsObject()).ToDictionary(f => (string)f["path"]!);
            Assert.Equal(outside, (string)files["S/to-secret.wav"]["link"]!);
            Assert.Equal("", (string)files["S/to-secret.wav"]["sha256"]!);
            Assert.True((bool)files["S/Samples"]["linkIsDirectory"]!);
            Assert.False(files["S/a.wav"].ContainsKey("link"));

            var items = await new CloudRestoreEngine(t).GetItemsAsync(null);
            Assert.Equal(outside, items.Single(i => i.Path == "S/to-secret.wav").LinkTarget);
            var dest = Path.Combine(tmp.Path, "r");
            var rr = await new CloudRestoreEngine(t).RestoreAsync(new CloudRestoreOptions { Target = dest });
            Assert.Equal("Succeeded", rr.Status);
            Assert.Equal(outside, new FileInfo(Path.Combine(dest, "S", "to-secret.wav")).LinkTarget);
            Assert.Equal(Path.GetDirectoryName(outside), new DirectoryInfo(Path.Combine(dest, "S", "Samples")).LinkTarget);
            Assert.Equal(Sha256File(Path.Combine(src, "a.wav")), Sha256File(Path.Combine(dest, "S", "a.wav")));
        }

        [Fact]
        public async Task TheEncryptionWarning_IsForAChangedEncryption_NotForEachLinkOfAnUnchangedOne()
        {
            // PreviousRun once let its 'else' bind to the link test inside its loop: every link of a run with the same
            // encryption warned "every file is re-read and re-sent", and a changed encryption did not warn at all.
            if (!OperatingSystemInfo.IsLinux) return;
            using var tmp = new TempDir("cloud-enc-warn");
            var src = tmp.Sub("S");
            MakeFile(Path.Combine(src, "a.wav"), 2000, 1);
            File.CreateSymbolicLink(Path.Combine(src, "to-a.wav"), Path.Combine(src, "a.wav"));
            File.CreateSymbolicLink(Path.Combine(src, "to-b.wav"), Path.Combine(src, "b.wav"));
            var t = _s3.Target(_s3.NewBucket());
            var options = new CloudBackupOptions { Paths = new[] { src }, JournalDirectory = tmp.Sub("j") };
            Assert.Equal("Succeeded", (await new CloudBackupEngine(t).RunAsync(options)).Status);

            var same = new RecordingObserver();
            Assert.Equal("Succeeded", (await new CloudBackupEngine(t, same).RunAsync(options)).Status);
            Assert.DoesNotContain(same.Messages, m => m.Contains("used encryption"));

            var changed = new RecordingObserver();
            var encrypted = new CloudBackupOptions { Paths = new[] { src }, JournalDirectory = tmp.Sub("j"), Cipher = ContentCipher.FromPassphrase("new key") };
            Assert.Equal("Succeeded", (await new CloudBackupEngine(t, changed).RunAsync(encrypted)).Status);
            Assert.Single(changed.Messages, m => m.StartsWith("Warning") && m.Contains("used encryption 'none'"));
        }

        [Fact]
        public async Task RunIds_UnderAThaiCalendarCulture_AreGregorian_Ordered_AndReadAsTimes()
        {
            using var tmp = new TempDir("cloud-thai");
            var src = tmp.Sub("Sessions");
            MakeFile(Path.Combine(src, "a.wav"), 4000, 1);
            var proj = tmp.Sub("Album");
            MakeFile(Path.Combine(proj, "mix.wav"), 3000, 2);
            var t = _s3.Target(_s3.NewBucket());
            var saved = CultureInfo.CurrentCulture;
            var thai = new CultureInfo("th-TH");
            thai.DateTimeFormat.Calendar = new ThaiBuddhistCalendar();
            CultureInfo.CurrentCulture = thai;
            // The trap: the current culture writes the Buddhist year (543 years ahead).
            Assert.StartsWith((DateTime.UtcNow.Year + 543).ToString(CultureInfo.InvariantCulture), DateTime.UtcNow.ToString("yyyyMMdd"));
            try
            {
                var year = DateTime.UtcNow.Year.ToString(CultureInfo.InvariantCulture);
                var first = await new CloudBackupEngine(t).RunAsync(new CloudBackupOptions { Paths = new[] { src }, JournalDirectory = tmp.Sub("j") });
                File.AppendAllText(Path.Combine(src, "a.wav"), "more");
                var second = await new CloudBackupEngine(t).RunAsync(new CloudBackupOptions { Paths = new[] { src }, JournalDirectory = tmp.Sub("j") });
                foreach (var id in new[] { first.RunId, second.RunId })
                {
                    Assert.StartsWith(year, id);
                    Assert.True(NekkBackup.Core.Primitives.RunId.IsWellFormed(id), id);
                    Assert.Contains(t.ManifestKey(id), Keys(t.Bucket, t.ManifestPrefix));
                    var started = CloudEvidenceSource.StartedOf(id);
                    Assert.NotNull(started);
                    Assert.InRange(started!.Value, DateTime.UtcNow.AddMinutes(-5), DateTime.UtcNow.AddMinutes(1));
                }
                Assert.True(string.CompareOrdinal(first.RunId, second.RunId) < 0, $"{first.RunId} !< {second.RunId}");
                Assert.Equal(new[] { first.RunId, second.RunId }, await new CloudRestoreEngine(t).GetRunIdsAsync());
                Assert.Equal(second.RunId, (await new CloudRestoreEngine(t).GetItemsAsync(null))[0].RunId);

                var archive = await new CloudArchiveEngine(t).RunAsync(new CloudArchiveOptions { Path = proj, StorageClass = "STANDARD", JournalDirectory = tmp.Sub("j") });
                Assert.Matches("^Album-" + year + @"\d{4}T\d{6}Z$", archive.ArchiveId);
            }
            finally
            {
                CultureInfo.CurrentCulture = saved;
            }
        }

        [Fact]
        public async Task ManifestOfANewerMajor_IsRefusedClearly_OldOnesWithoutAVersionStillRead()
        {
            using var tmp = new TempDir("cloud-version");
            var src = tmp.Sub("S");
            MakeFile(Path.Combine(src, "a.wav"), 4000, 1);
            var t = _s3.Target(_s3.NewBucket());
            var run = await new CloudBackupEngine(t).RunAsync(new CloudBackupOptions { Paths = new[] { src }, JournalDirectory = tmp.Sub("j") });
            var m = Manifest(t, run.RunId);
            Assert.Equal(1, (int)m["formatVersion"]!);
            using var s3 = _s3.Client();

            m.Remove("formatVersion"); // as every manifest written before the storage redesign
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = t.Bucket, Key = t.ManifestKey(run.RunId), ContentBody = m.ToJsonString(), UseChunkEncoding = false });
            Assert.Single(await new CloudRestoreEngine(t).GetItemsAsync(null));

            m["formatVersion"] = "2.0";
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = t.Bucket, Key = t.ManifestKey(run.RunId), ContentBody = m.ToJsonString(), UseChunkEncoding = false });
            var ex = await Assert.ThrowsAsync<NekkBackupException>(() => new CloudRestoreEngine(t).RestoreAsync(new CloudRestoreOptions { Target = Path.Combine(tmp.Path, "r") }));
            Assert.Equal("NekkBackup.UnsupportedFormatVersion", ex.ErrorId);
            Assert.Contains(t.ManifestKey(run.RunId), ex.Message);
            Assert.False(Directory.Exists(Path.Combine(tmp.Path, "r")));
        }
    }
}
