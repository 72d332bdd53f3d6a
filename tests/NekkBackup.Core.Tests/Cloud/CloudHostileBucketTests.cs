using System;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Tasks;
using Amazon.S3.Model;
using NekkBackup.Core.Cloud;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Tests.TestKit;
using NekkBackup.Core.Validation;
using Xunit;
using static NekkBackup.Core.Tests.Cloud.CloudTestHelpers;

namespace NekkBackup.Core.Tests.Cloud
{
    /// <summary>A bucket other programs can write to (issue 11): manifests and pointers are validated before a restore uses them.</summary>
    [Collection("s3rver")]
    public sealed class CloudHostileBucketTests
    {
        private readonly S3rverFixture _s3;

        public CloudHostileBucketTests(S3rverFixture s3) => _s3 = s3;

        private async Task<(CloudTarget Target, string Src, CloudRun Run, TempDir Tmp)> Fixture(string name)
        {
            var tmp = new TempDir(name);
            var src = tmp.Sub("S");
            MakeFile(Path.Combine(src, "a.bin"), 3000, 1);
            MakeFile(Path.Combine(src, "sub", "b.bin"), 5000, 2);
            MakeFile(Path.Combine(src, "c.bin"), 700, 3);
            var target = _s3.Target(_s3.NewBucket());
            var run = await new CloudBackupEngine(target).RunAsync(new CloudBackupOptions { Paths = new[] { src }, JournalDirectory = tmp.Sub("j") });
            Assert.Equal("Succeeded", run.Status);
            return (target, src, run, tmp);
        }

        private void EditManifest(CloudTarget target, string runId, Action<JsonObject> edit)
        {
            using var s3 = _s3.Client();
            var key = target.ManifestKey(runId);
            using var r = s3.GetObjectAsync(target.Bucket, key).GetAwaiter().GetResult();
            var o = JsonNode.Parse(new StreamReader(r.ResponseStream).ReadToEnd())!.AsObject();
            edit(o);
            s3.PutObjectAsync(new PutObjectRequest { BucketName = target.Bucket, Key = key, ContentBody = o.ToJsonString(), UseChunkEncoding = false }).GetAwaiter().GetResult();
        }

        private static JsonObject File(JsonObject m, string path) => m["files"]!.AsArray().Select(x => x!.AsObject()).First(x => (string?)x["path"] == path);

        [Fact]
        public async Task EntriesThatLeaveTheTargetOrTheHost_AreItemErrors_TheRestIsRestored()
        {
            var (target, src, run, tmp) = await Fixture("cloud-hostile1");
            using var _ = tmp;
            EditManifest(target, run.RunId, m =>
            {
                File(m, "S/a.bin")["path"] = "S/../../../escape.bin";
                File(m, "S/c.bin")["key"] = "studio/otherhost/data/" + (string)File(m, "S/c.bin")["sha256"]!;
                var b = File(m, "S/sub/b.bin");
                for (int i = 0; i < 3000; i++) m["files"]!.AsArray().Add(b.DeepClone());
                m["files"]!.AsArray().Add(null);
            });
            var obs = new RecordingObserver();
            var dest = Path.Combine(tmp.Path, "restore");
            var r = await new CloudRestoreEngine(target, obs).RestoreAsync(new CloudRestoreOptions { Target = dest });
            Assert.Equal("CompletedWithErrors", r.Status);
            Assert.False(System.IO.File.Exists(Path.Combine(tmp.Path, "escape.bin")));
            Assert.Contains(obs.Failures, f => f.Error.ErrorId == "NekkBackup.UnsafePath");
            Assert.Contains(obs.Failures, f => f.Error.ErrorId == "NekkBackup.CloudManifestInvalid" && f.Error.Message.Contains(".key'"));
            Assert.Single(obs.Failures, f => f.Item == "S/sub/b.bin");
            Assert.Contains(obs.Failures, f => f.Error.Message.Contains("is null"));
            Assert.Equal(0, r.FilesRestored); // b.bin was repeated: none of its copies is used
            Assert.Empty(Directory.Exists(dest) ? Directory.GetFiles(dest, "*", SearchOption.AllDirectories) : Array.Empty<string>());
        }

        [Fact]
        public async Task LatestPointerThatIsNotARunId_IsIgnored_AndAWrongTypeIsNamed()
        {
            var (target, src, run, tmp) = await Fixture("cloud-hostile2");
            using var _ = tmp;
            using (var s3 = _s3.Client())
                await s3.PutObjectAsync(new PutObjectRequest { BucketName = target.Bucket, Key = target.LatestPointerKey, ContentBody = "../../otherhost/manifests/x", UseChunkEncoding = false });
            var items = await new CloudRestoreEngine(target).GetItemsAsync(null);
            Assert.Equal(3, items.Count);
            Assert.All(items, i => Assert.Equal(run.RunId, i.RunId));

            EditManifest(target, run.RunId, m => m["files"] = "not a list");
            var e = await Assert.ThrowsAsync<NekkBackupException>(() => new CloudRestoreEngine(target).RestoreAsync(new CloudRestoreOptions { Target = Path.Combine(tmp.Path, "r") }));
            Assert.Equal("NekkBackup.CloudManifestInvalid", e.ErrorId);
            Assert.Contains("files", e.Message);
            Assert.Contains(target.ManifestKey(run.RunId), e.Message);
        }

        [Fact]
        public async Task ArchiveManifest_IsValidatedBeforeUse()
        {
            using var tmp = new TempDir("cloud-hostile3");
            var project = tmp.Sub("Project");
            MakeFile(Path.Combine(project, "mix.wav"), 4000, 9);
            MakeFile(Path.Combine(project, "stems", "kick.wav"), 2000, 10);
            var target = _s3.Target(_s3.NewBucket());
            var a = await new CloudArchiveEngine(target).RunAsync(new CloudArchiveOptions { Path = project, StorageClass = "STANDARD", ArchiveId = "project-1" });
            byte[] bytes;
            using (var s3 = _s3.Client())
            using (var r = await s3.GetObjectAsync(target.Bucket, a.ManifestKey))
            using (var ms = new MemoryStream()) { r.ResponseStream.CopyTo(ms); bytes = ms.ToArray(); }

            var m = CloudRules.ParseArchive(bytes, a.ManifestKey, target, "project-1");
            var (good, bad) = CloudRules.SortArchiveFiles(m, a.ManifestKey);
            Assert.Equal(2, good.Count);
            Assert.Empty(bad);

            var o = JsonNode.Parse(bytes)!.AsObject();
            o["files"]!.AsArray()[0]!["offset"] = m.TarBytes + 10;
            o["files"]!.AsArray()[1]!["path"] = "/etc/passwd";
            var (good2, bad2) = CloudRules.SortArchiveFiles(CloudRules.ParseArchive(Encoding.UTF8.GetBytes(o.ToJsonString()), a.ManifestKey, target, "project-1"), a.ManifestKey);
            Assert.Empty(good2);
            Assert.Contains(bad2, b => b.Error.ErrorId == "NekkBackup.UnsafePath");
            Assert.Contains(bad2, b => b.Error.Message.Contains(".offset'"));

            o["archiveId"] = "../other";
            Assert.Equal("NekkBackup.CloudManifestInvalid", Assert.Throws<NekkBackupException>(() => CloudRules.ParseArchive(Encoding.UTF8.GetBytes(o.ToJsonString()), a.ManifestKey, target, null)).ErrorId);
        }
    }
}
