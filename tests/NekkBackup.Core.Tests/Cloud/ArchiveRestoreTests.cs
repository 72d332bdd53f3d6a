using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Amazon.S3.Model;
using NekkBackup.Core.Cloud;
using NekkBackup.Core.Tests.TestKit;
using Xunit;
using static NekkBackup.Core.Tests.Cloud.CloudTestHelpers;

namespace NekkBackup.Core.Tests.Cloud
{
    /// <summary>Restore-NekkCloudArchive against the real s3rver: byte-for-byte round trips, kills, cold objects.</summary>
    [Collection("s3rver")]
    public sealed class ArchiveRestoreTests
    {
        private readonly S3rverFixture _s3;

        public ArchiveRestoreTests(S3rverFixture s3) => _s3 = s3;

        private static Dictionary<string, string> Digest(string dir) => DigestWithRoot(dir);

        [Fact]
        public async Task Archive_RestoresByteForByte_AllAndAPathSubset_WithRangedGets()
        {
            using var tmp = new TempDir("arch-rt");
            var proj = tmp.Sub("Album Final");
            StudioData.Generate(proj, 12, 21);
            MakeFile(Path.Combine(proj, "Stems", "Ünïcode sträng – take 1.wav"), 3_000_001, 4);
            MakeFile(Path.Combine(proj, "Stems", new string('x', 120) + "/" + new string('y', 120) + ".wav"), 70_000, 5);
            MakeFile(Path.Combine(proj, "empty.txt"), 0, 6);
            var before = Digest(proj); // digests taken before the upload (an independent reference)
            var bucket = _s3.NewBucket();
            using var proxy = new FaultProxy(_s3.Port);
            var target = _s3.Target(bucket, proxy.Endpoint);
            var sent = await new CloudArchiveEngine(target).RunAsync(new CloudArchiveOptions { Path = proj, StorageClass = "STANDARD", PartSize = 5 << 20, JournalDirectory = tmp.Sub("j") });
            _s3.WaitSettled(bucket, sent.Key, sent.Bytes);

            var listed = await new ArchiveCatalog(target).ListAsync(null);
            var info = Assert.Single(listed);
            Assert.Equal(sent.ArchiveId, info.ArchiveId);
            Assert.Equal("Album Final", info.Project);
            Assert.Equal("Available", info.State);
            Assert.Equal("STANDARD", info.StorageClass);
            Assert.Equal(sent.Bytes, info.SizeBytes);
            Assert.Equal(before.Count, info.Files);

            var obs = new RecordingObserver();
            var all = Path.Combine(tmp.Path, "all");
            var r = await new ArchiveRestoreEngine(target, obs).RestoreAsync(new ArchiveRestoreOptions { ArchiveId = sent.ArchiveId, Target = all, WindowBytes = 4 << 20 });
            Assert.True(r.Status == "Succeeded", obs.FailureText);
            Assert.Equal(before.Count, r.FilesRestored);
            // One pass over the object: up to the end of the last file's data at least, the end marker at most.
            long lastDataEnd;
            using (var s3 = _s3.Client())
            using (var resp = await s3.GetObjectAsync(bucket, sent.ManifestKey))
                lastDataEnd = (await System.Text.Json.JsonSerializer.DeserializeAsync<ArchiveManifest>(resp.ResponseStream))!.Files.Max(f => f.Offset + f.Size);
            Assert.InRange(r.BytesDownloaded, lastDataEnd, sent.Bytes);
            var after = Digest(Path.Combine(all, "Album Final"));
            Assert.True(before.Count == after.Count && before.All(kv => after.TryGetValue(kv.Key, out var h) && h == kv.Value), StudioData.Diff(before, after));
            Assert.False(File.Exists(ArchiveRestoreJournal.PathFor(all, sent.ArchiveId)));
            Assert.Empty(Directory.EnumerateFiles(all, "*.nekkpart", SearchOption.AllDirectories));
            var gets = proxy.Requests.Where(q => q.Method == "GET" && q.Path.EndsWith(".tar")).ToList();
            Assert.True(gets.Count >= sent.Bytes / (4 << 20), $"{gets.Count} GETs for {sent.Bytes} bytes in 4 MiB windows");
            Assert.All(gets, g => Assert.StartsWith("bytes=", g.Header("range")));

            // A -Path subset: only the stems, read by skipping the rest of the tar.
            var subset = Path.Combine(tmp.Path, "stems");
            var s = await new ArchiveRestoreEngine(target, obs).RestoreAsync(new ArchiveRestoreOptions { ArchiveId = sent.ArchiveId, Target = subset, Paths = new[] { "Album Final/Stems" } });
            Assert.Equal("Succeeded", s.Status);
            var stems = before.Where(kv => kv.Key.StartsWith("Album Final/Stems/", StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value);
            Assert.True(stems.Count >= 2);
            var got = Digest(Path.Combine(subset, "Album Final"));
            Assert.Equal(stems.OrderBy(k => k.Key), got.OrderBy(k => k.Key));
            Assert.True(s.BytesDownloaded < sent.Bytes / 2, $"the subset downloaded {s.BytesDownloaded} of {sent.Bytes} bytes");

            // A non-empty target is refused without -Overwrite; with it, identical files are kept.
            var ex = await Assert.ThrowsAsync<Errors.NekkBackupException>(() => new ArchiveRestoreEngine(target).RestoreAsync(new ArchiveRestoreOptions { ArchiveId = sent.ArchiveId, Target = all }));
            Assert.Equal("NekkBackup.TargetNotEmpty", ex.ErrorId);
            var again = await new ArchiveRestoreEngine(target).RestoreAsync(new ArchiveRestoreOptions { ArchiveId = sent.ArchiveId, Target = all, Overwrite = true });
            Assert.Equal("Succeeded", again.Status);
            Assert.Equal(before.Count, again.FilesRestored);
        }

        [Fact]
        public async Task HostileTarEntries_AreRefused_NothingLeavesTheTarget()
        {
            using var tmp = new TempDir("arch-hostile");
            var bucket = _s3.NewBucket();
            var target = _s3.Target(bucket);
            var outsideName = "nekk-escape-" + Guid.NewGuid().ToString("N").Substring(0, 8);
            var good = Encoding.UTF8.GetBytes("good content\n");
            var after = Encoding.UTF8.GetBytes("after the hostile entries\n");
            var tar = new RawTar();
            tar.Add("Proj/", '5');
            long goodAt = tar.Add("Proj/good.txt", '0', good);
            tar.Add("../" + outsideName, '0', Encoding.UTF8.GetBytes("escaped"));
            tar.Add("/tmp/" + outsideName, '0', Encoding.UTF8.GetBytes("absolute"));
            tar.Add("Proj/link", '2', link: "/etc");
            tar.Add("Proj/link/passwd", '0', Encoding.UTF8.GetBytes("through the link"));
            tar.Add("Proj/hard", '1', link: "/etc/passwd");
            tar.Add("Proj/good.txt", '0', Encoding.UTF8.GetBytes("duplicate"));
            tar.Add("Proj/fifo", '6');
            tar.AddPax("Proj/../../pax-" + outsideName, Encoding.UTF8.GetBytes("pax escape"));
            tar.AddGnuLong("../../gnu-" + outsideName, Encoding.UTF8.GetBytes("gnu escape"));
            tar.Add("Proj/dev", '3');
            long afterAt = tar.Add("Proj/after.txt", '0', after);
            tar.Add("Proj/huge.bin", '0', Encoding.UTF8.GetBytes("tiny"), claimedSize: 8L << 30);
            long lastAt = tar.Add("Proj/last.txt", '0', good); // unreachable behind the lying size
            var bytes = tar.Finish();
            var id = "hostile-1";
            await PutArchiveAsync(bucket, target, id, bytes, ("Proj/good.txt", good, goodAt), ("Proj/after.txt", after, afterAt), ("Proj/last.txt", good, lastAt));

            var dest = tmp.Sub("restore");
            var obs = new RecordingObserver();
            var r = await new ArchiveRestoreEngine(target, obs).RestoreAsync(new ArchiveRestoreOptions { ArchiveId = id, Target = dest });
            Assert.Equal("CompletedWithErrors", r.Status);
            Assert.Equal(2, r.FilesRestored);
            Assert.Equal("good content\n", File.ReadAllText(Path.Combine(dest, "Proj", "good.txt")));
            Assert.Equal("after the hostile entries\n", File.ReadAllText(Path.Combine(dest, "Proj", "after.txt")));
            var refused = obs.Failures.Where(f => f.Error.ErrorId == "NekkBackup.UnsafeArchiveEntry").Select(f => f.Error.Message).ToList();
            Assert.Equal(11, refused.Count);
            Assert.Contains(obs.Failures, f => f.Error.ErrorId == "NekkBackup.ArchiveEntryMissing" && f.Item == "Proj/last.txt");
            Assert.Equal(12, r.Errors);
            Assert.Equal(r.Errors, obs.Failures.Count);
            Assert.Contains(refused, m => m.Contains("'..' segment"));
            Assert.Contains(refused, m => m.Contains("absolute"));
            Assert.Contains(refused, m => m.Contains("symbolic link"));
            Assert.Contains(refused, m => m.Contains("hard link"));
            Assert.Contains(refused, m => m.Contains("twice"));
            Assert.Contains(refused, m => m.Contains("FIFO"));
            Assert.Contains(refused, m => m.Contains("device"));
            Assert.Contains(refused, m => m.Contains("past the end"));
            // Nothing was written anywhere but the two good files.
            Assert.Equal(new[] { "Proj/after.txt", "Proj/good.txt" }, Directory.EnumerateFileSystemEntries(dest, "*", SearchOption.AllDirectories)
                .Where(File.Exists).Select(p => Path.GetRelativePath(dest, p).Replace('\\', '/')).OrderBy(p => p, StringComparer.Ordinal).ToArray());
            Assert.Empty(Directory.EnumerateFileSystemEntries(tmp.Path, "*" + outsideName + "*", SearchOption.AllDirectories));
            Assert.False(File.Exists("/tmp/" + outsideName));
            Assert.False(File.Exists(Path.Combine(Path.GetTempPath(), "gnu-" + outsideName)));
        }

        [Fact]
        public async Task HostileManifest_AndALinkInTheTarget_WriteNothingOutside()
        {
            using var tmp = new TempDir("arch-manifest");
            var bucket = _s3.NewBucket();
            var target = _s3.Target(bucket);
            var data = Encoding.UTF8.GetBytes("x");
            var tar = new RawTar();
            long at = tar.Add("../evil.txt", '0', data);
            await PutArchiveAsync(bucket, target, "bad-manifest", tar.Finish(), ("../evil.txt", data, at));
            var ex = await Assert.ThrowsAsync<Errors.NekkBackupException>(() => new ArchiveRestoreEngine(target).RestoreAsync(new ArchiveRestoreOptions { ArchiveId = "bad-manifest", Target = tmp.Sub("r1") }));
            Assert.Equal("NekkBackup.UnsafePath", ex.ErrorId);
            Assert.False(File.Exists(Path.Combine(tmp.Path, "evil.txt")));

            // The target's project folder is a link to somewhere else: nothing is written through it.
            var tar2 = new RawTar();
            tar2.Add("Proj/", '5');
            long at2 = tar2.Add("Proj/song.wav", '0', data);
            await PutArchiveAsync(bucket, target, "through-link", tar2.Finish(), ("Proj/song.wav", data, at2));
            var elsewhere = tmp.Sub("elsewhere");
            var dest = tmp.Sub("r2");
            Directory.CreateSymbolicLink(Path.Combine(dest, "Proj"), elsewhere);
            var obs = new RecordingObserver();
            var r = await new ArchiveRestoreEngine(target, obs).RestoreAsync(new ArchiveRestoreOptions { ArchiveId = "through-link", Target = dest, Overwrite = true });
            Assert.Equal(1, r.Errors);
            Assert.Contains(obs.Failures, f => f.Error.ErrorId == "NekkBackup.UnsafePath");
            Assert.Empty(Directory.EnumerateFileSystemEntries(elsewhere));
        }

        [Fact]
        public async Task ColdArchive_RequestsTheThawOnce_ReportsItsWaitAndCost_AndALaterCallRestores()
        {
            using var tmp = new TempDir("arch-cold");
            var proj = tmp.Sub("Cold Project");
            MakeFile(Path.Combine(proj, "mix.wav"), 2_000_000, 7);
            MakeFile(Path.Combine(proj, "notes.txt"), 1234, 8);
            var before = Digest(proj);
            var bucket = _s3.NewBucket();
            using var proxy = new FaultProxy(_s3.Port);
            var target = _s3.Target(bucket, proxy.Endpoint);
            var sent = await new CloudArchiveEngine(target).RunAsync(new CloudArchiveOptions { Path = proj, JournalDirectory = tmp.Sub("j") });
            _s3.WaitSettled(bucket, sent.Key, sent.Bytes);
            Assert.Equal("DEEP_ARCHIVE", sent.StorageClass);

            // S3 answers a cold object's HEAD with its class and x-amz-restore; s3rver cannot, so the proxy does.
            using var s3 = _s3.Client();
            var real = await s3.GetObjectMetadataAsync(bucket, sent.Key);
            string? restoreHeader = null; // null = never thawed
            proxy.Responder = q =>
            {
                if (!q.Path.EndsWith(".tar", StringComparison.Ordinal)) return null;
                if (q.Method == "HEAD")
                    return Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\n" +
                        $"Content-Length: {real.ContentLength}\r\nETag: {real.ETag}\r\nLast-Modified: {real.LastModified:R}\r\n" +
                        "Content-Type: application/x-tar\r\nx-amz-storage-class: DEEP_ARCHIVE\r\n" +
                        (restoreHeader != null ? $"x-amz-restore: {restoreHeader}\r\n" : "") + "x-amz-request-id: proxy\r\n\r\n");
                if (q.Method == "GET" && restoreHeader?.Contains("expiry-date") != true)
                {
                    var body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InvalidObjectState</Code><Message>The operation is not valid for the object's storage class</Message></Error>";
                    return Encoding.ASCII.GetBytes($"HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\nContent-Length: {body.Length}\r\n\r\n{body}");
                }
                return null;
            };
            proxy.AcceptRestoreRequests = true;

            var info = Assert.Single(await new ArchiveCatalog(target).ListAsync(null));
            Assert.Equal("Cold", info.State);
            Assert.Equal("DEEP_ARCHIVE", info.StorageClass);

            var dest = Path.Combine(tmp.Path, "restore");
            var obs = new RecordingObserver();
            var first = await new ArchiveRestoreEngine(target, obs).RestoreAsync(new ArchiveRestoreOptions { ArchiveId = sent.ArchiveId, Target = dest, ThawTier = "Bulk", ThawDays = 3 });
            Assert.Equal("ThawRequested", first.Status);
            Assert.Equal("Cold", first.State);
            Assert.Equal("Bulk", first.ThawTier);
            Assert.Equal(TimeSpan.FromHours(48), first.ExpectedWait);
            Assert.Contains(first.Warnings, w => w.Contains("48 hours") && w.Contains("billed") && w.Contains("Bulk"));
            Assert.Contains(obs.Messages, m => m.StartsWith("Warning") && m.Contains("DEEP_ARCHIVE"));
            var thaw = Assert.Single(proxy.Requests, q => q.Method == "POST" && q.Query.Contains("restore"));
            Assert.EndsWith(".tar", thaw.Path);
            Assert.DoesNotContain(proxy.Requests, q => q.Method == "GET" && q.Path.EndsWith(".tar"));
            Assert.False(Directory.Exists(Path.Combine(dest, "Cold Project")));

            // The thaw runs: no second request (it would be billed again), no download.
            restoreHeader = "ongoing-request=\"true\"";
            Assert.Equal("Thawing", Assert.Single(await new ArchiveCatalog(target).ListAsync(null)).State);
            var second = await new ArchiveRestoreEngine(target).RestoreAsync(new ArchiveRestoreOptions { ArchiveId = sent.ArchiveId, Target = dest, ThawTier = "Bulk" });
            Assert.Equal("Thawing", second.Status);
            Assert.Single(proxy.Requests, q => q.Method == "POST" && q.Query.Contains("restore"));
            Assert.DoesNotContain(proxy.Requests, q => q.Method == "GET" && q.Path.EndsWith(".tar"));

            // Thawed: the same call restores, verified.
            restoreHeader = $"ongoing-request=\"false\", expiry-date=\"{DateTime.UtcNow.AddDays(3):R}\"";
            var listed = Assert.Single(await new ArchiveCatalog(target).ListAsync(null));
            Assert.Equal("Available", listed.State);
            Assert.NotNull(listed.ThawedUntil);
            var third = await new ArchiveRestoreEngine(target, obs).RestoreAsync(new ArchiveRestoreOptions { ArchiveId = sent.ArchiveId, Target = dest });
            Assert.True(third.Status == "Succeeded", obs.FailureText);
            Assert.Equal(before, Digest(Path.Combine(dest, "Cold Project")));
        }

