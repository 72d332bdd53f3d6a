using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;

namespace NekkBackup.Core.Cloud
{
    public sealed class CloudArchiveOptions
    {
        /// <summary>The completed project folder.</summary>
        public string Path { get; init; } = "";
        public string StorageClass { get; init; } = "DEEP_ARCHIVE";
        public string? ArchiveId { get; init; }
        public int ThrottleLimit { get; init; } = 4;
        public double MaxMBps { get; init; }
        public int PartSize { get; init; } = 16 * 1024 * 1024;
        public int? ObjectLockDays { get; init; }
        public string ObjectLockMode { get; init; } = "GOVERNANCE";
        /// <summary>Where the resume journals live; default DataDirectory/cloud-journal.</summary>
        public string? JournalDirectory { get; init; }
        /// <summary>An unfinished archive upload older than this starts over under a new ArchiveId.</summary>
        public int StaleUploadDays { get; init; } = 7;
    }

    public sealed class ArchiveManifestEntry
    {
        [JsonPropertyName("path")] public string Path { get; set; } = "";
        [JsonPropertyName("size")] public long Size { get; set; }
        [JsonPropertyName("mtimeUtc")] public DateTime LastWriteTimeUtc { get; set; }
        [JsonPropertyName("sha256")] public string Hash { get; set; } = "";
        /// <summary>Offset of the file's data inside the tar object (for ranged reads).</summary>
        [JsonPropertyName("offset")] public long Offset { get; set; }
    }

    public sealed class ArchiveManifest
    {
        public const string FormatName = "nekkbackup-cloud-archive/1";
        [JsonPropertyName("format")] public string Format { get; set; } = FormatName;
        [JsonPropertyName("archiveId")] public string ArchiveId { get; set; } = "";
        [JsonPropertyName("host")] public string Host { get; set; } = "";
        [JsonPropertyName("source")] public string Source { get; set; } = "";
        [JsonPropertyName("createdUtc")] public DateTime CreatedUtc { get; set; }
        [JsonPropertyName("key")] public string Key { get; set; } = "";
        [JsonPropertyName("storageClass")] public string StorageClass { get; set; } = "";
        [JsonPropertyName("tarBytes")] public long TarBytes { get; set; }
        [JsonPropertyName("tarSha256")] public string TarHash { get; set; } = "";
        [JsonPropertyName("warnings")] public List<string> Warnings { get; set; } = new();
        [JsonPropertyName("files")] public List<ArchiveManifestEntry> Files { get; set; } = new();
    }

    /// <summary>
    /// Send-NekkCloudArchive: a completed project streamed as ONE tar object (cold tiers charge per object)
    /// plus a JSON manifest beside it. Warns before upload when a session references media that is missing.
    /// </summary>
    public sealed class CloudArchiveEngine
    {
        private readonly CloudTarget _target;
        private readonly IRunObserver _observer;

        public CloudArchiveEngine(CloudTarget target, IRunObserver? observer = null)
        {
            _target = target;
            _observer = observer ?? NullRunObserver.Instance;
        }

        /// <summary>Missing-media warnings for a project, without uploading anything (for -WhatIf and the pre-check).</summary>
        public static List<string> CheckMedia(string projectDir)
        {
            var warnings = new List<string>();
            foreach (var g in SessionMedia.Scan(projectDir).Where(r => !r.Exists).GroupBy(r => r.Session))
                warnings.Add($"Session '{g.Key}' references {g.Count()} missing media file(s), e.g. '{g.First().Referenced}': the archive will not contain them.");
            foreach (var g in SessionMedia.Scan(projectDir).Where(r => r.Exists && r.OutsideFolder).GroupBy(r => r.Session))
                warnings.Add($"Session '{g.Key}' uses {g.Count()} media file(s) outside the project folder, e.g. '{g.First().ResolvedPath}': copy them into the project before archiving.");
            return warnings;
        }

