using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using Amazon.S3.Model;
using NekkBackup.Core.Cloud;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Plans;
using NekkBackup.Core.Tests.Cloud;
using NekkBackup.Core.Tests.TestKit;
using Xunit;
using static NekkBackup.Core.Tests.Cloud.CloudTestHelpers;

namespace NekkBackup.Core.Tests.Plans
{
    /// <summary>
    /// The cloud restore drill against s3rver (and the recording proxy where s3rver cannot play cold storage). What the
    /// drill fetched is counted on the wire, sizes come from the source tree, and the record is read back with a plain
    /// SDK client — never the product's word for itself.
    /// </summary>
    [Collection("s3rver")]
    public sealed class CloudDrillTests
    {
        private readonly S3rverFixture _s3;

        public CloudDrillTests(S3rverFixture s3) => _s3 = s3;

        private static List<string> Tree(string src, int files, int size, int seed)
        {
            var list = new List<string>();
            for (int i = 0; i < files; i++)
                list.Add(MakeFile(Path.Combine(src, $"Song {i % 7}", $"take{i:000}.wav"), size + (i * 37 % 1000), seed + i));
            return list;
        }

        private static async Task<CloudRun> UploadAsync(CloudTarget target, string src, string journal, string? storageClass = null) =>
            await new CloudBackupEngine(target).RunAsync(new CloudBackupOptions { Paths = new[] { src }, JournalDirectory = journal, StorageClass = storageClass });

        private static List<RecordedRequest> DataGets(FaultProxy proxy, CloudTarget t) =>
            proxy.Requests.Where(r => r.Method == "GET" && r.Path.Contains("/" + t.DataPrefix)).ToList();

        private JsonObject RecordInBucket(CloudTarget t, string drillId)
        {
            using var s3 = _s3.Client();
            using var r = s3.GetObjectAsync(t.Bucket, t.DrillKey(drillId)).GetAwaiter().GetResult();
            return JsonNode.Parse(r.ResponseStream)!.AsObject();
        }

        [Fact]
        public void Sample_IsSeeded_HoldsTheShareAndTheBytes_AndStopsThere()
        {
            var files = Enumerable.Range(0, 1000).Select(i => new ManifestEntry { Path = $"S/f{i:0000}.wav", Size = 1000 + i * 13 % 5000, Hash = new string('a', 64) }).ToList();
            var a = CloudDrillEngine.Sample(files, 5, 200_000, 7);
            Assert.Equal(a.Select(f => f.Path), CloudDrillEngine.Sample(files, 5, 200_000, 7).Select(f => f.Path));
            Assert.True(a.Count >= 50, $"{a.Count} files");
            Assert.True(a.Sum(f => f.Size) >= 200_000);
            // Minimal: without its last file the sample misses one of the two floors.
            var less = a.Take(a.Count - 1).ToList();
            Assert.True(less.Count < 50 || less.Sum(f => f.Size) < 200_000);
            // Random, not the first files of the manifest, and another seed picks others.
            Assert.NotEqual(files.Take(a.Count).Select(f => f.Path), a.Select(f => f.Path));
            var b = CloudDrillEngine.Sample(files, 5, 200_000, 8);
            Assert.True(b.Select(f => f.Path).Except(a.Select(f => f.Path)).Count() > b.Count / 2);
            // A run smaller than the byte floor is drilled whole, empty files included, whatever the seed puts last.
            Assert.Equal(1000, CloudDrillEngine.Sample(files, 5, 1L << 30, 7).Count);
            var small = files.Take(27).Concat(Enumerable.Range(0, 3).Select(i => new ManifestEntry { Path = $"S/empty{i}.txt", Size = 0, Hash = new string('b', 64) })).ToList();
            for (int seed = 0; seed < 300; seed++) Assert.Equal(30, CloudDrillEngine.Sample(small, 5, 1L << 30, seed).Count);
        }

