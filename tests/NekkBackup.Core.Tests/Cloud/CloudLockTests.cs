using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Amazon.S3;
using Amazon.S3.Model;
using NekkBackup.Core.Cloud;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Storage;
using NekkBackup.Core.Tests.TestKit;
using Xunit;
using static NekkBackup.Core.Tests.Cloud.CloudTestHelpers;

namespace NekkBackup.Core.Tests.Cloud
{
    /// <summary>
    /// The host's bucket lock (&lt;Prefix&gt;/&lt;host&gt;/locks/): uploads hold it shared, a prune exclusive. Checked on the
    /// real s3rver through an independent SDK client: after an upload and a prune race, every object a manifest names
    /// is in the bucket and restores byte for byte; an upload whose lock is lost commits nothing.
    /// </summary>
    [Collection("s3rver")]
    public sealed class CloudLockTests
    {
        private readonly S3rverFixture _s3;

        public CloudLockTests(S3rverFixture s3) => _s3 = s3;

        /// <summary>The sweep alone, without the 24-hour rule (this test is about the lock; CloudRetentionTests covers the age).</summary>
        private static readonly BucketPruneOptions SweepNow = new() { MinimumAge = TimeSpan.Zero };

        private CloudTarget Target(string bucket, TimeSpan wait, TimeSpan? refresh = null) => new()
        {
            Bucket = bucket, Prefix = "race", Endpoint = _s3.Endpoint, AccessKey = S3rverFixture.AccessKey, SecretKey = S3rverFixture.SecretKey,
            Host = "racehost", RequestTimeout = TimeSpan.FromSeconds(30), RetryFirstDelay = TimeSpan.FromMilliseconds(50), RetryMaxDelay = TimeSpan.FromMilliseconds(500),
            Lock = refresh is TimeSpan r
                ? new LockOptions { WaitTimeout = wait, RefreshInterval = r, Lease = TimeSpan.FromTicks(r.Ticks * 6), ClockSkew = r }
                : new LockOptions { WaitTimeout = wait },
        };

        private List<S3Object> Objects(string bucket, string prefix) => _s3.ListObjects(bucket, prefix);

        /// <summary>Every data key any manifest of the host names, read with a plain client (the product's reader is not the reference).</summary>
        private HashSet<string> Named(string bucket, CloudTarget t)
        {
            using var s3 = _s3.Client();
            var keys = new HashSet<string>(StringComparer.Ordinal);
            foreach (var m in Objects(bucket, t.ManifestPrefix).Where(o => o.Key.EndsWith(".json", StringComparison.Ordinal)))
            {
                using var r = s3.GetObjectAsync(bucket, m.Key).GetAwaiter().GetResult();
                using var doc = JsonDocument.Parse(r.ResponseStream);
                foreach (var f in doc.RootElement.GetProperty("files").EnumerateArray())
                    if (f.TryGetProperty("key", out var k) && k.GetString() is { Length: > 0 } key) keys.Add(key);
            }
            return keys;
        }