        public async Task<CloudArchive> RunAsync(CloudArchiveOptions options, CancellationToken ct = default)
        {
            var sw = Stopwatch.StartNew();
            var storageClass = CloudBackupEngine.NormalizeStorageClass(options.StorageClass) ?? "DEEP_ARCHIVE";
            var lockMode = (options.ObjectLockMode ?? "GOVERNANCE").ToUpperInvariant();
            CloudBackupEngine.ValidateCommon(options.ThrottleLimit, options.MaxMBps, options.ObjectLockDays, lockMode, options.PartSize);
            if (string.IsNullOrWhiteSpace(options.Path) || !Directory.Exists(options.Path))
                throw Fail.NotFound("SourceNotFound", $"The project folder '{options.Path}' does not exist.", options.Path);
            if (options.ArchiveId != null) ArchiveCatalog.ValidateArchiveId(options.ArchiveId);
            CloudClient.Validate(_target);
            var src = Path.GetFullPath(options.Path).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
            var name = Path.GetFileName(src);
            var journalDir = options.JournalDirectory ?? Path.Combine(OperatingSystemInfo.DataDirectory, "cloud-journal");
            var pending = ArchiveUploadJournal.Load(journalDir, _target.JournalScope, _target.HostRoot, src);
            if (pending != null && (DateTime.UtcNow - pending.CreatedUtc > TimeSpan.FromDays(options.StaleUploadDays)
                                    || (options.ArchiveId != null && options.ArchiveId != pending.ArchiveId)))
                pending = null; // a new archive; the old unfinished upload is left to the stale-upload cleanup
            var archiveId = options.ArchiveId ?? pending?.ArchiveId ?? NewArchiveId(name);
            ArchiveCatalog.ValidateArchiveId(archiveId);

            using var log = RunLog.Open(RunLog.NewRunId(), "Send-NekkCloudArchive");
            var observer = log.Wrap(_observer);
            var warnings = CheckMedia(src);
            foreach (var w in warnings) observer.Message(RunMessageLevel.Warning, w);

            using var client = new CloudClient(_target, observer, log);
            await CloudStore.PreflightAsync(client, ct).ConfigureAwait(false);
            var key = _target.ArchiveKey(archiveId);
            var manifestKey = _target.ArchiveManifestKey(archiveId);
            if (await CloudStore.TryHeadAsync(client, manifestKey, ct).ConfigureAwait(false) != null)
            {
                // Killed after the manifest was written but before the journal was forgotten: the archive is complete.
                if (pending?.ArchiveId == archiveId && pending.Phase == ArchiveUploadJournal.Uploaded && pending.Manifest != null)
                {
                    pending.Delete(journalDir);
                    observer.Message(RunMessageLevel.Verbose, $"Archive '{archiveId}' was completed by an earlier call.");
                    return Result(pending.Manifest, manifestKey, sw, warnings, 0, 0);
                }
                throw new NekkBackupException("ArchiveExists", FailureKind.ResourceExists, $"Bucket '{_target.Bucket}' already holds archive '{archiveId}'; give another -ArchiveId.", archiveId);
            }
            if (pending != null) observer.Message(RunMessageLevel.Verbose, $"Continuing the unfinished upload of archive '{archiveId}' (started {pending.CreatedUtc:u}).");

            var plan = TarPlan.Scan(src, name, observer);
            long total = plan.Files.Sum(f => f.File.Length);
            int partSize = UploadContext.PartSizeFor(plan.TarBytes, options.PartSize);
            using var ctx = new UploadContext(client, options.ThrottleLimit, options.MaxMBps, partSize, new MultipartJournal(journalDir), observer);

            // Killed after the tar was complete: only the manifest is missing.
            if (pending?.Phase == ArchiveUploadJournal.Uploaded && pending.Manifest != null && pending.TarBytes == plan.TarBytes)
            {
                var head = await CloudStore.TryHeadAsync(client, key, ct).ConfigureAwait(false);
                if (head != null && head.ContentLength == pending.TarBytes && (head.ETag ?? "").Trim('"') == pending.ETag)
                {
                    observer.Message(RunMessageLevel.Verbose, $"The tar of '{archiveId}' was already stored; writing its manifest.");
                    return await CommitAsync(ctx, pending, pending.Manifest, manifestKey, journalDir, sw, warnings, ct).ConfigureAwait(false);
                }
            }
            var journal = new ArchiveUploadJournal
            {
                Scope = _target.JournalScope, HostRoot = _target.HostRoot, Source = src, ArchiveId = archiveId, StorageClass = storageClass,
                CreatedUtc = pending?.CreatedUtc ?? DateTime.UtcNow, TarBytes = plan.TarBytes,
            };
            journal.Save(journalDir);

            DateTime? retainUntil = options.ObjectLockDays is int d ? DateTime.UtcNow.AddDays(d) : null;
            var writer = new ObjectWriter(ctx, new ObjectSpec
            {
                Key = key, StorageClass = storageClass, ContentType = "application/x-tar",
                ObjectLockMode = retainUntil != null ? lockMode : null, RetainUntilUtc = retainUntil,
                Metadata = new Dictionary<string, string> { ["nekk-archive"] = archiveId },
                // A known size turns on the part journal: a killed upload resumes part by part.
                ExpectedSize = plan.TarBytes, UseJournal = true, SourcePath = src,
            }, ct);
            var manifest = new ArchiveManifest
            {
                ArchiveId = archiveId, Host = _target.HostName, Source = src, CreatedUtc = journal.CreatedUtc, Key = key,
                StorageClass = storageClass, Warnings = warnings, TarBytes = plan.TarBytes,
            };
            using var tarSha = SHA256.Create();
            var tar = new TarWriter(async (b, o, n) =>
            {
                tarSha.TransformBlock(b, o, n, null, 0);
                await writer.WriteAsync(b, o, n).ConfigureAwait(false);
            });
            var progress = new ProgressThrottle();
            long done = 0;
            UploadOutcome outcome;
            try
            {
                var buf = new byte[1 << 20];
                await plan.WriteAsync(tar, async (f, rel) =>
                {
                    using var fs = new FileStream(f.FullName, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16, FileOptions.SequentialScan | FileOptions.Asynchronous);
                    long size = f.Length;
                    if (fs.Length != size) throw Fail.InvalidData("ItemChanged", $"'{f.FullName}' changed size while it was being archived; archive it again.", f.FullName);
                    long offset = tar.Position;
                    using var sha = SHA256.Create();
                    long left = size;
                    while (left > 0)
                    {
                        ct.ThrowIfCancellationRequested();
                        int n = await fs.ReadAsync(buf, 0, (int)Math.Min(buf.Length, left), ct).ConfigureAwait(false);
                        if (n == 0) throw Fail.InvalidData("ItemChanged", $"'{f.FullName}' shrank while it was being archived; archive it again.", f.FullName);
                        sha.TransformBlock(buf, 0, n, null, 0);
                        await tar.WriteDataAsync(buf, 0, n).ConfigureAwait(false);
                        left -= n;
                        done += n;
                        if (progress.Due())
                            observer.Progress(new RunProgress("Send-NekkCloudArchive", $"{archiveId}: {done / 1048576.0:0.0} of {total / 1048576.0:0.0} MiB")
                            {
                                CurrentItem = rel, BytesDone = done, BytesTotal = total, ItemsDone = manifest.Files.Count, ItemsTotal = plan.Files.Count,
                                BytesPerSecond = sw.Elapsed.TotalSeconds > 0 ? done / sw.Elapsed.TotalSeconds : 0,
                            });
                    }
                    sha.TransformFinalBlock(buf, 0, 0);
                    manifest.Files.Add(new ArchiveManifestEntry { Path = name + "/" + rel, Size = size, LastWriteTimeUtc = f.LastWriteTimeUtc, Hash = ObjectWriter.ToHex(sha.Hash!), Offset = offset });
                }, ct).ConfigureAwait(false);
                tarSha.TransformFinalBlock(buf, 0, 0);
                if (tar.Position != plan.TarBytes)
                    throw Fail.InvalidData("ItemChanged", $"The project '{src}' changed while it was archived ({tar.Position} tar bytes, {plan.TarBytes} planned); archive it again.", src);
                outcome = await writer.CompleteAsync().ConfigureAwait(false);
            }
            catch
            {
                await writer.AbandonAsync().ConfigureAwait(false);
                throw;
            }
            if (outcome.PartsResumed > 0)
                observer.Message(RunMessageLevel.Verbose, $"Resumed archive '{archiveId}': {outcome.PartsResumed} of {outcome.Parts} parts were already stored.");
            manifest.TarHash = ObjectWriter.ToHex(tarSha.Hash!);
            journal.Phase = ArchiveUploadJournal.Uploaded;
            journal.ETag = outcome.ETag;
            journal.Manifest = manifest;
            journal.Save(journalDir);
            var result = await CommitAsync(ctx, journal, manifest, manifestKey, journalDir, sw, warnings, ct).ConfigureAwait(false);
            log.Logger.Information("Archived {Source} as {Key} ({Files} files, {Bytes} bytes, class {Class}, {Sent} bytes sent, {Resumed} parts resumed)",
                src, key, manifest.Files.Count, manifest.TarBytes, storageClass, result.BytesUploaded, result.PartsResumed);
            return result;
        }

