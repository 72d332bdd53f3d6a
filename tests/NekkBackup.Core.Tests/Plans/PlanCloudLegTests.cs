using System;
using System.Collections;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Amazon.S3.Model;
using NekkBackup.Core.Cloud;
using NekkBackup.Core.Plans;
using NekkBackup.Core.Snapshots;
using NekkBackup.Core.Tests.Cloud;
using NekkBackup.Core.Tests.TestKit;
using Xunit;
using static NekkBackup.Core.Tests.Cloud.CloudTestHelpers;

namespace NekkBackup.Core.Tests.Plans
{
    /// <summary>
    /// A plan's cloud leg, run by Invoke-NekkBackupPlan's runner against s3rver: it reads the sources through a snapshot
    /// of the kind the plan's folder leg uses and honours the plan's Include/Exclude. What reached the bucket is checked
    /// with a plain SDK client: the manifest's paths and the data objects, against digests taken before the run.
    /// </summary>
    [Collection("s3rver")]
    public sealed class PlanCloudLegTests
    {
        private readonly S3rverFixture _s3;

        public PlanCloudLegTests(S3rverFixture s3) => _s3 = s3;

        private BackupPlan Plan(string name, string source, string nas, string bucket, string snapshot, object[] include, object[] exclude)
        {
            var h = PlanTestData.Full();
            h["Name"] = name;
            h["Host"] = "planhost";
            h["Sources"] = new object[] { source };
            h["NasDestination"] = nas;
            h.Remove("Image");
            h["Folder"] = new Hashtable { ["Snapshot"] = snapshot, ["Include"] = include, ["Exclude"] = exclude };
            h["Cloud"] = new Hashtable { ["Bucket"] = bucket, ["Endpoint"] = _s3.Endpoint, ["Prefix"] = "plans", ["Region"] = "us-east-1" };
            return PlanParser.Parse(h, "/etc/nekk/" + name + ".psd1");
        }

        private static PlanRunOptions CloudOnly => new() { Job = "Cloud", PublishStatus = false, WriteEventLog = false, FindDaws = _ => Array.Empty<DawProcess>() };

        private (string[] Paths, string[] DataKeys) Bucket(string bucket, string hostRoot)
        {
            using var s3 = _s3.Client();
            var keys = (s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, Prefix = hostRoot }).GetAwaiter().GetResult().S3Objects ?? new()).Select(o => o.Key).ToArray();
            var manifest = keys.Single(k => k.StartsWith(hostRoot + "manifests/", StringComparison.Ordinal) && k.EndsWith(".json", StringComparison.Ordinal));
            using var r = s3.GetObjectAsync(bucket, manifest).GetAwaiter().GetResult();
            using var doc = JsonDocument.Parse(r.ResponseStream);
            var paths = doc.RootElement.GetProperty("files").EnumerateArray().Select(f => f.GetProperty("path").GetString()!).OrderBy(p => p, StringComparer.Ordinal).ToArray();
            return (paths, keys.Where(k => k.StartsWith(hostRoot + "data/", StringComparison.Ordinal)).ToArray());
        }

        [RootFact("mkfs.btrfs", "btrfs", "findmnt")]
        public async Task CloudLeg_ReadsThroughTheSnapshot_AndExcludedFilesNeverReachTheBucket()
        {
            using var fs = new LoopFileSystem("btrfs", 256);
            using var tmp = new TempDir("plan-cloud");
            CredentialStore.DirectoryOverride = Path.Combine(tmp.Path, "credentials"); // this async flow only
            var bucket = _s3.NewBucket();
            CredentialStore.Set(bucket, S3rverFixture.AccessKey, S3rverFixture.SecretKey);
            var src = Path.Combine(fs.MountPoint, "Sessions");
            var sent = new[]
            {
                MakeFile(Path.Combine(src, "Song A", "mix.wav"), 300_000, 1), MakeFile(Path.Combine(src, "Song A", "song.rpp"), 2_000, 2),
                MakeFile(Path.Combine(src, "Song B", "Audio", "vox.wav"), 150_000, 3),
            };
            var excluded = new[]
            {
                MakeFile(Path.Combine(src, "Song A", "peaks.tmp"), 40_000, 4),                  // Exclude '*.tmp'
                MakeFile(Path.Combine(src, "Song B", "Render Cache", "freeze.wav"), 90_000, 5), // Exclude 'Render Cache'
                MakeFile(Path.Combine(src, "notes.txt"), 1_000, 6),                             // not included
            };
            var digests = sent.ToDictionary(f => "Sessions/" + Path.GetRelativePath(src, f).Replace('\\', '/'), Sha256File);
            var plan = Plan("cloudleg-" + Guid.NewGuid().ToString("N").Substring(0, 6), src, tmp.Sub("nas"), bucket, "Required",
                new object[] { "*.wav", "*.rpp", "*.tmp" }, new object[] { "*.tmp", "Render Cache" });
            var obs = new RecordingObserver();

            var result = await PlanRunner.RunAsync(plan, CloudOnly, obs, CancellationToken.None);
            Assert.True(result.Status == "Succeeded", result.Reason + "\n" + obs.FailureText);
            var upload = Assert.Single(result.Jobs);
            Assert.Equal("Cloud", upload.Job);
            Assert.Equal(3, upload.Files);

            // Read from a btrfs snapshot of the source, released afterwards.
            Assert.Contains(obs.Messages, m => m.Contains($"Reading '{src}' from snapshot Btrfs"));
            Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(fs.MountPoint, BtrfsSnapshotProvider.SnapshotDirName)));

            var target = CloudLegRunner.Target(plan);
            var (paths, data) = Bucket(bucket, target.HostRoot);
            Assert.Equal(digests.Keys.OrderBy(p => p, StringComparer.Ordinal), paths);
            Assert.Equal(digests.Values.Select(target.DataKey).OrderBy(k => k, StringComparer.Ordinal), data.OrderBy(k => k, StringComparer.Ordinal));
            foreach (var f in excluded)
                Assert.DoesNotContain(target.DataKey(Sha256File(f)), data);
        }

        [Fact]
        public async Task CloudLeg_WithSnapshotRequired_WhereNoneCanBeMade_FailsAndSendsNothing()
        {
            using var tmp = new TempDir("plan-cloud-nosnap");
            CredentialStore.DirectoryOverride = Path.Combine(tmp.Path, "credentials");
            var bucket = _s3.NewBucket();
            CredentialStore.Set(bucket, S3rverFixture.AccessKey, S3rverFixture.SecretKey);
            var src = tmp.Sub("Live");
            MakeFile(Path.Combine(src, "a.wav"), 5_000, 1);
            var plan = Plan("cloudleg-" + Guid.NewGuid().ToString("N").Substring(0, 6), src, tmp.Sub("nas"), bucket, "Required", Array.Empty<object>(), Array.Empty<object>());

            var result = await PlanRunner.RunAsync(plan, CloudOnly, new RecordingObserver(), CancellationToken.None);
            var upload = Assert.Single(result.Jobs);
            Assert.Equal("Failed", upload.Status);
            Assert.Contains("snapshot", upload.Detail, StringComparison.OrdinalIgnoreCase);
            using var s3 = _s3.Client();
            var keys = (await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket })).S3Objects ?? new();
            Assert.DoesNotContain(keys, o => o.Key.Contains("/data/") || o.Key.Contains("/manifests/"));
        }
    }
}