        [Fact]
        public async Task KilledArchiveUpload_ResumesTheSameObject()
        {
            using var tmp = new TempDir("arch-kill-up");
            var proj = tmp.Sub("Long Session");
            MakeFile(Path.Combine(proj, "Audio", "take.wav"), 40L * 1024 * 1024 + 17, 31);
            for (int i = 0; i < 20; i++) MakeFile(Path.Combine(proj, "Bounces", $"b{i:00}.wav"), 40_000 + i, 40 + i);
            var before = Digest(proj);
            var bucket = _s3.NewBucket();
            var journalDir = tmp.Sub("journal");
            var scope = _s3.Target(bucket).JournalScope;
            using (var child = StartHost("archive", "--endpoint", _s3.Endpoint, "--bucket", bucket, "--path", proj, "--journal", journalDir, "--mbps", "8", "--throttle", "2", "--part-mib", "5"))
            {
                var journal = new MultipartJournal(journalDir);
                int parts = (int)WaitFor(child, () => journal.All(scope).Select(j => j.Parts.Count).DefaultIfEmpty(0).Max(), 3);
                Assert.True(parts >= 3, $"only {parts} parts journaled before the deadline");
                Kill(child);
            }
            using var s3 = _s3.Client();
            var listed = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket });
            Assert.DoesNotContain(listed.S3Objects ?? new(), o => o.Key.EndsWith(".manifest.json"));

