using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Primitives;
using NekkBackup.Core.Storage;

namespace NekkBackup.Core.Cloud
{
    /// <summary>
    /// Send-NekkCloudArchive: a completed project streamed as ONE tar object (cold tiers charge per object)
    /// plus a JSON manifest beside it. Warns before upload when a session references media that is missing. Holds the
    /// host's bucket lock shared, like every upload (<see cref="CloudLocks"/>); the manifest is its commit point.
    /// </summary>
    public sealed class CloudArchiveEngine
    {
        public const string Activity = "Send-NekkCloudArchive";
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
            var settings = options.Validate();
            var storageClass = settings.StorageClass ?? "DEEP_ARCHIVE";
            if (string.IsNullOrWhiteSpace(options.Path) || !Directory.Exists(options.Path))
                throw Fail.NotFound("SourceNotFound", $"The project folder '{options.Path}' does not exist.", options.Path);
            if (options.ArchiveId != null) ArchiveCatalog.ValidateArchiveId(options.ArchiveId);
            CloudClient.Validate(_target);
            var src = Path.GetFullPath(options.Path).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
            var name = Path.GetFileName(src);
            var journalDir = options.JournalDirectoryOrDefault;
            var pending = ArchiveUploadJournal.Load(journalDir, _target.JournalScope, _target.HostRoot, src);
            if (pending != null && (DateTime.UtcNow - pending.CreatedUtc > TimeSpan.FromDays(options.StaleUploadDays)
                                    || (options.ArchiveId != null && options.ArchiveId != pending.ArchiveId)))
                pending = null; // a new archive; the old unfinished upload is left to the stale-upload cleanup
            var archiveId = options.ArchiveId ?? pending?.ArchiveId ?? NewArchiveId(name);
            ArchiveCatalog.ValidateArchiveId(archiveId);

            using var log = RunLog.Open(RunId.New(), Activity);
            var observer = log.Wrap(_observer);
            var warnings = CheckMedia(src);
            foreach (var w in warnings) observer.Message(RunMessageLevel.Warning, w);