        private void PutOrphan(string bucket, CloudTarget t, string content)
        {
            using var s3 = _s3.Client();
            var hash = Sha256Of(content);
            s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = t.DataKey(hash), ContentBody = content, UseChunkEncoding = false }).GetAwaiter().GetResult();
        }

        private static string Sha256Of(string s) => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(s))).ToLowerInvariant();

        [Fact]
        public async Task UploadAndPrune_Racing_NeverLoseAnObjectAManifestNames()
        {
            using var tmp = new TempDir("cloud-race");
            var bucket = _s3.NewBucket();
            var t = Target(bucket, TimeSpan.FromSeconds(20));
            var src = tmp.Sub("Take");
            var rng = new Random(11);
            var results = new List<string>();
            for (int round = 0; round < 4; round++)
            {
                // New content every round (never in the bucket yet), and an object no manifest names for the prune to find.
                for (int i = 0; i < 6; i++) MakeFile(Path.Combine(src, $"r{round}-clip{i}.wav"), 200_000 + 1000 * i, round * 100 + i);
                MakeFile(Path.Combine(src, $"r{round}-long.wav"), 12L << 20, round * 100 + 50);
                var orphan = $"orphan {round} {Guid.NewGuid()}";
                PutOrphan(bucket, t, orphan);
                var before = DigestWithRoot(src);

                var upload = new CloudBackupEngine(t).RunAsync(new CloudBackupOptions { Paths = new[] { src }, JournalDirectory = tmp.Sub("j"), MaxMBps = 8, ThrottleLimit = 2 });
                if (round == 1)
                {
                    // Once the upload holds its lock, a prune must be refused.
                    var deadline = DateTime.UtcNow.AddSeconds(30);
                    while (Objects(bucket, t.HostRoot + "locks/").Count == 0 && !upload.IsCompleted && DateTime.UtcNow < deadline) await Task.Delay(20);
                    Assert.False(upload.IsCompleted, "the upload finished before the prune could race it");
                }
                else await Task.Delay(rng.Next(0, 2500));
                string prune;
                try
                {
                    var p = await new BucketPrune(t).RunAsync(SweepNow);
                    prune = $"pruned {p.ObjectsRemoved}";
                }
                catch (NekkBackupException ex) when (ex.ErrorId == "NekkBackup.CloudLocked")
                {
                    prune = "locked out";
                    Assert.Contains("Send-NekkCloudBackup", ex.Message); // names the holder
                }
                var run = await upload;
                results.Add(prune);
                Assert.Equal("Succeeded", run.Status);

                // The invariant, read independently: every object a manifest names is in the bucket.
                var stored = Objects(bucket, t.DataPrefix).Select(o => o.Key).ToHashSet(StringComparer.Ordinal);
                var named = Named(bucket, t);
                Assert.Empty(named.Except(stored));
                Assert.Empty(Objects(bucket, t.HostRoot + "locks/")); // both released their lock objects

                // A prune with nothing in flight removes the orphan, and only unreferenced objects.
                var after = await new BucketPrune(t).RunAsync(SweepNow);
                Assert.Equal("Succeeded", after.Status);
                Assert.DoesNotContain(t.DataKey(Sha256Of(orphan)), Objects(bucket, t.DataPrefix).Select(o => o.Key));
                Assert.Empty(named.Except(Objects(bucket, t.DataPrefix).Select(o => o.Key)));

                var dest = Path.Combine(tmp.Path, "restore" + round);
                var rr = await new CloudRestoreEngine(t).RestoreAsync(new CloudRestoreOptions { Target = dest });
                Assert.Equal("Succeeded", rr.Status);
                Assert.Equal(before, DigestWithRoot(Path.Combine(dest, "Take")));
            }
            Assert.Equal("locked out", results[1]);
        }

        [Fact]
        public async Task Upload_WaitsForAPrunesExclusiveLock_ThenRuns_OrGivesUpWithCloudLocked()
        {
            using var tmp = new TempDir("cloud-xlock");
            var bucket = _s3.NewBucket();
            var src = tmp.Sub("S");
            MakeFile(Path.Combine(src, "a.wav"), 300_000, 1);
            var t = Target(bucket, TimeSpan.FromSeconds(2));
            using var store = S3Target.Connect(t, new S3TargetOptions { RootPrefix = t.HostRoot });
            var prune = await TargetLock.AcquireAsync(store, LockMode.Exclusive, "Remove-NekkCloudBackup", new LockOptions(), null, CancellationToken.None);
            try
            {
                var ex = await Assert.ThrowsAsync<NekkBackupException>(() => new CloudBackupEngine(t).RunAsync(new CloudBackupOptions { Paths = new[] { src }, JournalDirectory = tmp.Sub("j") }));
                Assert.Equal("NekkBackup.CloudLocked", ex.ErrorId);
                Assert.Contains("Remove-NekkCloudBackup", ex.Message);
                Assert.Empty(Objects(bucket, t.DataPrefix));
                Assert.Empty(Objects(bucket, t.ManifestPrefix));

                // An upload that may wait longer runs once the prune is done.
                var waiting = new CloudBackupEngine(Target(bucket, TimeSpan.FromSeconds(60))).RunAsync(new CloudBackupOptions { Paths = new[] { src }, JournalDirectory = tmp.Sub("j") });
                await Task.Delay(1500);
                Assert.False(waiting.IsCompleted, "the upload ran while the exclusive lock was held");
                await prune.DisposeAsync();
                var run = await waiting;
                Assert.Equal("Succeeded", run.Status);
                Assert.Single(Objects(bucket, t.DataPrefix));
            }
            finally
            {
                await prune.DisposeAsync();
            }
        }

        [Fact]
        public async Task Upload_WhoseLockIsLost_CommitsNoManifest()
        {
            using var tmp = new TempDir("cloud-lost");
            var bucket = _s3.NewBucket();
            var src = tmp.Sub("S");
            MakeFile(Path.Combine(src, "long.wav"), 24L << 20, 3);
            var t = Target(bucket, TimeSpan.Zero, refresh: TimeSpan.FromMilliseconds(500));
            var obs = new RecordingObserver();
            var run = new CloudBackupEngine(t, obs).RunAsync(new CloudBackupOptions { Paths = new[] { src }, JournalDirectory = tmp.Sub("j"), MaxMBps = 6 });
            // Another process judged the lock stale and removed it (as a prune taking over would).
            var deadline = DateTime.UtcNow.AddSeconds(30);
            List<S3Object> locks;
            while ((locks = Objects(bucket, t.HostRoot + "locks/")).Count == 0 && DateTime.UtcNow < deadline && !run.IsCompleted) await Task.Delay(50);
            Assert.Single(locks);
            using (var s3 = _s3.Client()) await s3.DeleteObjectAsync(bucket, locks[0].Key);

            var ex = await Assert.ThrowsAsync<NekkBackupException>(() => run);
            Assert.Equal("NekkBackup.LockLost", ex.ErrorId);
            Assert.Contains(obs.Messages, m => m.Contains("was lost"));
            Assert.Empty(Objects(bucket, t.ManifestPrefix));
            Assert.Empty(Objects(bucket, t.HostRoot + "locks/")); // a lost lock is never written again
        }
    }
}
