using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using NekkBackup.Core.Cloud;
using NekkBackup.Core.Tests.TestKit;
using Xunit;
using static NekkBackup.Core.Tests.Cloud.CloudTestHelpers;

namespace NekkBackup.Core.Tests.Cloud
{
    /// <summary>Through the fault-injecting, request-recording proxy in front of the real s3rver.</summary>
    [Collection("s3rver")]
    public sealed class CloudProxyTests
    {
        private readonly S3rverFixture _s3;

        public CloudProxyTests(S3rverFixture s3) => _s3 = s3;

        [Fact]
        public async Task ResetsAndStalls_UploadStillCompletesAndVerifies()
        {
            using var tmp = new TempDir("cloud-fault");
            var src = tmp.Sub("Faulty");
            MakeFile(Path.Combine(src, "big.wav"), 30L * 1024 * 1024 + 99, 3);
            for (int i = 0; i < 12; i++) MakeFile(Path.Combine(src, "clips", $"c{i}.wav"), 300_000 + i, 100 + i);
            var before = DigestWithRoot(src);
            // Of the first 30 connections, every even one is reset after 256 KiB; 3 and 7 stall after 128 KiB
            // (until the request timeout).
            using var proxy = new FaultProxy(_s3.Port, n =>
                n > 30 ? (FaultKind.None, 0) :
                n % 2 == 0 ? (FaultKind.Reset, 256 << 10) :
                n == 3 || n == 7 ? (FaultKind.Stall, 128 << 10) : (FaultKind.None, 0));
            var bucket = _s3.NewBucket();
            var target = _s3.Target(bucket, proxy.Endpoint, timeout: TimeSpan.FromSeconds(3));
            var obs = new RecordingObserver();
            var run = await new CloudBackupEngine(target, obs).RunAsync(new CloudBackupOptions { Paths = new[] { src }, JournalDirectory = tmp.Sub("j"), ThrottleLimit = 4 });
            Assert.True(run.Status == "Succeeded", obs.FailureText);
            Assert.True(proxy.FaultsInjected >= 3, $"only {proxy.FaultsInjected} faults struck");
            using var s3 = _s3.Client();
            foreach (var it in await new CloudRestoreEngine(_s3.Target(bucket)).GetItemsAsync(null))
                Assert.Equal(before[it.Path], ReadBack(s3, bucket, it.Key).Hash);
            var rr = await new CloudRestoreEngine(target, obs).RestoreAsync(new CloudRestoreOptions { Target = Path.Combine(tmp.Path, "r") });
            Assert.True(rr.Status == "Succeeded", obs.FailureText);
            Assert.Equal(before, DigestWithRoot(Path.Combine(tmp.Path, "r", "Faulty")));
        }

        [Fact]
        public async Task ObjectLock_StorageClass_AndNoChunkedFraming_AreOnTheWire()
        {
            using var tmp = new TempDir("cloud-lock");
            var src = tmp.Sub("Locked");
            MakeFile(Path.Combine(src, "big.wav"), 18L * 1024 * 1024, 5);   // multipart
            MakeFile(Path.Combine(src, "small.txt"), 5, 6);
            using var proxy = new FaultProxy(_s3.Port);
            var bucket = _s3.NewBucket();
            var run = await new CloudBackupEngine(_s3.Target(bucket, proxy.Endpoint)).RunAsync(new CloudBackupOptions
            {
                Paths = new[] { src }, JournalDirectory = tmp.Sub("j"), ObjectLockDays = 3, ObjectLockMode = "COMPLIANCE", StorageClass = "STANDARD_IA",
                SinglePutMaxBytes = 8 * 1024 * 1024, // force multipart for the 18 MiB file
            });
            Assert.Equal("Succeeded", run.Status);
            var reqs = proxy.Requests;
            var dataPuts = reqs.Where(r => r.Method == "PUT" && r.Path.Contains("/data/") && !r.Query.Contains("partNumber")).ToList();
            var initiates = reqs.Where(r => r.Method == "POST" && r.Query.StartsWith("uploads")).ToList();
            var parts = reqs.Where(r => r.Method == "PUT" && r.Query.Contains("partNumber")).ToList();
            Assert.Single(dataPuts);
            Assert.Single(initiates);
            Assert.Equal(3, parts.Count);
            foreach (var r in dataPuts.Concat(initiates))
            {
                Assert.Equal("COMPLIANCE", r.Header("x-amz-object-lock-mode"));
                var until = DateTime.Parse(r.Header("x-amz-object-lock-retain-until-date")!, null, System.Globalization.DateTimeStyles.AdjustToUniversal);
                Assert.InRange(until, DateTime.UtcNow.AddDays(3).AddMinutes(-10), DateTime.UtcNow.AddDays(3).AddMinutes(10));
                Assert.Equal("STANDARD_IA", r.Header("x-amz-storage-class"));
                Assert.NotNull(r.Header("x-amz-meta-sha256"));
            }
            foreach (var r in dataPuts.Concat(parts))
            {
                Assert.NotNull(r.Header("content-md5"));
                Assert.DoesNotContain("aws-chunked", r.Header("content-encoding") ?? "");
                Assert.DoesNotContain("STREAMING", r.Header("x-amz-content-sha256") ?? "");
                Assert.Null(r.Header("transfer-encoding"));
            }
        }

