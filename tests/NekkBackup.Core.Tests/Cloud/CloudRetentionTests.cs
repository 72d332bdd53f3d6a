using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Amazon.S3.Model;
using NekkBackup.Core.Cloud;
using NekkBackup.Core.Folder;
using NekkBackup.Core.Storage;
using NekkBackup.Core.Tests.TestKit;
using Xunit;
using static NekkBackup.Core.Tests.Cloud.CloudTestHelpers;

namespace NekkBackup.Core.Tests.Cloud
{
    /// <summary>
    /// Bucket retention (Remove-NekkCloudBackup -Retention) on a real s3rver: what goes is checked against the source
    /// files' own SHA-256 (the keys a kept run must still have), read back with a plain SDK client, and the newest run is
    /// restored and compared with digests taken before. Object Lock and storage classes s3rver does not implement are
    /// put on the wire by the test's proxy (real HEAD responses the SDK parses), and the age rule runs on an injected
    /// clock or on objects the server itself reports as old.
    /// </summary>
    [Collection("s3rver")]
    public sealed class CloudRetentionTests
    {
        private static readonly RetentionPolicy KeepLast1 = new() { KeepLast = 1 };
        private readonly S3rverFixture _s3;

        public CloudRetentionTests(S3rverFixture s3) => _s3 = s3;

        /// <summary>Two days from now: everything the test wrote is past the 24-hour rule.</summary>
        private static BucketPruneOptions Later(RetentionPolicy policy, bool force = false) =>
            new() { Retention = policy, Force = force, UtcNow = () => DateTime.UtcNow.AddDays(2) };

        private sealed record Runs(string Bucket, CloudTarget Target, string Source, string[] RunIds, Dictionary<string, string> Before, HashSet<string> NewestKeys, HashSet<string> AllKeys);

        /// <summary>
        /// Three runs with deletions and edits between them. Returns the data keys the newest run names, computed from
        /// the files on disk (not from the product), and the digests of the newest tree.
        /// </summary>
        private async Task<Runs> ThreeRunsAsync(TempDir tmp, string? endpoint = null)
        {
            var bucket = _s3.NewBucket();
            var t = _s3.Target(bucket, endpoint);
            var src = tmp.Sub("Sessions");
            var journal = tmp.Sub("j");
            var all = new HashSet<string>(StringComparer.Ordinal);
            void Collect() { foreach (var h in DigestWithRoot(src).Values) all.Add(t.DataKey(h)); }
            var ids = new List<string>();
            for (int i = 0; i < 5; i++) MakeFile(Path.Combine(src, $"take{i}.wav"), 40_000 + i * 1000, i + 1);
            Collect();
            ids.Add((await new CloudBackupEngine(t).RunAsync(new CloudBackupOptions { Paths = new[] { src }, JournalDirectory = journal })).RunId);
            File.Delete(Path.Combine(src, "take1.wav"));
            File.Delete(Path.Combine(src, "take4.wav"));
            MakeFile(Path.Combine(src, "take2.wav"), 41_500, 99); // new content, same name
            MakeFile(Path.Combine(src, "scratch.wav"), 20_000, 77); // only the second run has it
            Collect();
            ids.Add((await new CloudBackupEngine(t).RunAsync(new CloudBackupOptions { Paths = new[] { src }, JournalDirectory = journal })).RunId);
            File.Delete(Path.Combine(src, "take0.wav"));
            File.Delete(Path.Combine(src, "scratch.wav"));
            MakeFile(Path.Combine(src, "mix/bounce.wav"), 70_000, 42);
            Collect();
            ids.Add((await new CloudBackupEngine(t).RunAsync(new CloudBackupOptions { Paths = new[] { src }, JournalDirectory = journal })).RunId);
            var before = DigestWithRoot(src);
            var newest = before.Values.Select(t.DataKey).ToHashSet(StringComparer.Ordinal);
            return new Runs(bucket, t, src, ids.ToArray(), before, newest, all);
        }

        private HashSet<string> Keys(string bucket, string prefix) => _s3.ListObjects(bucket, prefix).Select(o => o.Key).ToHashSet(StringComparer.Ordinal);