        [Fact]
        public async Task FullDrill_FetchesEveryFile_Verifies_Records_AndLeavesNoScratch()
        {
            using var tmp = new TempDir("cdrill-full");
            var src = tmp.Sub("Sessions");
            var made = Tree(src, 24, 40_000, 1);
            using var proxy = new FaultProxy(_s3.Port);
            var t = _s3.Target(_s3.NewBucket(), proxy.Endpoint);
            var run = await UploadAsync(t, src, tmp.Sub("j"));
            var scratch = tmp.Sub("scratch");
            var obs = new RecordingObserver();
            // What a killed drill left behind goes; what is not a drill's folder stays.
            var leftover = MakeFile(Path.Combine(scratch, CloudDrillEngine.ScratchFolder, "20260101T000000000Z-abcdef", "Song 1", "take.wav"), 1000, 3);
            var foreign = MakeFile(Path.Combine(scratch, CloudDrillEngine.ScratchFolder, "keep-me", "notes.txt"), 10, 4);

            var r = await new CloudDrillEngine(t, obs).RunAsync(new CloudDrillOptions { Full = true, ScratchRoot = scratch, Plan = "studio" }, CancellationToken.None);

            Assert.True(r.Status == "Passed", obs.FailureText + string.Join("\n", r.Problems));
            Assert.Equal(run.RunId, r.RunId);
            Assert.Equal(made.Count, r.FilesVerified);
            Assert.Equal(made.Sum(f => new FileInfo(f).Length), r.BytesVerified);
            Assert.Equal(made.Select(Sha256File).Distinct().Count(), DataGets(proxy, t).Select(g => g.Path).Distinct().Count());
            var stored = RecordInBucket(t, r.DrillId);
            Assert.Equal("nekkbackup-cloud-drill/1", (string?)stored["format"]);
            Assert.Equal("Passed", (string?)stored["status"]);
            Assert.Equal(run.RunId, (string?)stored["runId"]);
            Assert.Equal("Full", (string?)stored["scope"]);
            Assert.Equal(made.Count, (long)stored["filesVerified"]!);
            Assert.Equal(new[] { Path.GetDirectoryName(foreign) }, Directory.GetFileSystemEntries(Path.Combine(scratch, CloudDrillEngine.ScratchFolder)));
            Assert.False(File.Exists(leftover));
        }