        [Fact]
        public async Task StaleJournaledUpload_IsAborted_ToleratingNotImplemented()
        {
            using var tmp = new TempDir("cloud-abort");
            var src = tmp.Sub("A");
            MakeFile(Path.Combine(src, "a.bin"), 1000, 1);
            using var proxy = new FaultProxy(_s3.Port);
            var bucket = _s3.NewBucket();
            var target = _s3.Target(bucket, proxy.Endpoint);
            var journal = new MultipartJournal(tmp.Sub("j"));
            var staleKey = target.DataKey(new string('a', 64));
            journal.Save(new JournalEntry { Scope = target.JournalScope, Key = staleKey, UploadId = "stale-upload-1", TotalSize = 1, PartSize = 8 << 20, CreatedUtc = DateTime.UtcNow.AddDays(-30) });
            var goneKey = target.DataKey(new string('b', 64));
            journal.Save(new JournalEntry { Scope = target.JournalScope, Key = goneKey, UploadId = "gone-upload-2", TotalSize = 1, PartSize = 8 << 20, CreatedUtc = DateTime.UtcNow, SourcePath = Path.Combine(src, "deleted.wav"), ContentHash = new string('b', 64) });
            var obs = new RecordingObserver();
            var run = await new CloudBackupEngine(target, obs).RunAsync(new CloudBackupOptions { Paths = new[] { src }, JournalDirectory = journal.Directory });
            Assert.Equal("Succeeded", run.Status);
            var aborts = proxy.Requests.Where(r => r.Method == "DELETE" && r.Query.Contains("uploadId=")).ToList();
            Assert.Contains(aborts, r => r.Query.Contains("stale-upload-1") && r.Path.EndsWith(new string('a', 64)));
            Assert.Contains(aborts, r => r.Query.Contains("gone-upload-2"));
            Assert.Contains(obs.Messages, m => m.Contains("does not implement AbortMultipartUpload"));
            Assert.Empty(journal.All(target.JournalScope));
        }

        [Fact]
        public async Task ColdObjects_AreThawRequested_NotFailed()
        {
            using var tmp = new TempDir("cloud-thaw");
            var src = tmp.Sub("Cold");
            MakeFile(Path.Combine(src, "a.wav"), 2000, 1);
            MakeFile(Path.Combine(src, "b.wav"), 3000, 2);
            using var proxy = new FaultProxy(_s3.Port) { AcceptRestoreRequests = true };
            var bucket = _s3.NewBucket();
            var target = _s3.Target(bucket, proxy.Endpoint);
            var run = await new CloudBackupEngine(target).RunAsync(new CloudBackupOptions { Paths = new[] { src }, JournalDirectory = tmp.Sub("j"), StorageClass = "DEEP_ARCHIVE" });
            Assert.Equal("Succeeded", run.Status);
            var items = await new CloudRestoreEngine(target).GetItemsAsync(null);
            Assert.All(items, i => Assert.Equal("DEEP_ARCHIVE", i.StorageClass));

            var obs = new RecordingObserver();
            var rr = await new CloudRestoreEngine(target, obs).RestoreAsync(new CloudRestoreOptions { Target = Path.Combine(tmp.Path, "r"), ThawTier = "Bulk" });
            Assert.Equal("ThawRequested", rr.Status);
            Assert.Equal(2, rr.ThawRequested);
            Assert.Equal(0, rr.Errors);
            Assert.Equal("Bulk", rr.ThawTier);
            Assert.Equal(TimeSpan.FromHours(48), rr.ExpectedWait);
            Assert.Contains(rr.Warnings, w => w.Contains("48 hours") && w.Contains("billed"));
            Assert.Contains(obs.Messages, m => m.StartsWith("Warning") && m.Contains("DEEP_ARCHIVE"));
            var thaws = proxy.Requests.Where(r => r.Method == "POST" && r.Query.Contains("restore")).ToList();
            Assert.Equal(2, thaws.Count);
            Assert.False(File.Exists(Path.Combine(tmp.Path, "r", "Cold", "a.wav")));
        }

        [Fact]
        public async Task MaxMBps_CapsTheRateWithinTenPercent()
        {
            using var tmp = new TempDir("cloud-bw");
            var src = tmp.Sub("Bw");
            MakeFile(Path.Combine(src, "forty.wav"), 40L * 1024 * 1024, 9);
            var target = _s3.Target(_s3.NewBucket());
            var sw = Stopwatch.StartNew();
            var run = await new CloudBackupEngine(target).RunAsync(new CloudBackupOptions { Paths = new[] { src }, JournalDirectory = tmp.Sub("j"), MaxMBps = 20, ThrottleLimit = 4 });
            sw.Stop();
            Assert.Equal("Succeeded", run.Status);
            Assert.True(run.Duration >= TimeSpan.FromSeconds(1.8), $"40 MiB at 20 MiB/s took only {run.Duration}");
            double rate = run.BytesUploaded / 1048576.0 / run.Duration.TotalSeconds;
            Assert.True(rate <= 22, $"rate {rate:0.0} MiB/s exceeds the 20 MiB/s cap by more than 10 %");
        }
    }
}