        private async Task AssertNewestRestoresAsync(Runs r, TempDir tmp, string name)
        {
            var dest = Path.Combine(tmp.Path, name);
            var rr = await new CloudRestoreEngine(r.Target).RestoreAsync(new CloudRestoreOptions { Target = dest });
            Assert.Equal("Succeeded", rr.Status);
            Assert.Equal(r.Before, DigestWithRoot(Path.Combine(dest, "Sessions")));
        }

        [Fact]
        public async Task ThreeRunsWithDeletions_KeepsYoungObjects_ThenRemovesExactlyWhatNoKeptRunNames()
        {
            using var tmp = new TempDir("cloud-ret");
            var r = await ThreeRunsAsync(tmp);
            var t = r.Target;
            Assert.Equal(r.AllKeys, Keys(r.Bucket, t.DataPrefix));
            Assert.True(r.AllKeys.Count > r.NewestKeys.Count, "the runs must leave objects only older runs name");

            // Today: every dropped manifest is younger than 24 h, so nothing goes (the real rule, the real clock).
            var now = await new BucketPrune(t).RunAsync(new BucketPruneOptions { Retention = KeepLast1 });
            Assert.Equal("Succeeded", now.Status);
            Assert.Empty(now.RunsRemoved);
            Assert.Equal(0, now.ObjectsRemoved);
            Assert.Equal(new[] { r.RunIds[0], r.RunIds[1] }, now.Held.Where(h => h.Kind == "Manifest").Select(h => h.Key.Split('/').Last().Replace(".json", "")).OrderBy(x => x, StringComparer.Ordinal));
            Assert.All(now.Held, h => Assert.Equal(PruneSafety.Young, h.Reason));
            Assert.Equal(r.AllKeys, Keys(r.Bucket, t.DataPrefix));
            Assert.Equal(3, Keys(r.Bucket, t.ManifestPrefix).Count(k => k.EndsWith(".json", StringComparison.Ordinal)));

            // Two days later: the preview names exactly what the prune then removes, and changes nothing itself.
            var preview = await new BucketPrune(t).PreviewAsync(Later(KeepLast1));
            Assert.Equal("WhatIf", preview.Status);
            Assert.Equal(r.AllKeys, Keys(r.Bucket, t.DataPrefix));
            Assert.Empty(_s3.ListObjects(r.Bucket, t.HostRoot + "locks/"));
            var expectedGone = r.AllKeys.Except(r.NewestKeys).OrderBy(k => k, StringComparer.Ordinal).ToArray();
            Assert.Equal(expectedGone, preview.Objects.Select(o => o.Key).OrderBy(k => k, StringComparer.Ordinal));
            Assert.Equal(new[] { r.RunIds[0], r.RunIds[1] }, preview.RunsRemoved);

            var sizes = _s3.ListObjects(r.Bucket, t.HostRoot).ToDictionary(o => o.Key, o => o.Size ?? 0);
            var done = await new BucketPrune(t).RunAsync(Later(KeepLast1));
            Assert.Equal("Succeeded", done.Status);
            Assert.Equal(preview.RunsRemoved, done.RunsRemoved);
            Assert.Equal(new[] { r.RunIds[2] }, done.RunsKept);
            Assert.Equal(expectedGone.Length, done.ObjectsRemoved);
            Assert.Equal(preview.BytesFreed, done.BytesFreed);
            Assert.Equal(expectedGone.Sum(k => sizes[k]) + r.RunIds.Take(2).Sum(id => sizes[t.ManifestKey(id)]), done.BytesFreed);
            Assert.Empty(done.Held);

            // Read independently: exactly the newest run's objects and manifest are left, no mark, no lock.
            Assert.Equal(r.NewestKeys, Keys(r.Bucket, t.DataPrefix));
            Assert.Equal(new[] { t.ManifestKey(r.RunIds[2]) }, Keys(r.Bucket, t.ManifestPrefix).Where(k => k.EndsWith(".json", StringComparison.Ordinal)));
            Assert.Empty(Keys(r.Bucket, PruneMark.Key(t)));
            Assert.Empty(_s3.ListObjects(r.Bucket, t.HostRoot + "locks/"));
            await AssertNewestRestoresAsync(r, tmp, "restored");

            // A second prune has nothing left to do.
            var again = await new BucketPrune(t).RunAsync(Later(KeepLast1));
            Assert.Empty(again.RunsRemoved);
            Assert.Equal(0, again.ObjectsRemoved);
        }