        private static string NewArchiveId(string projectName)
        {
            var stem = Regex.Replace(projectName, @"[^A-Za-z0-9._-]+", "_").Trim('_', '.');
            return (stem.Length == 0 ? "archive" : stem.Length > 150 ? stem.Substring(0, 150) : stem) + "-" + DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'");
        }

        /// <summary>Writes the manifest (the archive's commit point) and forgets the upload journal.</summary>
        private async Task<CloudArchive> CommitAsync(UploadContext ctx, ArchiveUploadJournal journal, ArchiveManifest manifest, string manifestKey, string journalDir,
            Stopwatch sw, List<string> warnings, CancellationToken ct)
        {
            long tarSent = ctx.BytesSent;
            await CloudStore.PutSmallAsync(ctx, manifestKey, JsonSerializer.SerializeToUtf8Bytes(manifest, new JsonSerializerOptions { WriteIndented = true }), "application/json", ct).ConfigureAwait(false);
            journal.Delete(journalDir);
            ctx.Observer.Progress(new RunProgress("Send-NekkCloudArchive", "done") { Completed = true });
            return Result(manifest, manifestKey, sw, warnings, tarSent, ctx.PartsResumed);
        }

        private CloudArchive Result(ArchiveManifest manifest, string manifestKey, Stopwatch sw, List<string> warnings, long sent, long resumed) => new()
        {
            ArchiveId = manifest.ArchiveId, Bucket = _target.Bucket, Key = manifest.Key, ManifestKey = manifestKey, Files = manifest.Files.Count,
            Bytes = manifest.TarBytes, StorageClass = manifest.StorageClass, Duration = sw.Elapsed, BytesUploaded = sent, PartsResumed = resumed,
            Status = warnings.Count > 0 ? "SucceededWithWarnings" : "Succeeded", Warnings = warnings,
        };