            var obs = new RecordingObserver();
            var run = await new CloudArchiveEngine(_s3.Target(bucket), obs).RunAsync(new CloudArchiveOptions
            {
                Path = proj, StorageClass = "STANDARD", PartSize = 5 << 20, JournalDirectory = journalDir,
            });
            Assert.Equal("Succeeded", run.Status);
            Assert.True(run.PartsResumed >= 3, $"PartsResumed = {run.PartsResumed}");
            Assert.Equal(run.Bytes - run.PartsResumed * (5L << 20), run.BytesUploaded);
            Assert.Contains(obs.Messages, m => m.Contains("Continuing the unfinished upload"));
            Assert.Empty(new MultipartJournal(journalDir).All(scope));
            Assert.Single(await new ArchiveCatalog(_s3.Target(bucket)).ListAsync(null));
            _s3.WaitSettled(bucket, run.Key, run.Bytes);

            var dest = Path.Combine(tmp.Path, "r");
            var r = await new ArchiveRestoreEngine(_s3.Target(bucket)).RestoreAsync(new ArchiveRestoreOptions { ArchiveId = run.ArchiveId, Target = dest });
            Assert.Equal("Succeeded", r.Status);
            Assert.Equal(before, Digest(Path.Combine(dest, "Long Session")));
        }

        [Fact]
        public async Task KilledArchiveRestore_ContinuesWhereItStopped()
        {
            using var tmp = new TempDir("arch-kill-down");
            var proj = tmp.Sub("Film Mix");
            for (int i = 0; i < 6; i++) MakeFile(Path.Combine(proj, "Reels", $"reel{i}.wav"), 2_000_000 + i, 60 + i);
            MakeFile(Path.Combine(proj, "Reels", "full.wav"), 36L * 1024 * 1024 + 5, 70);
            MakeFile(Path.Combine(proj, "z-notes.txt"), 999, 71);
            var before = Digest(proj);
            var bucket = _s3.NewBucket();
            var sent = await new CloudArchiveEngine(_s3.Target(bucket)).RunAsync(new CloudArchiveOptions { Path = proj, StorageClass = "STANDARD", JournalDirectory = tmp.Sub("j") });
            _s3.WaitSettled(bucket, sent.Key, sent.Bytes);
            var dest = Path.Combine(tmp.Path, "restore");
            long written = 0;
            using (var child = StartHost("restore-archive", "--endpoint", _s3.Endpoint, "--bucket", bucket, "--archive-id", sent.ArchiveId, "--target", dest, "--mbps", "8", "--window-mib", "4"))
            {
                written = WaitFor(child, () => Directory.Exists(dest) ? Directory.EnumerateFiles(dest, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length) : 0, 24L << 20);
                Assert.True(written >= 24L << 20, $"only {written} bytes written before the deadline");
                Kill(child);
            }
            Assert.True(File.Exists(ArchiveRestoreJournal.PathFor(dest, sent.ArchiveId)));

            var obs = new RecordingObserver();
            var r = await new ArchiveRestoreEngine(_s3.Target(bucket), obs).RestoreAsync(new ArchiveRestoreOptions { ArchiveId = sent.ArchiveId, Target = dest });
            Assert.True(r.Status == "Succeeded", obs.FailureText);
            Assert.True(r.BytesResumed >= 20L << 20, $"BytesResumed = {r.BytesResumed}");
            Assert.True(r.BytesDownloaded <= sent.Bytes - (20L << 20), $"downloaded {r.BytesDownloaded} of {sent.Bytes} again");
            Assert.Equal(before, Digest(Path.Combine(dest, "Film Mix")));
            Assert.False(File.Exists(ArchiveRestoreJournal.PathFor(dest, sent.ArchiveId)));
            Assert.Empty(Directory.EnumerateFiles(dest, "*.nekkpart", SearchOption.AllDirectories));
        }

        [Fact]
        public void TarReader_ReadsGnuAndPosixTars_WrittenByGnuTar()
        {
            using var tmp = new TempDir("arch-gnutar");
            var src = tmp.Sub("P");
            var longDir = string.Join("/", Enumerable.Range(0, 6).Select(i => new string((char)('a' + i), 40)));
            MakeFile(Path.Combine(src, longDir, "long-name-" + new string('n', 110) + ".wav"), 5000, 1);
            MakeFile(Path.Combine(src, "Ünïcode.txt"), 513, 2);
            MakeFile(Path.Combine(src, "zero.bin"), 0, 3);
            foreach (var format in new[] { "gnu", "posix", "ustar" })
            {
                if (format == "ustar") Directory.Delete(Path.Combine(src, new string('a', 40)), true);
                var tarPath = Path.Combine(tmp.Path, format + ".tar");
                ProcessHelper.Check("tar", $"--format={format} -cf \"{tarPath}\" -C \"{tmp.Path}\" P");
                var expect = Digest(src);
                using var fs = File.OpenRead(tarPath);
                var reader = new TarReader(fs, tarPath);
                var seen = new Dictionary<string, string>();
                TarEntry? e;
                while ((e = reader.NextAsync(CancellationToken.None).GetAwaiter().GetResult()) != null)
                {
                    if (!e.IsRegularFile) continue;
                    var data = new byte[e.Size];
                    using (var again = File.OpenRead(tarPath)) { again.Position = e.DataOffset; again.ReadExactly(data); }
                    seen[e.Name] = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(data)).ToLowerInvariant();
                }
                Assert.Equal(expect.OrderBy(k => k.Key), seen.OrderBy(k => k.Key));
            }
        }

        [Fact]
        public void Guard_NameRules()
        {
            foreach (var bad in new[] { "", "/etc/passwd", "a/../b", "../a", "./a", "a//b", "a\\b", "C:/x", "a\0b" })
                Assert.NotNull(ArchiveEntryGuard.NameProblem(bad, windows: false));
            foreach (var bad in new[] { "a/b:stream", "a/CON", "a/nul.txt", "a/b.", "a/b ", "a/b?" })
                Assert.NotNull(ArchiveEntryGuard.NameProblem(bad, windows: true));
            foreach (var ok in new[] { "Proj/a.wav", "Proj/Ünï code/take 1.wav", "P/b:c" })
                Assert.Null(ArchiveEntryGuard.NameProblem(ok, windows: false));
            Assert.NotNull(ArchiveEntryGuard.NameProblem("P/b:c", windows: true));
        }

        // ------------------------------------------------------------------ helpers

        /// <summary>Uploads a hand-made tar and a manifest for it (as an attacker with bucket access could).</summary>
        private async Task PutArchiveAsync(string bucket, CloudTarget target, string id, byte[] tar, params (string Path, byte[] Data, long Offset)[] files)
        {
            using var s3 = _s3.Client();
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = target.ArchiveKey(id), InputStream = new MemoryStream(tar), UseChunkEncoding = false });
            var m = new ArchiveManifest
            {
                ArchiveId = id, Host = "testhost", Source = "/x/Proj", CreatedUtc = DateTime.UtcNow, Key = target.ArchiveKey(id), StorageClass = "STANDARD",
                TarBytes = tar.Length,
                Files = files.Select(f => new ArchiveManifestEntry
                {
                    Path = f.Path, Size = f.Data.Length, Offset = f.Offset, LastWriteTimeUtc = DateTime.UtcNow,
                    Hash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(f.Data)).ToLowerInvariant(),
                }).ToList(),
            };
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = target.ArchiveManifestKey(id), ContentBody = JsonSerializer.Serialize(m), UseChunkEncoding = false });
        }

        private static Process StartHost(params string[] args)
        {
            var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add(CloudResumeAndArchiveTests.CloudHostDll());
            foreach (var a in args) psi.ArgumentList.Add(a);
            var p = Process.Start(psi)!;
            p.OutputDataReceived += (_, _) => { };
            p.ErrorDataReceived += (_, _) => { };
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            return p;
        }

        /// <summary>Polls <paramref name="probe"/> until it reaches <paramref name="goal"/> (or 90 s pass); the child must still run.</summary>
        private static long WaitFor(Process child, Func<long> probe, long goal)
        {
            var deadline = DateTime.UtcNow.AddSeconds(90);
            long v = 0;
            while (DateTime.UtcNow < deadline && !child.HasExited)
            {
                try { v = probe(); } catch (IOException) { }
                if (v >= goal) break;
                Thread.Sleep(25);
            }
            Assert.False(child.HasExited, "the child finished before it could be killed");
            return v;
        }

        private static void Kill(Process child)
        {
            child.Kill(entireProcessTree: true);
            child.WaitForExit(10_000);
        }
    }
}