        [Fact]
        public async Task ObjectLock_LegalHold_AndMinimumStorage_KeepObjects_ForceOnlyOverridesTheStorageClass()
        {
            using var tmp = new TempDir("cloud-ret-lock");
            using var proxy = new FaultProxy(_s3.Port);
            var r = await ThreeRunsAsync(tmp, proxy.Endpoint);
            var t = r.Target;
            var orphans = r.AllKeys.Except(r.NewestKeys).OrderBy(k => k, StringComparer.Ordinal).ToArray();
            Assert.True(orphans.Length >= 4, $"need four objects only older runs name, have {orphans.Length}");
            // What the store says about them (s3rver has no Object Lock or storage classes: the proxy answers the HEAD).
            var extra = new Dictionary<string, string>
            {
                [orphans[0]] = $"x-amz-object-lock-mode: COMPLIANCE\r\nx-amz-object-lock-retain-until-date: {DateTime.UtcNow.AddDays(30):yyyy-MM-ddTHH:mm:ss.fffZ}\r\n",
                [orphans[1]] = "x-amz-object-lock-legal-hold: ON\r\n",
                [orphans[2]] = "x-amz-storage-class: GLACIER\r\n",
                // An expired retention does not hold anything.
                [orphans[3]] = $"x-amz-object-lock-mode: GOVERNANCE\r\nx-amz-object-lock-retain-until-date: {DateTime.UtcNow.AddDays(-1):yyyy-MM-ddTHH:mm:ss.fffZ}\r\n",
            };
            var lastModified = DateTime.UtcNow.AddDays(-10);
            proxy.Responder = q =>
            {
                if (q.Method != "HEAD") return null;
                var key = extra.Keys.FirstOrDefault(k => q.Path.EndsWith("/" + k, StringComparison.Ordinal));
                if (key == null) return null;
                return Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nETag: \"0123\"\r\n" +
                    $"Last-Modified: {lastModified:R}\r\n" + extra[key] + "x-amz-request-id: proxy\r\n\r\n");
            };

            var done = await new BucketPrune(t).RunAsync(Later(KeepLast1));
            var held = done.Held.ToDictionary(h => h.Key, h => h.Reason);
            Assert.Equal(PruneSafety.ObjectLock, held[orphans[0]]);
            Assert.Equal(PruneSafety.LegalHold, held[orphans[1]]);
            Assert.Equal(PruneSafety.MinimumStorageDuration, held[orphans[2]]);
            Assert.Equal(3, held.Count);
            Assert.Contains("GLACIER", done.Held.Single(h => h.Key == orphans[2]).Detail);
            // Never even asked to delete a held object; the rest went.
            var deletes = proxy.Requests.Where(q => q.Method == "DELETE").Select(q => q.Path).ToList();
            Assert.DoesNotContain(deletes, d => d.EndsWith(orphans[0]) || d.EndsWith(orphans[1]) || d.EndsWith(orphans[2]));
            Assert.Equal(r.NewestKeys.Union(orphans.Take(3)).ToHashSet(), Keys(r.Bucket, t.DataPrefix));

            // -Force deletes the GLACIER object early (billed anyway), never the locked ones.
            var forced = await new BucketPrune(t).RunAsync(Later(KeepLast1, force: true));
            Assert.Equal(new[] { orphans[2] }, forced.Objects.Select(o => o.Key));
            Assert.Equal(new[] { orphans[0], orphans[1] }, forced.Held.Select(h => h.Key).OrderBy(k => k, StringComparer.Ordinal));
            Assert.Equal(r.NewestKeys.Union(orphans.Take(2)).ToHashSet(), Keys(r.Bucket, t.DataPrefix));
            await AssertNewestRestoresAsync(r, tmp, "restored");
        }

