using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Amazon.S3;
using Amazon.S3.Model;
using NekkBackup.Core.Cloud;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Tests.Cloud;
using NekkBackup.Core.Validation;

namespace NekkBackup.Core.Tests.Fuzz
{
    /// <summary>
    /// One real s3rver for the cloud formats, and a bucket holding a real fixture: two Send-NekkCloudBackup runs of a
    /// generated tree (changes between them), a Send-NekkCloudArchive of a project, and a multipart upload left
    /// unfinished (its journal written by the engine's journal). After each trial the bucket is put back as it was.
    /// </summary>
    internal sealed class CloudWorld : IDisposable
    {
        private static CloudWorld? _shared;
        public static CloudWorld Shared(string root) => _shared ??= new CloudWorld(root);

        public readonly S3rverFixture S3 = new();
        public readonly IAmazonS3 Client;
        public readonly string Bucket;
        public readonly CloudTarget Target;
        public readonly Dictionary<string, byte[]> Objects = new(StringComparer.Ordinal);
        public readonly Dictionary<string, Dictionary<string, string>> Refs = new(StringComparer.Ordinal);
        public readonly HashSet<string> Contents = new(StringComparer.Ordinal);
        public readonly string Src, JournalDir;
        public string[] RunIds = Array.Empty<string>();
        public string ArchiveId = "", ArchiveManifestKey = "";

        private CloudWorld(string root)
        {
            Client = S3.Client();
            Bucket = S3.NewBucket();
            Target = S3.Target(Bucket, prefix: "studio");
            var dir = Path.Combine(root, "fixtures", "cloud-world");
            FuzzRunner.TryDelete(dir);
            Src = Path.Combine(dir, "src", "S");
            JournalDir = Path.Combine(dir, "journal");
            FolderTarget.Generate(Src, 17);
            var r1 = new CloudBackupEngine(Target).RunAsync(new CloudBackupOptions { Paths = new[] { Src }, JournalDirectory = JournalDir }).GetAwaiter().GetResult();
            Snap(r1.RunId);
            File.AppendAllText(Path.Combine(Src, "Sessions", "song.rpp"), "\n# cloud edit");
            File.Delete(Path.Combine(Src, "Sessions", "Take 1", "snare.wav"));
            Thread.Sleep(1100);
            var r2 = new CloudBackupEngine(Target).RunAsync(new CloudBackupOptions { Paths = new[] { Src }, JournalDirectory = JournalDir }).GetAwaiter().GetResult();
            Snap(r2.RunId);
            if (r1.Status != "Succeeded" || r2.Status != "Succeeded") throw new InvalidOperationException("cloud fixture backup failed");
            RunIds = new[] { r1.RunId, r2.RunId };
            var project = Path.Combine(dir, "Project Alpha");
            FolderTarget.Generate(project, 23);
            var a = new CloudArchiveEngine(Target).RunAsync(new CloudArchiveOptions { Path = project, StorageClass = "STANDARD", ArchiveId = "alpha-2026" }).GetAwaiter().GetResult();
            ArchiveId = a.ArchiveId;
            ArchiveManifestKey = a.ManifestKey;
            // An unfinished multipart upload and its journal entry, as a killed Send-NekkCloudBackup leaves them.
            var key = Target.DataKey(new string('a', 64));
            var up = Client.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest { BucketName = Bucket, Key = key }).GetAwaiter().GetResult();
            var part = Client.UploadPartAsync(new UploadPartRequest
            {
                BucketName = Bucket, Key = key, UploadId = up.UploadId, PartNumber = 1, InputStream = new MemoryStream(new byte[5 << 20]), UseChunkEncoding = false,
            }).GetAwaiter().GetResult();
            new MultipartJournal(JournalDir).Save(new JournalEntry
            {
                Scope = Target.JournalScope, Key = key, UploadId = up.UploadId, TotalSize = 12 << 20, PartSize = 5 << 20,
                SourcePath = Path.Combine(Src, "Samples", "loop.aif"), ContentHash = new string('a', 64), CreatedUtc = DateTime.UtcNow,
                Parts = new List<JournalPart> { new() { PartNumber = 1, ETag = part.ETag, Size = 5 << 20 } },
            });
            foreach (var k in ListKeys()) Objects[k] = Get(k);
        }