            using var client = await CloudClient.OpenAsync(_target, observer, log, ct, check: false).ConfigureAwait(false);
            await using var held = await CloudLocks.AcquireAsync(client, LockMode.Shared, Activity, observer, ct).ConfigureAwait(false);
            using var running = CancellationTokenSource.CreateLinkedTokenSource(ct, held.LostToken);
            try
            {
                return await UploadAsync(running.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException ex)
            {
                var lost = CloudLocks.LostInstead(held, ex, ct);
                if (lost != null) throw lost;
                throw;
            }

            async Task<CloudArchive> UploadAsync(CancellationToken ct)
            {
                var key = _target.ArchiveKey(archiveId);
                var manifestKey = _target.ArchiveManifestKey(archiveId);
                if (await client.HeadAsync(manifestKey, ct).ConfigureAwait(false) != null)
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

                int mediaWarnings = warnings.Count;
                var plan = TarPlan.Scan(src, name, observer, warnings);
                foreach (var w in warnings.Skip(mediaWarnings)) observer.Message(RunMessageLevel.Warning, w);
                long total = plan.Files.Sum(f => f.Size);
                int partSize = UploadContext.PartSizeFor(plan.TarBytes, options.PartSize);
                using var ctx = new UploadContext(client, options.ThrottleLimit, options.MaxMBps, partSize, new MultipartJournal(journalDir), observer);

                // Killed after the tar was complete: only the manifest is missing.
                if (pending?.Phase == ArchiveUploadJournal.Uploaded && pending.Manifest != null && pending.TarBytes == plan.TarBytes)
                {
                    var head = await client.HeadAsync(key, ct).ConfigureAwait(false);
                    if (head != null && head.Size == pending.TarBytes && (head.Attribute(S3Target.ETagAttribute) ?? "").Trim('"') == pending.ETag)
                    {
                        observer.Message(RunMessageLevel.Verbose, $"The tar of '{archiveId}' was already stored; writing its manifest.");
                        return await CommitAsync(ctx, held, pending, pending.Manifest, manifestKey, journalDir, sw, warnings, ct).ConfigureAwait(false);
                    }
                }
                var journal = new ArchiveUploadJournal
                {
                    Scope = _target.JournalScope, HostRoot = _target.HostRoot, Source = src, ArchiveId = archiveId, StorageClass = storageClass,
                    CreatedUtc = pending?.CreatedUtc ?? DateTime.UtcNow, TarBytes = plan.TarBytes,
                };
                journal.Save(journalDir);

                var writer = new ObjectWriter(ctx, new ObjectSpec
                {
                    Key = key, StorageClass = storageClass, ContentType = "application/x-tar",
                    ObjectLockMode = settings.ObjectLockMode, RetainUntilUtc = settings.RetainUntilUtc,
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
                    await plan.WriteAsync(tar, async f =>
                    {
                        var (path, rel, size, mtime) = f;
                        using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16, FileOptions.SequentialScan | FileOptions.Asynchronous);
                        if (fs.Length != size) throw Fail.InvalidData("ItemChanged", $"'{path}' changed size while it was being archived; archive it again.", path);
                        long offset = tar.Position;
                        using var sha = SHA256.Create();
                        long left = size;
                        while (left > 0)
                        {
                            ct.ThrowIfCancellationRequested();
                            int n = await fs.ReadAsync(buf, 0, (int)Math.Min(buf.Length, left), ct).ConfigureAwait(false);
                            if (n == 0) throw Fail.InvalidData("ItemChanged", $"'{path}' shrank while it was being archived; archive it again.", path);
                            sha.TransformBlock(buf, 0, n, null, 0);
                            await tar.WriteDataAsync(buf, 0, n).ConfigureAwait(false);
                            left -= n;
                            done += n;
                            if (progress.TryEnter())
                                observer.Progress(new RunProgress(Activity, $"{archiveId}: {done / 1048576.0:0.0} of {total / 1048576.0:0.0} MiB")
                                {
                                    CurrentItem = rel, BytesDone = done, BytesTotal = total, ItemsDone = manifest.Files.Count, ItemsTotal = plan.Files.Count,
                                    BytesPerSecond = sw.Elapsed.TotalSeconds > 0 ? done / sw.Elapsed.TotalSeconds : 0,
                                });
                        }
                        sha.TransformFinalBlock(buf, 0, 0);
                        manifest.Files.Add(new ArchiveManifestEntry { Path = name + "/" + rel, Size = size, LastWriteTimeUtc = mtime, Hash = Hex.Encode(sha.Hash!), Offset = offset });
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
                manifest.TarHash = Hex.Encode(tarSha.Hash!);
                journal.Phase = ArchiveUploadJournal.Uploaded;
                journal.ETag = outcome.ETag;
                journal.Manifest = manifest;
                journal.Save(journalDir);
                var result = await CommitAsync(ctx, held, journal, manifest, manifestKey, journalDir, sw, warnings, ct).ConfigureAwait(false);
                log.Logger.Information("Archived {Source} as {Key} ({Files} files, {Bytes} bytes, class {Class}, {Sent} bytes sent, {Resumed} parts resumed)",
                    src, key, manifest.Files.Count, manifest.TarBytes, storageClass, result.BytesUploaded, result.PartsResumed);
                return result;
            }
        }

        private static string NewArchiveId(string projectName)
        {
            var stem = Regex.Replace(projectName, @"[^A-Za-z0-9._-]+", "_").Trim('_', '.');
            return (stem.Length == 0 ? "archive" : stem.Length > 150 ? stem.Substring(0, 150) : stem) + "-" + DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        }

        /// <summary>Writes the manifest (the archive's commit point) and forgets the upload journal.</summary>
        private async Task<CloudArchive> CommitAsync(UploadContext ctx, TargetLock held, ArchiveUploadJournal journal, ArchiveManifest manifest, string manifestKey, string journalDir,
            Stopwatch sw, List<string> warnings, CancellationToken ct)
        {
            long tarSent = ctx.BytesSent;
            await CloudLocks.EnsureHeldAsync(held, ctx.Client, ct).ConfigureAwait(false);
            await ctx.Client.PutSmallAsync(manifestKey, JsonSerializer.SerializeToUtf8Bytes(manifest, new JsonSerializerOptions { WriteIndented = true }), "application/json", ct).ConfigureAwait(false);
            journal.Delete(journalDir);
            ctx.Observer.Progress(new RunProgress(Activity, "done") { Completed = true });
            return Result(manifest, manifestKey, sw, warnings, tarSent, ctx.PartsResumed);
        }

        private CloudArchive Result(ArchiveManifest manifest, string manifestKey, Stopwatch sw, List<string> warnings, long sent, long resumed) => new()
        {
            ArchiveId = manifest.ArchiveId, Bucket = _target.Bucket, Key = manifest.Key, ManifestKey = manifestKey, Files = manifest.Files.Count,
            Bytes = manifest.TarBytes, StorageClass = manifest.StorageClass, Duration = sw.Elapsed, BytesUploaded = sent, PartsResumed = resumed,
            Status = warnings.Count > 0 ? "SucceededWithWarnings" : "Succeeded", Warnings = warnings,
        };
    }
}