        [Fact]
        public async Task ALockedManifest_StaysWithEveryObjectItNames()
        {
            using var tmp = new TempDir("cloud-ret-mlock");
            using var proxy = new FaultProxy(_s3.Port);
            var r = await ThreeRunsAsync(tmp, proxy.Endpoint);
            var t = r.Target;
            var locked = t.ManifestKey(r.RunIds[0]);
            proxy.Responder = q => q.Method == "HEAD" && q.Path.EndsWith("/" + locked, StringComparison.Ordinal)
                ? Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 10\r\nETag: \"01\"\r\n" +
                    $"Last-Modified: {DateTime.UtcNow.AddDays(-5):R}\r\nx-amz-object-lock-mode: COMPLIANCE\r\n" +
                    $"x-amz-object-lock-retain-until-date: {DateTime.UtcNow.AddYears(1):yyyy-MM-ddTHH:mm:ss.fffZ}\r\nx-amz-request-id: proxy\r\n\r\n")
                : null;
            var done = await new BucketPrune(t).RunAsync(Later(KeepLast1));
            Assert.Equal(new[] { r.RunIds[1] }, done.RunsRemoved);
            Assert.Equal(new[] { r.RunIds[0], r.RunIds[2] }, done.RunsKept);
            Assert.Equal(PruneSafety.ObjectLock, Assert.Single(done.Held).Reason);
            // Every object run 1 or run 3 names is still there: read run 1's manifest with a plain client.
            using var s3 = _s3.Client();
            using var body = await s3.GetObjectAsync(r.Bucket, locked);
            var named = System.Text.Json.JsonDocument.Parse(body.ResponseStream).RootElement.GetProperty("files").EnumerateArray().Select(f => f.GetProperty("key").GetString()!);
            var stored = Keys(r.Bucket, t.DataPrefix);
            Assert.Empty(named.Concat(r.NewestKeys).Except(stored));
            Assert.NotEmpty(done.Objects); // run 2's own content went
        }

        [Fact]
        public async Task KilledAfterTheMark_LeavesAConsistentBucket_AndTheNextPruneCompletesIt()
        {
            using var tmp = new TempDir("cloud-ret-kill");
            var r = await ThreeRunsAsync(tmp);
            var t = r.Target;
            // Old as the server itself reports it, so the child runs with the real clock and the real 24-hour rule.
            _s3.AgeObjects(r.Bucket, TimeSpan.FromDays(3));
            using var proxy = new FaultProxy(_s3.Port);
            using var gate = new ManualResetEventSlim(false);
            int manifestDeletes = 0;
            proxy.Responder = q =>
            {
                if (q.Method != "DELETE" || !q.Path.Contains("/manifests/")) return null;
                if (Interlocked.Increment(ref manifestDeletes) == 1) return null; // the first goes through
                gate.Wait(TimeSpan.FromSeconds(120)); // the second hangs until the child is dead
                return Encoding.ASCII.GetBytes("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n");
            };
            var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { CloudResumeAndArchiveTests.CloudHostDll(), "prune", "--endpoint", proxy.Endpoint, "--bucket", r.Bucket, "--prefix", t.Prefix, "--host", t.HostName, "--keep-last", "1" })
                psi.ArgumentList.Add(a);
            using var child = Process.Start(psi)!;
            child.OutputDataReceived += (_, _) => { };
            child.ErrorDataReceived += (_, _) => { };
            child.BeginOutputReadLine();
            child.BeginErrorReadLine();
            var deadline = DateTime.UtcNow.AddSeconds(90);
            while (Volatile.Read(ref manifestDeletes) < 2 && !child.HasExited && DateTime.UtcNow < deadline) await Task.Delay(25);
            Assert.False(child.HasExited, "the prune finished before it could be killed");
            Assert.Equal(2, Volatile.Read(ref manifestDeletes));
            child.Kill(entireProcessTree: true);
            child.WaitForExit(10_000);
            gate.Set();

            // Killed between the two manifest deletions: the mark names both runs, run 1 is gone, run 2 and 3 are whole.
            using (var s3 = _s3.Client())
            {
                using var markBody = await s3.GetObjectAsync(r.Bucket, PruneMark.Key(t));
                var mark = System.Text.Json.JsonDocument.Parse(markBody.ResponseStream).RootElement;
                Assert.Equal(new[] { r.RunIds[0], r.RunIds[1] }, mark.GetProperty("runs").EnumerateArray().Select(e => e.GetString()));
            }
            Assert.Equal(new[] { t.ManifestKey(r.RunIds[1]), t.ManifestKey(r.RunIds[2]) }, Keys(r.Bucket, t.ManifestPrefix).Where(k => k.EndsWith(".json", StringComparison.Ordinal)).OrderBy(k => k, StringComparer.Ordinal));
            Assert.Equal(r.AllKeys, Keys(r.Bucket, t.DataPrefix)); // the sweep never started
            await AssertNewestRestoresAsync(r, tmp, "after-kill");

            // The next prune completes the marked one, even under a policy that alone would keep run 2.
            var next = await new BucketPrune(t).RunAsync(new BucketPruneOptions { Retention = new RetentionPolicy { KeepLast = 3 } });
            Assert.NotNull(next.CompletedPruneId);
            Assert.Equal(new[] { r.RunIds[1] }, next.RunsRemoved);
            Assert.Equal(r.NewestKeys, Keys(r.Bucket, t.DataPrefix));
            Assert.Empty(Keys(r.Bucket, PruneMark.Key(t)));
            Assert.Empty(_s3.ListObjects(r.Bucket, t.HostRoot + "locks/")); // the killed child's lock was judged stale and removed
            await AssertNewestRestoresAsync(r, tmp, "after-rerun");
        }

        [Fact]
        public async Task AnUnreadableManifest_RemovesNothing()
        {
            using var tmp = new TempDir("cloud-ret-bad");
            var r = await ThreeRunsAsync(tmp);
            using (var s3 = _s3.Client())
                await s3.PutObjectAsync(new PutObjectRequest { BucketName = r.Bucket, Key = r.Target.ManifestKey(r.RunIds[0]), ContentBody = "{ not json", UseChunkEncoding = false });
            var done = await new BucketPrune(r.Target).RunAsync(Later(KeepLast1));
            Assert.Equal("Refused", done.Status);
            Assert.Contains(r.RunIds[0], done.Reason);
            Assert.Equal(r.AllKeys, Keys(r.Bucket, r.Target.DataPrefix));
            Assert.Equal(3, Keys(r.Bucket, r.Target.ManifestPrefix).Count(k => k.EndsWith(".json", StringComparison.Ordinal)));
        }

        [Fact]
        public async Task APruneIsRefused_WhileAnUploadHoldsTheLock()
        {
            using var tmp = new TempDir("cloud-ret-busy");
            var r = await ThreeRunsAsync(tmp);
            using var store = S3Target.Connect(r.Target, new S3TargetOptions { RootPrefix = r.Target.HostRoot });
            await using var upload = await TargetLock.AcquireAsync(store, LockMode.Shared, "Send-NekkCloudBackup", new LockOptions(), null, CancellationToken.None);
            var ex = await Assert.ThrowsAsync<Errors.NekkBackupException>(() => new BucketPrune(r.Target).RunAsync(Later(KeepLast1)));
            Assert.Equal("NekkBackup.CloudLocked", ex.ErrorId);
            Assert.Equal(r.AllKeys, Keys(r.Bucket, r.Target.DataPrefix));
            Assert.Empty(Keys(r.Bucket, PruneMark.Key(r.Target)));
        }
    }

    /// <summary>The safety rules alone, on HEAD results and a fixed clock.</summary>
    public sealed class PruneSafetyTests
    {
        private static readonly DateTime Now = new(2026, 12, 6, 12, 0, 0, DateTimeKind.Utc);

        private static TargetEntry Head(DateTime modified, params (string, string)[] attributes) =>
            new("data/x", 100, modified, attributes: attributes.ToDictionary(a => a.Item1, a => a.Item2));

        [Fact]
        public void TheAgeRule_IsTwentyFourHours()
        {
            Assert.Equal(TimeSpan.FromHours(24), PruneSafety.MinimumAge);
            Assert.NotNull(PruneSafety.TooYoung(Now.AddHours(-23.9), Now, PruneSafety.MinimumAge));
            Assert.Null(PruneSafety.TooYoung(Now.AddHours(-24), Now, PruneSafety.MinimumAge));
            Assert.NotNull(PruneSafety.TooYoung(Now.AddMinutes(5), Now, PruneSafety.MinimumAge)); // a clock ahead of ours
            Assert.Contains("23 h", PruneSafety.TooYoung(Now.AddHours(-23.5), Now, PruneSafety.MinimumAge)!.Value.Detail);
        }

        [Theory]
        [InlineData("GLACIER", 89, true)]
        [InlineData("GLACIER", 91, false)]
        [InlineData("GLACIER_IR", 60, true)]
        [InlineData("DEEP_ARCHIVE", 179, true)]
        [InlineData("DEEP_ARCHIVE", 181, false)]
        [InlineData("STANDARD_IA", 29, true)]
        [InlineData("ONEZONE_IA", 31, false)]
        [InlineData("STANDARD", 2, false)]
        [InlineData("INTELLIGENT_TIERING", 2, false)]
        public void MinimumStorageDuration_HoldsUntilItEnds_AndForceOverridesIt(string cls, int ageDays, bool held)
        {
            var h = Head(Now.AddDays(-ageDays), (S3Target.StorageClassAttribute, cls));
            var why = PruneSafety.Forbidden(h, Now, force: false);
            Assert.Equal(held, why != null);
            if (held) Assert.Equal(PruneSafety.MinimumStorageDuration, why!.Value.Reason);
            Assert.Null(PruneSafety.Forbidden(h, Now, force: true));
        }

        [Fact]
        public void ObjectLock_AndLegalHold_AreNeverOverridden()
        {
            var old = Now.AddDays(-400);
            var locked = Head(old, (S3Target.ObjectLockModeAttribute, "COMPLIANCE"), (S3Target.ObjectLockRetainUntilAttribute, Now.AddDays(1).ToString("o")));
            Assert.Equal(PruneSafety.ObjectLock, PruneSafety.Forbidden(locked, Now, force: true)!.Value.Reason);
            Assert.Contains("COMPLIANCE", PruneSafety.Forbidden(locked, Now, false)!.Value.Detail);
            var expired = Head(old, (S3Target.ObjectLockModeAttribute, "GOVERNANCE"), (S3Target.ObjectLockRetainUntilAttribute, Now.AddSeconds(-1).ToString("o")));
            Assert.Null(PruneSafety.Forbidden(expired, Now, false));
            var hold = Head(old, (S3Target.LegalHoldAttribute, "ON"));
            Assert.Equal(PruneSafety.LegalHold, PruneSafety.Forbidden(hold, Now, force: true)!.Value.Reason);
            Assert.Null(PruneSafety.Forbidden(Head(old, (S3Target.LegalHoldAttribute, "OFF")), Now, false));
            // A date that cannot be read errs on keeping.
            Assert.Equal(PruneSafety.ObjectLock, PruneSafety.Forbidden(Head(old, (S3Target.ObjectLockRetainUntilAttribute, "soon")), Now, true)!.Value.Reason);
        }

        [Fact]
        public void ADamagedMark_IsReportedNotTrusted()
        {
            Assert.NotNull(PruneMark.Parse(Encoding.UTF8.GetBytes("{ \"formatVersion\": 1, \"format\": \"nekkbackup-cloud-prune/1\", \"pruneId\": \"p\", \"runs\": [\"../x\"] }"), "k", out _));
            Assert.NotNull(PruneMark.Parse(Encoding.UTF8.GetBytes("[1,2]"), "k", out _));
            Assert.Null(PruneMark.Parse(Encoding.UTF8.GetBytes("{ \"formatVersion\": 1, \"format\": \"nekkbackup-cloud-prune/1\", \"pruneId\": \"p1\", \"runs\": [\"20261206T120000Z-0a1b2c3d\"] }"), "k", out var ok));
            Assert.Single(ok!.Runs);
            var ex = Assert.Throws<Errors.NekkBackupException>(() => PruneMark.Parse(Encoding.UTF8.GetBytes("{ \"formatVersion\": 2 }"), "k", out _));
            Assert.Equal("NekkBackup.UnsupportedFormatVersion", ex.ErrorId);
        }
    }
}