        private void Snap(string runId)
        {
            var d = Digests.Tree(Src).ToDictionary(kv => "S/" + kv.Key, kv => kv.Value, StringComparer.Ordinal);
            Refs[runId] = d;
            foreach (var v in d.Values) Contents.Add(v);
        }

        public List<string> ListKeys()
        {
            var keys = new List<string>();
            string? token = null;
            do
            {
                var r = Client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Bucket, ContinuationToken = token }).GetAwaiter().GetResult();
                keys.AddRange((r.S3Objects ?? new List<S3Object>()).Select(o => o.Key));
                token = r.IsTruncated == true ? r.NextContinuationToken : null;
            } while (token != null);
            return keys;
        }

        public byte[] Get(string key)
        {
            using var r = Client.GetObjectAsync(Bucket, key).GetAwaiter().GetResult();
            using var ms = new MemoryStream();
            r.ResponseStream.CopyTo(ms);
            return ms.ToArray();
        }

        public void Put(string key, byte[] body) =>
            Client.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = key, InputStream = new MemoryStream(body), UseChunkEncoding = false }).GetAwaiter().GetResult();

        /// <summary>Puts the bucket back as the fixture left it: extra objects deleted, changed ones rewritten.</summary>
        public void Reset(IEnumerable<string> touched)
        {
            foreach (var k in ListKeys())
                if (!Objects.ContainsKey(k)) Client.DeleteObjectAsync(Bucket, k).GetAwaiter().GetResult();
            foreach (var k in touched.Distinct()) if (Objects.TryGetValue(k, out var b)) Put(k, b);
        }

        public static void DisposeShared() => _shared?.Dispose();

        public void Dispose()
        {
            Client.Dispose();
            S3.Dispose();
            _shared = null;
        }
    }

    /// <summary>The bucket's formats: run manifests with the LATEST pointer, data objects, archive manifests, and the local upload journal.</summary>
    internal sealed class CloudFuzzTarget : FuzzTarget
    {
        public enum Part { Manifest, Archive, Journal }

        private readonly Part _part;
        private CloudWorld _w = null!;
        private readonly List<string> _touched = new();
        private readonly List<string> _manifestKeys = new();

        public CloudFuzzTarget(Part part) => _part = part;

        public override string Name => "cloud." + _part.ToString().ToLowerInvariant();
        public override TimeSpan Deadline => TimeSpan.FromSeconds(90);

        public override void Build(string dir)
        {
            _w = CloudWorld.Shared(Path.GetDirectoryName(Path.GetDirectoryName(dir)!)!);
            _manifestKeys.Clear();
            _manifestKeys.AddRange(_w.RunIds.Select(id => _w.Target.ManifestKey(id)));
            Directory.CreateDirectory(dir);
        }

        public override void Prepare(string fixture, TrialContext t)
        {
            Directory.CreateDirectory(t.Fixture);
            FsCopy.Tree(_w.JournalDir, Path.Combine(t.Fixture, "journal"));
            FsCopy.Tree(Path.GetDirectoryName(_w.Src)!, Path.Combine(t.Sandbox, "src"));
        }

        private void Rewrite(TrialContext t, string key, bool json)
        {
            var b = _w.Objects[key];
            var changed = json && t.Rng.Next(5) != 0 ? t.Mutate.MutateJson(b) : t.Mutate.MutateBytes(b);
            _w.Put(key, changed);
            _touched.Add(key);
            t.Notes.Add("object " + key + " rewritten");
        }

        public override void Attack(TrialContext t)
        {
            _touched.Clear();
            int r = t.Rng.Next(100);
            switch (_part)
            {
                case Part.Manifest:
                    if (r < 15)
                    {
                        var p = t.Rng.Next(3) == 0 ? t.Mutate.HostileString(_w.RunIds[1]) : t.Pick(_w.RunIds);
                        _w.Put(_w.Target.LatestPointerKey, System.Text.Encoding.UTF8.GetBytes(p));
                        _touched.Add(_w.Target.LatestPointerKey);
                        t.Notes.Add("LATEST = " + p.Replace("\0", "\\0"));
                    }
                    else if (r < 30)
                    {
                        var data = _w.Objects.Keys.Where(k => k.Contains("/data/")).ToArray();
                        Rewrite(t, t.Pick(data), json: false); // bit rot in the data: a restore must notice (the catalog is intact)
                        break;
                    }
                    else Rewrite(t, t.Pick(_manifestKeys.ToArray()), json: true);
                    t.CatalogMutated = true;
                    if (t.Rng.Next(4) == 0) { Rewrite(t, t.Pick(_manifestKeys.ToArray()), json: true); }
                    break;
                case Part.Archive:
                    Rewrite(t, _w.ArchiveManifestKey, json: true);
                    break;
                case Part.Journal:
                    var j = Directory.GetFiles(Path.Combine(t.Fixture, "journal"));
                    if (r < 15) t.Mutate.SwapDirectory(Path.Combine(t.Fixture, "journal"));
                    else t.Mutate.Attack(t.Pick(j), json: true, swapPercent: 25);
                    break;
            }
            t.Entry = _part switch
            {
                Part.Archive => "ArchiveManifest",
                Part.Journal => FolderTarget.Weighted(t, new[] { ("Journal.All", 40), ("Journal.Load", 30), ("Backup", 30) }),
                _ => FolderTarget.Weighted(t, new[] { ("Restore", 30), ("Restore -RunId", 12), ("Restore -Path", 8), ("GetItems", 15), ("GetRunIds", 10), ("Backup", 25) }),
            };
            if (t.Entry == "Backup") File.AppendAllText(Path.Combine(t.Sandbox, "src", "S", "Deep", "x", "y", "z.txt"), " " + t.Seed);
        }

        public override async Task<object?> InvokeAsync(TrialContext t, CancellationToken ct)
        {
            var obs = new Cloud.RecordingObserver();
            switch (t.Entry)
            {
                case "Restore":
                case "Restore -RunId":
                case "Restore -Path":
                    if (t.Entry == "Restore -Path") t.CatalogMutated = true;
                    return await new CloudRestoreEngine(_w.Target, obs).RestoreAsync(new CloudRestoreOptions
                    {
                        Target = t.Target, RunId = t.Entry == "Restore -RunId" ? t.Pick(_w.RunIds) : null,
                        Paths = t.Entry == "Restore -Path" ? new[] { t.Pick("S/Sessions/*", "S/*.txt", "S/Deep") } : Array.Empty<string>(),
                    }, ct).ConfigureAwait(false);
                case "GetItems": return await new CloudRestoreEngine(_w.Target, obs).GetItemsAsync(t.Rng.Next(2) == 0 ? null : t.Pick(_w.RunIds), null, ct).ConfigureAwait(false);
                case "GetRunIds": return await new CloudRestoreEngine(_w.Target, obs).GetRunIdsAsync(ct).ConfigureAwait(false);
                case "Backup":
                    return await new CloudBackupEngine(_w.Target, obs).RunAsync(new CloudBackupOptions
                    {
                        Paths = new[] { Path.Combine(t.Sandbox, "src", "S") }, JournalDirectory = Path.Combine(t.Fixture, "journal"),
                    }, ct).ConfigureAwait(false);
                case "Journal.All": return new MultipartJournal(Path.Combine(t.Fixture, "journal")).All(_w.Target.JournalScope);
                case "Journal.Load": return new MultipartJournal(Path.Combine(t.Fixture, "journal")).Load(_w.Target.JournalScope, _w.Target.DataKey(new string('a', 64)));
                default:
                    using (var client = await CloudClient.OpenAsync(_w.Target, obs, null, ct).ConfigureAwait(false))
                    {
                        var bytes = await client.TryGetSmallAsync(_w.ArchiveManifestKey, ct).ConfigureAwait(false)
                            ?? throw Fail.NotFound("CloudObjectNotFound", "no archive manifest");
                        var m = CloudRules.ParseArchive(bytes, _w.ArchiveManifestKey, _w.Target, _w.ArchiveId);
                        return CloudRules.SortArchiveFiles(m, _w.ArchiveManifestKey);
                    }
            }
        }

        public override string? Verify(TrialContext t, object? result)
        {
            if (result is CloudRestoreResult r)
            {
                if (!_w.Refs.TryGetValue(r.RunId, out var reference)) return $"restored run '{r.RunId}', which the bucket does not hold";
                return Digests.CheckRestore(t.Target, reference, _w.Contents, t.CatalogMutated, r.Status == "Succeeded");
            }
            return null;
        }

        public override void AfterTrial(TrialContext t)
        {
            _w.Reset(_touched.Concat(new[] { _w.Target.LatestPointerKey }));
        }

        public override void Dispose() { }
    }
}
