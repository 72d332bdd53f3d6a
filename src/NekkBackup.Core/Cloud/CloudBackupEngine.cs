using System;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Primitives;
using NekkBackup.Core.Storage;

namespace NekkBackup.Core.Cloud
{
    /// <summary>
    /// Send-NekkCloudBackup: incremental, content-addressed upload (PRODUCT.md §3.4). Each distinct content is one
    /// object data/&lt;sha256&gt;; the run's manifest is written last and is the source of truth. The run holds the
    /// host's bucket lock shared (<see cref="CloudLocks"/>) and goes through four phases: scan (<see cref="CloudScan"/>,
    /// through the run's snapshot or the live folder), upload (<see cref="UploadPhase"/>), commit
    /// (<see cref="CommitPhase"/>) and prune of journaled uploads no longer wanted (<see cref="UploadPrune"/>).
    /// </summary>
    public sealed class CloudBackupEngine
    {
        public const string Activity = "Send-NekkCloudBackup";
        private readonly CloudTarget _target;
        private readonly IRunObserver _observer;

        public CloudBackupEngine(CloudTarget target, IRunObserver? observer = null)
        {
            _target = target;
            _observer = observer ?? NullRunObserver.Instance;
        }

        /// <summary>
        /// Send-NekkCloudBackup -WhatIf: the files and bytes this run would upload, against what the bucket holds already
        /// (<see cref="CloudPreview"/>); reads the live folders and the bucket, writes nothing.
        /// </summary>
        public Task<CloudBackupPreview> PreviewAsync(CloudBackupOptions options, CancellationToken ct = default) =>
            CloudPreview.RunAsync(_target, options, _observer, ct);

        public async Task<CloudRun> RunAsync(CloudBackupOptions options, CancellationToken ct = default)
        {
            var sw = Stopwatch.StartNew();
            var settings = options.Validate();
            var roots = CloudScan.ResolveRoots(options.Paths);
            CloudClient.Validate(_target);

            var runId = options.RunId ?? RunId.New();
            using var log = RunLog.Open(runId, Activity);
            var observer = log.Wrap(_observer);
            log.Logger.Information("Cloud backup of {Sources} to {Bucket}/{Root} (endpoint {Endpoint}, class {Class}, encrypted {Encrypted})",
                roots.Select(r => r.Full).ToArray(), _target.Bucket, _target.HostRoot, _target.Endpoint ?? "aws", settings.StorageClassOrDefault, options.Cipher != null);

            using var client = await CloudClient.OpenAsync(_target, observer, log, ct, check: false).ConfigureAwait(false);
            await using var held = await CloudLocks.AcquireAsync(client, LockMode.Shared, Activity, observer, ct).ConfigureAwait(false);
            using var running = CancellationTokenSource.CreateLinkedTokenSource(ct, held.LostToken);
            var token = running.Token;
            try
            {
                var encryption = options.Cipher != null ? ContentCipher.Name : null;
                var previous = await PreviousRun.LoadAsync(client, encryption, observer, token).ConfigureAwait(false);
                if (options.RunId == null && previous.RunId != null && string.CompareOrdinal(runId, previous.RunId) <= 0)
                {
                    // The clock is behind the newest run (or an older id format sorts after this one): stay in order.
                    runId = RunId.NewAfter(previous.RunId, DateTime.UtcNow);
                    log.Logger.Warning("The clock is behind the latest run {Previous}; this run is {RunId}", previous.RunId, runId);
                }

                using var scan = await CloudScan.RunAsync(roots, options, observer, token).ConfigureAwait(false);
                observer.Message(RunMessageLevel.Verbose, $"Scanned {scan.Files.Count} files and {scan.Links.Count} links; previous manifest: {previous.RunId ?? "none"}.");

                // Parts stay at the chosen size unless the largest file would need more than 10,000 of them.
                long largest = scan.Files.Count == 0 ? 0 : scan.Files.Max(c => options.Cipher != null ? ContentCipher.EncryptedLength(c.Size) : c.Size);
                int partSize = UploadContext.PartSizeFor(largest, options.PartSize);
                if (partSize != options.PartSize)
                    observer.Message(RunMessageLevel.Verbose, $"The largest file needs parts of {partSize / 1048576} MiB (10,000 parts at most).");
                using var ctx = new UploadContext(client, options.ThrottleLimit, options.MaxMBps, partSize, new MultipartJournal(options.JournalDirectoryOrDefault), observer);
                await UploadPrune.AbortStaleAsync(ctx, options.StaleUploadDays, token).ConfigureAwait(false);

                var upload = new UploadPhase(ctx, new ContentStore(ctx, settings, options.Cipher, observer, token), options, previous, observer, sw, token);
                await upload.RunAsync(scan.Files).ConfigureAwait(false);
                upload.RecordLinks(scan.Links);
                upload.KeepUnder(scan.Unknown);
                long dataBytes = ctx.BytesSent;

                var manifest = new CloudManifest
                {
                    RunId = runId, Host = _target.HostName, CreatedUtc = DateTime.UtcNow, Encryption = encryption,
                    Sources = roots.Select(r => r.Full).ToList(),
                    Files = upload.Entries.Values.OrderBy(e => e.Path, StringComparer.Ordinal).ToList(),
                };
                var manifestKey = await CommitPhase.WriteAsync(client, held, manifest, token).ConfigureAwait(false);
                await UploadPrune.AbortUnwantedAsync(ctx, upload.ScannedHashes, token).ConfigureAwait(false);

                long errors = scan.Errors + upload.Errors;
                var status = errors == 0 ? "Succeeded" : "CompletedWithErrors";
                upload.ReportDone();
                var result = new CloudRun
                {
                    RunId = runId, Bucket = _target.Bucket, Prefix = _target.HostRoot.TrimEnd('/'), FilesScanned = scan.Files.Count + scan.Links.Count,
                    FilesUploaded = upload.Uploaded, FilesSkipped = upload.Skipped, BytesUploaded = dataBytes, PartsResumed = ctx.PartsResumed,
                    Duration = sw.Elapsed, Errors = errors, Status = status, ManifestKey = manifestKey,
                };
                log.Logger.Information("Cloud backup {Status}: {Scanned} scanned, {Uploaded} uploaded, {Skipped} skipped, {Bytes} bytes sent, {Resumed} parts resumed, {Errors} errors, {Retries} retries in {Duration}",
                    status, result.FilesScanned, result.FilesUploaded, result.FilesSkipped, result.BytesUploaded, result.PartsResumed, errors, client.Retries, sw.Elapsed);
                return result;
            }
            catch (OperationCanceledException ex)
            {
                var lost = CloudLocks.LostInstead(held, ex, ct);
                if (lost != null) throw lost;
                log.Logger.Warning("Cloud backup cancelled; unfinished uploads stay journaled for the next run");
                throw;
            }
        }
    }
}