        [Fact]
        public async Task StoppedDrill_LeavesNoPartialRestore_AndNoRecord()
        {
            using var tmp = new TempDir("cdrill-stop");
            var src = tmp.Sub("Long");
            Tree(src, 40, 1_000_000, 300);
            var t = _s3.Target(_s3.NewBucket());
            await UploadAsync(t, src, tmp.Sub("j"));
            var scratch = tmp.Sub("scratch");
            using var cts = new CancellationTokenSource();
            // Ctrl+C as soon as the first restored file is in scratch space.
            var watcher = Task.Run(async () =>
            {
                var dir = Path.Combine(scratch, CloudDrillEngine.ScratchFolder);
                while (!cts.IsCancellationRequested && !(Directory.Exists(dir) && Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Any())) await Task.Delay(2);
                cts.Cancel();
            });
            var ex = await Assert.ThrowsAnyAsync<Exception>(() => new CloudDrillEngine(t).RunAsync(new CloudDrillOptions { Full = true, ScratchRoot = scratch, ThrottleLimit = 1 }, cts.Token));
            await watcher;
            Assert.True(ex is OperationCanceledException || ex is NekkBackupException { Kind: FailureKind.OperationStopped }, ex.ToString());
            Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(scratch, CloudDrillEngine.ScratchFolder)));
            using var s3 = _s3.Client();
            Assert.Empty((await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = t.Bucket, Prefix = t.DrillPrefix })).S3Objects ?? new());
        }

        [Fact]
        public async Task SampleDrill_FetchesOnlyTheSample_TheSameOneForTheSameSeed()
        {
            using var tmp = new TempDir("cdrill-sample");
            var src = tmp.Sub("Library");
            var made = Tree(src, 200, 2_000, 50);
            using var proxy = new FaultProxy(_s3.Port);
            var t = _s3.Target(_s3.NewBucket(), proxy.Endpoint);
            await UploadAsync(t, src, tmp.Sub("j"));
            var options = new CloudDrillOptions { SamplePercent = 5, SampleMinBytes = 64 * 1024, Seed = 1234, ScratchRoot = tmp.Sub("scratch") };

            var first = await new CloudDrillEngine(t).RunAsync(options, CancellationToken.None);
            var firstGets = DataGets(proxy, t).Select(g => g.Path).ToHashSet();
            Assert.Equal("Passed", first.Status);
            Assert.Equal("Sample", first.Scope);
            Assert.Equal(200, first.FilesInRun);
            Assert.Equal(made.Sum(f => new FileInfo(f).Length), first.BytesInRun);
            Assert.True(first.FilesSelected >= 10 && first.BytesSelected >= 64 * 1024, $"{first.FilesSelected} files, {first.BytesSelected} bytes");
            Assert.True(first.FilesSelected < 60, $"{first.FilesSelected} files is no sample of 200");
            Assert.Equal(first.FilesSelected, firstGets.Count);
            Assert.Equal(first.BytesSelected, first.BytesVerified);

            var second = await new CloudDrillEngine(t).RunAsync(options, CancellationToken.None);
            Assert.NotEqual(first.DrillId, second.DrillId);
            Assert.Equal(firstGets, DataGets(proxy, t).Select(g => g.Path).ToHashSet());
            Assert.Equal(2 * first.FilesSelected, DataGets(proxy, t).Count);
        }

        [Fact]
        public async Task CorruptedObject_FailsTheDrill_NamingTheFile_AndTheIntegrityRule()
        {
            using var tmp = new TempDir("cdrill-bad");
            var src = tmp.Sub("Mixes");
            var made = Tree(src, 6, 30_000, 70);
            var t = _s3.Target(_s3.NewBucket());
            await UploadAsync(t, src, tmp.Sub("j"));
            var victim = made[3];
            var rel = "Mixes/" + Path.GetRelativePath(src, victim).Replace('\\', '/');
            using (var s3 = _s3.Client())
            {
                var bytes = File.ReadAllBytes(victim);
                bytes[bytes.Length / 2] ^= 0x5A; // one flipped byte, same length
                await s3.PutObjectAsync(new PutObjectRequest { BucketName = t.Bucket, Key = t.DataKey(Sha256File(victim)), InputStream = new MemoryStream(bytes), UseChunkEncoding = false });
            }
            // Another one damaged at rest in s3rver's own files: its stored MD5 (the ETag) no longer matches, which the SDK
            // notices first — still one named file, never "cannot reach the endpoint" stopping the drill.
            var rotten = made[1];
            var relRotten = "Mixes/" + Path.GetRelativePath(src, rotten).Replace('\\', '/');
            var onDisk = Path.Combine(_s3.DataDirectory, t.Bucket, t.DataKey(Sha256File(rotten)) + "._S3rver_object");
            var raw = File.ReadAllBytes(onDisk);
            raw[100] ^= 0x01;
            File.WriteAllBytes(onDisk, raw);
            var obs = new RecordingObserver();
            var scratch = tmp.Sub("scratch");

            var r = await new CloudDrillEngine(t, obs).RunAsync(new CloudDrillOptions { Full = true, ScratchRoot = scratch }, CancellationToken.None);

            Assert.Equal("Failed", r.Status);
            Assert.Equal(2, r.Errors);
            Assert.Equal(4, r.FilesVerified);
            Assert.Equal(2, r.Problems.Count);
            Assert.Contains(r.Problems, p => p.Contains(rel) && p.Contains("SHA-256"));
            Assert.Contains(r.Problems, p => p.Contains(relRotten) && p.Contains("damaged"));
            Assert.Contains(obs.Failures, f => f.Item == rel && f.Error.ErrorId == "NekkBackup.CloudChecksumMismatch");
            Assert.Contains(obs.Failures, f => f.Item == relRotten && f.Error.ErrorId == "NekkBackup.CloudChecksumMismatch");
            Assert.Equal("Failed", (string?)RecordInBucket(t, r.DrillId)["status"]);
            Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(scratch, CloudDrillEngine.ScratchFolder)));
            Assert.Contains(rel, CloudDrillLeg.Describe(r));
        }

        /// <summary>The restore header the proxy puts on cold objects' HEAD (null: never thawed).</summary>
        private sealed class ColdState { public string? Header; }

        /// <summary>
        /// S3 answers a cold object's HEAD with its class and x-amz-restore, and refuses its GET until thawed; s3rver
        /// cannot, so the proxy does for every data object now in the bucket.
        /// </summary>
        private async Task<ColdState> ColdBucketAsync(FaultProxy proxy, CloudTarget t)
        {
            var state = new ColdState();
            var lengths = new Dictionary<string, long>();
            using (var s3 = _s3.Client())
                foreach (var o in (await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = t.Bucket, Prefix = t.DataPrefix })).S3Objects)
                    lengths["/" + t.Bucket + "/" + o.Key] = o.Size ?? 0;
            proxy.Responder = q =>
            {
                if (!lengths.TryGetValue(q.Path, out var len)) return null;
                var restoreHeader = state.Header;
                if (q.Method == "HEAD")
                    return Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nLast-Modified: {DateTime.UtcNow:R}\r\nx-amz-storage-class: DEEP_ARCHIVE\r\n" +
                        (restoreHeader != null ? $"x-amz-restore: {restoreHeader}\r\n" : "") + "x-amz-request-id: proxy\r\n\r\n");
                if (q.Method == "GET" && restoreHeader?.Contains("expiry-date") != true)
                {
                    var body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InvalidObjectState</Code><Message>cold</Message></Error>";
                    return Encoding.ASCII.GetBytes($"HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\nContent-Length: {body.Length}\r\n\r\n{body}");
                }
                return null;
            };
            return state;
        }

        [Fact]
        public async Task ColdSample_RequestsAThaw_WaitsWhileItRuns_AndALaterRunFinishesTheSameDrill()
        {
            using var tmp = new TempDir("cdrill-cold");
            var src = tmp.Sub("Vault");
            Tree(src, 5, 9_000, 90);
            using var proxy = new FaultProxy(_s3.Port) { AcceptRestoreRequests = true };
            var t = _s3.Target(_s3.NewBucket(), proxy.Endpoint);
            await UploadAsync(t, src, tmp.Sub("j"), "DEEP_ARCHIVE");
            var cold = await ColdBucketAsync(proxy, t);
            var options = new CloudDrillOptions { Full = true, ScratchRoot = tmp.Sub("scratch"), ThawTier = "Bulk" };

            var first = await new CloudDrillEngine(t).RunAsync(options, CancellationToken.None);
            Assert.Equal("ThawRequested", first.Status);
            Assert.Equal(5, first.ThawRequestedFiles);
            Assert.Equal("Bulk", first.ThawTier);
            Assert.Equal(48, first.ExpectedWaitHours);
            Assert.Equal(5, proxy.Requests.Count(q => q.Method == "POST" && q.Query.Contains("restore")));
            Assert.Equal("ThawRequested", (string?)RecordInBucket(t, first.DrillId)["status"]);
            Assert.Contains("finishes drill " + first.DrillId, CloudDrillLeg.Describe(first));

            // Thawing: no download, no new thaw request (it would be billed again), the record stays as it is.
            cold.Header = "ongoing-request=\"true\"";
            int before = proxy.Requests.Count;
            var waiting = await new CloudDrillEngine(t).FinishPendingAsync(options, CancellationToken.None);
            Assert.Equal(first.DrillId, waiting!.DrillId);
            Assert.Equal("ThawRequested", waiting.Status);
            Assert.DoesNotContain(proxy.Requests.Skip(before), q => q.Method is "GET" or "POST" or "PUT" && q.Path.Contains("/data/"));

            // Thawed: the daily run's call finishes the same drill, same run and sample, and the record says Passed.
            cold.Header = $"ongoing-request=\"false\", expiry-date=\"{DateTime.UtcNow.AddDays(3):R}\"";
            var done = await new CloudDrillEngine(t).FinishPendingAsync(options, CancellationToken.None);
            Assert.Equal(first.DrillId, done!.DrillId);
            Assert.Equal("Passed", done.Status);
            Assert.Equal(5, done.FilesVerified);
            Assert.Equal(first.StartedUtc, done.StartedUtc);
            Assert.Equal("Passed", (string?)RecordInBucket(t, first.DrillId)["status"]);
            Assert.Null(await new CloudDrillEngine(t).FinishPendingAsync(options, CancellationToken.None));
        }

        [Fact]
        public async Task ADrillWaitingForARunRetentionRemoved_IsAbandoned_AndTheNextDrillStartsOver()
        {
            using var tmp = new TempDir("cdrill-gone");
            var src = tmp.Sub("Gone");
            Tree(src, 3, 4_000, 900);
            var t = _s3.Target(_s3.NewBucket());
            var run = await UploadAsync(t, src, tmp.Sub("j"));
            var waiting = new CloudDrillRecord
            {
                DrillId = NekkBackup.Core.Primitives.RunId.New(DateTime.UtcNow.AddHours(-3)), Host = t.HostName, RunId = "20260101T000000000Z-0a0b0c",
                Status = "ThawRequested", Scope = "Full", SamplePercent = 100, StartedUtc = DateTime.UtcNow.AddHours(-3), FinishedUtc = DateTime.UtcNow.AddHours(-3),
                FilesInRun = 3, FilesSelected = 3, ThawRequestedFiles = 3, ThawTier = "Bulk", ExpectedWaitHours = 48,
            };
            using (var s3 = _s3.Client())
                await s3.PutObjectAsync(new PutObjectRequest { BucketName = t.Bucket, Key = t.DrillKey(waiting.DrillId), InputStream = new MemoryStream(waiting.ToBytes()), UseChunkEncoding = false });
            var options = new CloudDrillOptions { Full = true, ScratchRoot = tmp.Sub("scratch") };

            Assert.Null(await new CloudDrillEngine(t).FinishPendingAsync(options, CancellationToken.None));
            var fresh = await new CloudDrillEngine(t).RunAsync(options, CancellationToken.None);
            Assert.NotEqual(waiting.DrillId, fresh.DrillId);
            Assert.Equal(run.RunId, fresh.RunId);
            Assert.Equal("Passed", fresh.Status);
            Assert.Equal(3, fresh.FilesVerified);
        }

        [Fact]
        public async Task PlanDrill_WithColdObjects_ExitsTwo_AndTheNextDailyCloudRunFinishesIt()
        {
            using var tmp = new TempDir("cdrill-plan-cold");
            CredentialStore.DirectoryOverride = Path.Combine(tmp.Path, "credentials"); // this async flow only
            var bucket = _s3.NewBucket();
            CredentialStore.Set(bucket, S3rverFixture.AccessKey, S3rverFixture.SecretKey);
            using var proxy = new FaultProxy(_s3.Port) { AcceptRestoreRequests = true };
            var src = tmp.Sub("Sessions");
            Tree(src, 6, 20_000, 500);
            var plan = Plan(bucket, tmp.Sub("nas"), proxy.Endpoint, src);
            var t = CloudLegRunner.Target(plan);
            await UploadAsync(t, src, tmp.Sub("j"), "DEEP_ARCHIVE");
            var cold = await ColdBucketAsync(proxy, t);
            PlanRunOptions Job(string job) => new() { Job = job, PublishStatus = false, WriteEventLog = false, FindDaws = _ => Array.Empty<DawProcess>() };
            Assert.Equal("Succeeded", (await PlanRunner.RunAsync(plan, Job("Folder"), new RecordingObserver(), CancellationToken.None)).Status);

            var drill = await PlanRunner.RunAsync(plan, Job("Drill"), new RecordingObserver(), CancellationToken.None);
            Assert.Equal("CompletedWithErrors", drill.Status);
            Assert.Equal(2, PlanExitCodes.For(drill.Status));
            var step = Assert.Single(drill.Jobs, j => j.Step == "CloudDrill");
            Assert.Equal("ThawRequested", step.Status);
            Assert.Contains("thaw was requested", step.Detail);
            Assert.Contains("Drill CloudDrill ThawRequested", drill.Reason);
            Assert.Equal(6, proxy.Requests.Count(q => q.Method == "POST" && q.Query.Contains("restore")));

            cold.Header = $"ongoing-request=\"false\", expiry-date=\"{DateTime.UtcNow.AddDays(3):R}\"";
            var daily = await PlanRunner.RunAsync(plan, Job("Cloud"), new RecordingObserver(), CancellationToken.None);
            Assert.Equal(new[] { "Cloud/Upload", "Drill/CloudDrill" }, daily.Jobs.Select(j => j.Job + "/" + j.Step));
            var finished = daily.Jobs.Last();
            Assert.True(finished.Status == "Passed", finished.Detail);
            Assert.Equal(step.LegRunId, finished.LegRunId);
            Assert.Equal(6, finished.Files);
            Assert.Equal("Succeeded", daily.Status);
            // Once finished, the next daily run has nothing to finish.
            var next = await PlanRunner.RunAsync(plan, Job("Cloud"), new RecordingObserver(), CancellationToken.None);
            Assert.Equal(new[] { "Cloud/Upload" }, next.Jobs.Select(j => j.Job + "/" + j.Step));
        }

        private BackupPlan Plan(string bucket, string nas, string? endpoint = null, string? source = null)
        {
            var h = PlanTestData.Full();
            h["Name"] = "drillplan";
            h["Host"] = "drillhost";
            h.Remove("Image");
            h["NasDestination"] = nas;
            if (source != null) h["Sources"] = new object[] { source };
            h["Cloud"] = new Hashtable { ["Bucket"] = bucket, ["Endpoint"] = endpoint ?? _s3.Endpoint, ["Prefix"] = "plans", ["Region"] = "us-east-1" };
            return PlanParser.Parse(h, "/etc/nekk/drillplan.psd1");
        }

        [Fact]
        public async Task Compliance_FailsTheDrillRule_WhenTheCloudDrillIsMissingStaleOrDamaged_AndPassesWhenFresh()
        {
            using var tmp = new TempDir("cdrill-rule");
            CredentialStore.DirectoryOverride = Path.Combine(tmp.Path, "credentials"); // this async flow only
            var bucket = _s3.NewBucket();
            CredentialStore.Set(bucket, S3rverFixture.AccessKey, S3rverFixture.SecretKey);
            var plan = Plan(bucket, tmp.Sub("nas"));
            var t = CloudLegRunner.Target(plan);
            var src = tmp.Sub("Sessions");
            Tree(src, 4, 5_000, 7);
            await UploadAsync(t, src, tmp.Sub("j"));
            var folderDrill = new EvidenceRecord { StartedUtc = DateTime.UtcNow.AddDays(-1), FinishedUtc = DateTime.UtcNow.AddDays(-1), Status = "Passed", Id = "f", From = "nas" };
            async Task<ComplianceFinding> Rule(string name)
            {
                var cloud = await new CloudEvidenceSource().ReadAsync(plan, CancellationToken.None);
                Assert.Null(cloud.Problem);
                var set = new EvidenceSet(new Dictionary<PlanLeg, LegEvidence>
                {
                    [PlanLeg.Folder] = new LegEvidence { Leg = PlanLeg.Folder, Location = "nas", Drills = new[] { folderDrill }, Checks = new[] { folderDrill } },
                    [PlanLeg.Cloud] = cloud,
                });
                return ComplianceEvaluator.Evaluate(plan, set, DateTime.Now).Single(f => f.Rule == name);
            }

            // Missing.
            var missing = await Rule("DrillWithin92Days");
            Assert.Equal("Fail", missing.Status);
            Assert.Contains("no passed cloud restore drill", missing.Detail);

            // Stale: a real drill's record, rewritten as if it had run 100 days ago (and the fresh one removed).
            var r = await new CloudDrillEngine(t).RunAsync(new CloudDrillOptions { Full = true, ScratchRoot = tmp.Sub("scratch") }, CancellationToken.None);
            Assert.Equal("Passed", r.Status);
            Assert.Equal("Pass", (await Rule("DrillWithin92Days")).Status);
            Assert.Equal("Pass", (await Rule("IntegrityCheckPassed")).Status);
            var old = RecordInBucket(t, r.DrillId);
            var oldId = NekkBackup.Core.Primitives.RunId.New(DateTime.UtcNow.AddDays(-100));
            old["drillId"] = oldId;
            old["startedUtc"] = DateTime.UtcNow.AddDays(-100);
            old["finishedUtc"] = DateTime.UtcNow.AddDays(-100).AddMinutes(3);
            using (var s3 = _s3.Client())
            {
                await s3.DeleteObjectAsync(bucket, t.DrillKey(r.DrillId));
                await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = t.DrillKey(oldId), ContentBody = old.ToJsonString(), UseChunkEncoding = false });
                // A damaged record is no evidence (and no crash): a Passed that claims nothing was verified, and garbage.
                var lying = JsonNode.Parse(old.ToJsonString())!.AsObject();
                var lyingId = NekkBackup.Core.Primitives.RunId.New(DateTime.UtcNow.AddMinutes(-5));
                lying["drillId"] = lyingId;
                lying["startedUtc"] = DateTime.UtcNow.AddMinutes(-5);
                lying["finishedUtc"] = DateTime.UtcNow.AddMinutes(-4);
                lying["filesVerified"] = 0;
                lying["bytesVerified"] = 0;
                await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = t.DrillKey(lyingId), ContentBody = lying.ToJsonString(), UseChunkEncoding = false });
                await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = t.DrillPrefix + "20261201T000000000Z-abcdef.json", ContentBody = "{\"format\":", UseChunkEncoding = false });
            }
            var stale = await Rule("DrillWithin92Days");
            Assert.Equal("Fail", stale.Status);
            Assert.Contains("cloud restore drill", stale.Detail);
            Assert.Contains("100 days old", stale.Detail);

            // Fresh again.
            var fresh = await new CloudDrillEngine(t).RunAsync(new CloudDrillOptions { ScratchRoot = tmp.Sub("scratch") }, CancellationToken.None);
            Assert.Equal("Passed", fresh.Status);
            var pass = await Rule("DrillWithin92Days");
            Assert.Equal("Pass", pass.Status);
            Assert.Contains(t.DrillKey(fresh.DrillId), pass.Evidence);
        }

        [Fact]
        public void DrillRecord_Validation_NamesTheField()
        {
            var good = new CloudDrillRecord { DrillId = "20261206T090000000Z-abcdef", Host = "h", RunId = "20261206T080000000Z-123456", Status = "Passed", Scope = "Full", StartedUtc = DateTime.UtcNow, FinishedUtc = DateTime.UtcNow, FilesInRun = 2, FilesSelected = 2, FilesVerified = 2 };
            Assert.Equal("Passed", NekkBackup.Core.Validation.CloudRules.ParseDrill(good.ToBytes(), "p/h/drills/x.json", good.DrillId).Status);
            var ex = Assert.Throws<NekkBackupException>(() => NekkBackup.Core.Validation.CloudRules.ParseDrill(good.ToBytes(), "p/h/drills/x.json", "20261206T090000000Z-000000"));
            Assert.Equal("NekkBackup.CloudManifestInvalid", ex.ErrorId);
            Assert.Contains("drillId", ex.Message);
            var node = JsonNode.Parse(good.ToBytes())!.AsObject();
            node["runId"] = "../../other/manifests/x";
            ex = Assert.Throws<NekkBackupException>(() => NekkBackup.Core.Validation.CloudRules.ParseDrill(Encoding.UTF8.GetBytes(node.ToJsonString()), "k", good.DrillId));
            Assert.Contains("runId", ex.Message);
            node = JsonNode.Parse(good.ToBytes())!.AsObject();
            node["formatVersion"] = 2;
            Assert.Equal("NekkBackup.UnsupportedFormatVersion", Assert.Throws<NekkBackupException>(() => NekkBackup.Core.Validation.CloudRules.ParseDrill(Encoding.UTF8.GetBytes(node.ToJsonString()), "k", good.DrillId)).ErrorId);
        }
    }
}
