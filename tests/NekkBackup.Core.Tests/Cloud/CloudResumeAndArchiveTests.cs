using System;
using System.Diagnostics;
using System.IO;
using System.IO.Compression;
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
    [Collection("s3rver")]
    public sealed class CloudResumeAndArchiveTests
    {
        private readonly S3rverFixture _s3;

        public CloudResumeAndArchiveTests(S3rverFixture s3) => _s3 = s3;

        /// <summary>tests/NekkBackup.CloudHost/bin/&lt;Configuration&gt;/net10.0/NekkBackup.CloudHost.dll beside this test build.</summary>
        public static string CloudHostDll()
        {
            var baseDir = AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar);
            var tfm = Path.GetFileName(baseDir);
            var config = Path.GetFileName(Path.GetDirectoryName(baseDir)!);
            for (var d = new DirectoryInfo(baseDir); d != null; d = d.Parent)
            {
                var p = Path.Combine(d.FullName, "tests", "NekkBackup.CloudHost", "bin", config, tfm, "NekkBackup.CloudHost.dll");
                if (File.Exists(p)) return p;
            }
            throw new FileNotFoundException("NekkBackup.CloudHost.dll not built");
        }

        [Fact]
        public async Task KilledMultipartUpload_ResumesOnNextRun()
        {
            using var tmp = new TempDir("cloud-kill");
            var src = tmp.Sub("Take");
            var file = MakeFile(Path.Combine(src, "take-07.wav"), 64L * 1024 * 1024 + 4321, 77); // 9 parts of 8 MiB
            var digest = Sha256File(file);
            var bucket = _s3.NewBucket();
            var journalDir = tmp.Sub("journal");

            var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { CloudHostDll(), "send", "--endpoint", _s3.Endpoint, "--bucket", bucket, "--path", src, "--journal", journalDir, "--mbps", "12", "--throttle", "2" })
                psi.ArgumentList.Add(a);
            using (var child = Process.Start(psi)!)
            {
                child.OutputDataReceived += (_, _) => { };
                child.ErrorDataReceived += (_, _) => { };
                child.BeginOutputReadLine();
                child.BeginErrorReadLine();
                var journal = new MultipartJournal(journalDir);
                var deadline = DateTime.UtcNow.AddSeconds(60);
                int parts = 0;
                while (DateTime.UtcNow < deadline && !child.HasExited)
                {
                    parts = journal.All(_s3.Target(bucket).JournalScope).Select(j => j.Parts.Count).DefaultIfEmpty(0).Max();
                    if (parts >= 3) break;
                    Thread.Sleep(50);
                }
                Assert.False(child.HasExited, "the child finished before it could be killed");
                Assert.True(parts >= 3, $"only {parts} parts journaled before the deadline");
                child.Kill(entireProcessTree: true);
                child.WaitForExit(10_000);
            }
            // Nothing is visible yet: no manifest, no data object.
            using var s3 = _s3.Client();
            var listed = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket });
            Assert.DoesNotContain(listed.S3Objects ?? new(), o => o.Key.Contains("/manifests/") || o.Key.EndsWith(digest));

            var obs = new RecordingObserver();
            var run = await new CloudBackupEngine(_s3.Target(bucket), obs).RunAsync(new CloudBackupOptions { Paths = new[] { src }, JournalDirectory = journalDir });
            Assert.True(run.Status == "Succeeded", obs.FailureText);
            Assert.True(run.PartsResumed >= 3, $"PartsResumed = {run.PartsResumed}");
            Assert.True(run.BytesUploaded < new FileInfo(file).Length, $"BytesUploaded {run.BytesUploaded} is not less than the file");
            Assert.Equal(new FileInfo(file).Length - run.PartsResumed * 8L * 1024 * 1024, run.BytesUploaded);
            var (hash, len) = ReadBack(s3, bucket, _s3.Target(bucket).DataKey(digest));
            Assert.Equal(digest, hash);
            Assert.Equal(new FileInfo(file).Length, len);
            Assert.Empty(new MultipartJournal(journalDir).All(_s3.Target(bucket).JournalScope));
        }

        [Fact]
        public async Task Cancel_StopsPromptly_WritesNoManifest_AndTheNextRunCompletes()
        {
            using var tmp = new TempDir("cloud-cancel");
            var src = tmp.Sub("C");
            var file = MakeFile(Path.Combine(src, "take.wav"), 48L * 1024 * 1024, 5);
            var bucket = _s3.NewBucket();
            var journalDir = tmp.Sub("j");
            using var cts = new CancellationTokenSource();
            var run = new CloudBackupEngine(_s3.Target(bucket)).RunAsync(
                new CloudBackupOptions { Paths = new[] { src }, JournalDirectory = journalDir, MaxMBps = 8, ThrottleLimit = 2 }, cts.Token);
            // At 8 MiB/s with 8 MiB parts a part lands about every second: cancel once one is journaled (not after a
            // fixed delay, which a loaded machine can outlast before the first part is up).
            var journal = new MultipartJournal(journalDir);
            var wait = Stopwatch.StartNew();
            while (!journal.All(_s3.Target(bucket).JournalScope).Any(j => j.Parts.Count > 0) && wait.Elapsed < TimeSpan.FromSeconds(30) && !run.IsCompleted)
                await Task.Delay(50);
            Assert.False(run.IsCompleted, "the run finished before it could be cancelled");
            var sw = Stopwatch.StartNew();
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(3), $"cancellation took {sw.Elapsed}");
            using var s3 = _s3.Client();
            var listed = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket });
            Assert.DoesNotContain(listed.S3Objects ?? new(), o => o.Key.Contains("/manifests/"));

            var next = await new CloudBackupEngine(_s3.Target(bucket)).RunAsync(new CloudBackupOptions { Paths = new[] { src }, JournalDirectory = journalDir });
            Assert.Empty(new MultipartJournal(journalDir).All(_s3.Target(bucket).JournalScope));
            Assert.Equal("Succeeded", next.Status);
            Assert.True(next.PartsResumed >= 1, "the journaled parts of the cancelled run were not resumed");
            Assert.Equal(new FileInfo(file).Length - next.PartsResumed * 8L * 1024 * 1024, next.BytesUploaded);
            Assert.Equal(Sha256File(file), ReadBack(s3, bucket, _s3.Target(bucket).DataKey(Sha256File(file))).Hash);
        }

        [Fact]
        public async Task Archive_IsOneTarThatGnuTarExtracts_WithManifest_AndWarnsOnMissingMedia()
        {
            using var tmp = new TempDir("cloud-arch");
            var proj = tmp.Sub("Album Final");
            StudioData.Generate(proj, 8, 3);
            MakeFile(Path.Combine(proj, "Audio", "kick.wav"), 50_000, 1);
            File.WriteAllText(Path.Combine(proj, "mix.rpp"),
                "<REAPER_PROJECT 0.1 \"7.0\"\n  <TRACK\n    <ITEM\n      <SOURCE WAVE\n        FILE \"Audio/kick.wav\"\n      >\n    >\n    <ITEM\n      <SOURCE WAVE\n        FILE \"/mnt/old-drive/vox-take3.wav\"\n      >\n    >\n  >\n>\n");
            using (var gz = new GZipStream(File.Create(Path.Combine(proj, "live.als")), CompressionLevel.Fastest))
            {
                var xml = Encoding.UTF8.GetBytes("<?xml version=\"1.0\"?><Ableton><FileRef><Path Value=\"/Users/x/Samples/missing-pad.wav\" /></FileRef></Ableton>");
                gz.Write(xml, 0, xml.Length);
            }
            var before = DigestWithRoot(proj);
            using var proxy = new FaultProxy(_s3.Port);
            var bucket = _s3.NewBucket();
            var obs = new RecordingObserver();
            var result = await new CloudArchiveEngine(_s3.Target(bucket, proxy.Endpoint), obs).RunAsync(new CloudArchiveOptions { Path = proj, PartSize = 5 * 1024 * 1024 });
            Assert.Equal("SucceededWithWarnings", result.Status);
            Assert.Contains(result.Warnings, w => w.Contains("mix.rpp") && w.Contains("missing"));
            Assert.Contains(result.Warnings, w => w.Contains("live.als") && w.Contains("missing"));
            Assert.Contains(obs.Messages, m => m.StartsWith("Warning") && m.Contains("vox-take3.wav"));
            Assert.Equal("DEEP_ARCHIVE", result.StorageClass);
            Assert.Equal(before.Count, result.Files);
            Assert.Contains(proxy.Requests, r => r.Method == "POST" && r.Query.StartsWith("uploads") && r.Header("x-amz-storage-class") == "DEEP_ARCHIVE");
            Assert.Single(proxy.Requests, r => r.Method == "PUT" && r.Path.EndsWith(".manifest.json"));
            Assert.DoesNotContain(proxy.Requests, r => r.Method == "PUT" && r.Path.Contains("/data/"));

            // Download the one tar object with a plain client and extract it with GNU tar (independent reader).
            var tarPath = Path.Combine(tmp.Path, "a.tar");
            using (var s3 = _s3.Client())
            using (var resp = await s3.GetObjectAsync(new GetObjectRequest { BucketName = bucket, Key = result.Key }))
            using (var f = File.Create(tarPath))
                await resp.ResponseStream.CopyToAsync(f);
            Assert.Equal(result.Bytes, new FileInfo(tarPath).Length);
            var outDir = tmp.Sub("x");
            ProcessHelper.Check("tar", $"-xf \"{tarPath}\" -C \"{outDir}\"");
            var extracted = DigestWithRoot(Path.Combine(outDir, "Album Final"));
            Assert.True(before.Count == extracted.Count && before.All(kv => extracted.TryGetValue(kv.Key, out var h) && h == kv.Value), StudioData.Diff(before, extracted));

            // The manifest lists every file with the digest taken before.
            using (var s3 = _s3.Client())
            using (var resp = await s3.GetObjectAsync(new GetObjectRequest { BucketName = bucket, Key = result.ManifestKey }))
            {
                var m = await JsonSerializer.DeserializeAsync<ArchiveManifest>(resp.ResponseStream);
                Assert.Equal(before.Count, m!.Files.Count);
                Assert.All(m.Files, f => Assert.Equal(before[f.Path], f.Hash));
                Assert.Equal(Sha256File(tarPath), m.TarHash);
            }
        }

        [Fact]
        public void SessionMedia_FindsMissingAndOutsideMedia_InRpp()
        {
            using var tmp = new TempDir("cloud-media");
            var proj = tmp.Sub("P");
            var outside = MakeFile(Path.Combine(tmp.Path, "elsewhere", "gtr.wav"), 10, 1);
            MakeFile(Path.Combine(proj, "Media", "in.wav"), 10, 2);
            File.WriteAllText(Path.Combine(proj, "s.rpp"), $"<REAPER_PROJECT\n <SOURCE WAVE\n  FILE \"Media/in.wav\"\n >\n <SOURCE WAVE\n  FILE \"{outside}\"\n >\n <SOURCE WAVE\n  FILE ../gone.wav\n >\n>\n");
            var refs = SessionMedia.Scan(proj);
            Assert.Equal(3, refs.Count);
            Assert.Contains(refs, r => r.Referenced == "Media/in.wav" && r.Exists && !r.OutsideFolder);
            Assert.Contains(refs, r => r.ResolvedPath == outside && r.Exists && r.OutsideFolder);
            Assert.Contains(refs, r => r.Referenced == "../gone.wav" && !r.Exists && r.OutsideFolder);
            var warnings = CloudArchiveEngine.CheckMedia(proj);
            Assert.Equal(2, warnings.Count);
        }
    }
}