        /// <summary>
        /// The tar's layout fixed before anything is sent: the files (sorted walk), their folders' times, and the
        /// exact tar size (a sizing pass through the same writer), so the object's size is known up front and the
        /// multipart journal can resume it.
        /// </summary>
        private sealed class TarPlan
        {
            private readonly string _name;
            private readonly Dictionary<string, DateTime> _dirTimes = new(StringComparer.Ordinal);

            private TarPlan(string name) => _name = name;

            public List<(FileInfo File, string Rel)> Files { get; private set; } = new();
            public long TarBytes { get; private set; }

            public static TarPlan Scan(string src, string name, IRunObserver observer)
            {
                var plan = new TarPlan(name) { Files = CloudBackupEngine.Walk(src, observer, () => { }).ToList() };
                plan._dirTimes[""] = Directory.GetLastWriteTimeUtc(src);
                foreach (var (_, rel) in plan.Files)
                {
                    var parts = rel.Split('/');
                    for (int i = 1; i < parts.Length; i++)
                    {
                        var dRel = string.Join("/", parts, 0, i);
                        if (!plan._dirTimes.ContainsKey(dRel)) plan._dirTimes[dRel] = Directory.GetLastWriteTimeUtc(Path.Combine(src, dRel));
                    }
                }
                var sizing = new TarWriter((_, _, _) => Task.CompletedTask);
                plan.WriteAsync(sizing, (f, _) => { sizing.Advance(f.Length); return Task.CompletedTask; }, CancellationToken.None).GetAwaiter().GetResult();
                plan.TarBytes = sizing.Position;
                return plan;
            }

            /// <summary>Headers (root, each folder once, each file) and padding through <paramref name="tar"/>; <paramref name="data"/> writes a file's bytes.</summary>
            public async Task WriteAsync(TarWriter tar, Func<FileInfo, string, Task> data, CancellationToken ct)
            {
                var dirs = new HashSet<string>(StringComparer.Ordinal);
                await tar.WriteEntryHeaderAsync(_name, 0, _dirTimes[""], true).ConfigureAwait(false);
                foreach (var (fi, rel) in Files)
                {
                    ct.ThrowIfCancellationRequested();
                    var parts = rel.Split('/');
                    for (int i = 1; i < parts.Length; i++)
                    {
                        var dRel = string.Join("/", parts, 0, i);
                        if (dirs.Add(dRel)) await tar.WriteEntryHeaderAsync(_name + "/" + dRel, 0, _dirTimes[dRel], true).ConfigureAwait(false);
                    }
                    await tar.WriteEntryHeaderAsync(_name + "/" + rel, fi.Length, fi.LastWriteTimeUtc, false).ConfigureAwait(false);
                    await data(fi, rel).ConfigureAwait(false);
                    await tar.PadAsync(fi.Length).ConfigureAwait(false);
                }
                await tar.FinishAsync().ConfigureAwait(false);
            }
        }
    }
}
