using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Primitives;
using NekkBackup.Core.Validation;

namespace NekkBackup.Core.Cloud
{
    public sealed class CloudDrillOptions
    {
        /// <summary>Every file of the run instead of a sample.</summary>
        public bool Full { get; init; }
        /// <summary>The sample holds at least this share of the run's files …</summary>
        public int SamplePercent { get; init; } = 5;
        /// <summary>… and at least this many bytes (the whole run when it is smaller).</summary>
        public long SampleMinBytes { get; init; } = 1L << 30;
        /// <summary>Null: a new seed, recorded with the drill.</summary>
        public int? Seed { get; init; }
        /// <summary>Folder the drill restores under, in a sub-folder of its own that is removed afterwards (required).</summary>
        public string ScratchRoot { get; init; } = "";
        public string ThawTier { get; init; } = "Standard";
        public int ThrottleLimit { get; init; } = 4;
        /// <summary>The plan that runs the drill (recorded).</summary>
        public string Plan { get; init; } = "";
        /// <summary>A drill waiting for a thaw is finished only when it is younger than this; an older one starts over.</summary>
        public TimeSpan PendingFor { get; init; } = TimeSpan.FromDays(30);
    }

    /// <summary>
    /// The cloud leg's restore drill: the latest run (all of it, or a seeded random sample) restored through
    /// <see cref="CloudRestoreEngine"/> into scratch space, every restored byte read back there and checked against the
    /// manifest's SHA-256, the scratch folder removed, and the result recorded in the bucket
    /// (&lt;Prefix&gt;/&lt;host&gt;/drills/&lt;DrillId&gt;.json). Cold objects in the sample get a thaw request; the record says
    /// ThawRequested and the next drill (or the plan's daily cloud run) finishes the same drill with the same sample.
    /// </summary>
    public sealed class CloudDrillEngine
    {
        /// <summary>The restore is written under this folder name inside the scratch root (only what the drill made is removed).</summary>
        public const string ScratchFolder = "nekkbackup-cloud-drill";
        private const int MaxRunsBack = 10;
        private readonly CloudTarget _target;
        private readonly IRunObserver _observer;

        public CloudDrillEngine(CloudTarget target, IRunObserver? observer = null)
        {
            _target = target;
            _observer = observer ?? NullRunObserver.Instance;
        }

        /// <summary>Runs a drill: finishes the one waiting for a thaw, else drills the latest run that holds files.</summary>
        public async Task<CloudDrillRecord> RunAsync(CloudDrillOptions options, CancellationToken ct) =>
            (await RunCoreAsync(options, pendingOnly: false, ct).ConfigureAwait(false))!;

        /// <summary>Finishes a drill waiting for a thaw (the daily cloud run calls this); null when none waits.</summary>
        public Task<CloudDrillRecord?> FinishPendingAsync(CloudDrillOptions options, CancellationToken ct) => RunCoreAsync(options, pendingOnly: true, ct);

        private async Task<CloudDrillRecord?> RunCoreAsync(CloudDrillOptions options, bool pendingOnly, CancellationToken ct)
        {
            if (string.IsNullOrWhiteSpace(options.ScratchRoot)) throw Fail.Argument("InvalidScratch", "The drill needs a scratch folder.");
            var tier = ColdStorage.NormalizeTier(options.ThawTier);
            CloudClient.Validate(_target);
            using var client = await CloudClient.OpenAsync(_target, _observer, null, ct).ConfigureAwait(false);
            var pending = Pending(await ReadAsync(client, ct).ConfigureAwait(false), options.PendingFor);
            CloudManifest? manifest = null;
            if (pending != null)
            {
                // Retention may have let the run go meanwhile: that drill cannot finish, a new one starts (or, daily, none).
                try { manifest = await RunManifests.LoadAsync(client, pending.RunId, ct).ConfigureAwait(false); }
                catch (NekkBackupException ex) when (ex.ErrorId == "NekkBackup.CloudRunNotFound") { }
                if (manifest == null)
                {
                    _observer.Message(RunMessageLevel.Verbose, $"Cloud drill {pending.DrillId} waited for a thaw of run {pending.RunId}, which the bucket no longer holds; it is abandoned.");
                    pending = null;
                }
            }
            if (pending == null && pendingOnly) return null;

            var started = DateTime.UtcNow;
            CloudDrillRecord record;
            if (pending != null)
            {
                record = Begin(pending.DrillId, manifest!, pending.Scope == "Full", pending.SamplePercent, pending.SampleMinBytes, pending.Seed, options.Plan, pending.StartedUtc);
                _observer.Message(RunMessageLevel.Verbose, $"Finishing cloud drill {pending.DrillId} of run {pending.RunId} (thaw requested {pending.StartedUtc:u}).");
            }
            else
            {
                manifest = await LatestWithFilesAsync(client, ct).ConfigureAwait(false);
                var seed = options.Seed ?? NewSeed();
                record = Begin(RunId.New(started), manifest, options.Full, options.Full ? 100 : options.SamplePercent, options.Full ? 0 : options.SampleMinBytes, seed, options.Plan, started);
            }

            var (files, _) = CloudRules.SortFiles(manifest!, _target, _target.ManifestKey(manifest!.RunId));
            var content = files.Where(f => !f.IsLink).ToList();
            var chosen = record.Scope == "Full" ? content : Sample(content, (int)record.SamplePercent, record.SampleMinBytes, record.Seed);
            record.FilesSelected = chosen.Count;
            record.BytesSelected = chosen.Sum(f => f.Size);
            _observer.Message(RunMessageLevel.Verbose,
                $"Cloud drill {record.DrillId}: run {record.RunId}, {record.Scope} — {chosen.Count} of {content.Count} files, {ByteSize.Format(record.BytesSelected)} of {ByteSize.Format(record.BytesInRun)} (seed {record.Seed}).");

            if (pending != null && await ThawingAsync(client, chosen, ct).ConfigureAwait(false) is int thawing and > 0)
            {
                // Nothing to restore yet: no download of the rest of the sample again, no new record.
                _observer.Message(RunMessageLevel.Verbose, $"Cloud drill {pending.DrillId}: {thawing} file(s) of the sample are still thawing.");
                return pending;
            }

            var root = Path.Combine(Path.GetFullPath(options.ScratchRoot), ScratchFolder);
            var scratch = Path.Combine(root, record.DrillId);
            RemoveLeftovers(root);
            CheckSpace(root, record.BytesSelected);
            try
            {
                await RestoreAndVerifyAsync(record, chosen, scratch, tier, options.ThrottleLimit, ct).ConfigureAwait(false);
            }
            finally
            {
                Remove(scratch);
            }
            record.FinishedUtc = DateTime.UtcNow;
            await RecordAsync(client, record, ct).ConfigureAwait(false);
            return record;
        }

        private CloudDrillRecord Begin(string drillId, CloudManifest m, bool full, double percent, long minBytes, int seed, string plan, DateTime started)
        {
            var content = m.Files.Where(HoldsContent).ToList();
            return new CloudDrillRecord
            {
                DrillId = drillId, Host = _target.HostName, Plan = plan, RunId = m.RunId, Scope = full ? "Full" : "Sample", Seed = seed,
                SamplePercent = percent, SampleMinBytes = minBytes, StartedUtc = started,
                FilesInRun = content.Count, BytesInRun = content.Sum(f => Math.Max(0, f.Size)),
            };
        }

        private async Task RestoreAndVerifyAsync(CloudDrillRecord record, List<ManifestEntry> chosen, string scratch, string tier, int throttle, CancellationToken ct)
        {
            var failures = new FailureCollector(_observer);
            var restore = await new CloudRestoreEngine(_target, failures).RestoreAsync(new CloudRestoreOptions
            {
                Target = scratch, RunId = record.RunId, OnlyPaths = new HashSet<string>(chosen.Select(f => f.Path), StringComparer.Ordinal),
                ThawTier = tier, ThrottleLimit = throttle, Activity = "Cloud restore drill",
            }, ct).ConfigureAwait(false);
            if (restore.ThawRequested > 0)
            {
                record.Status = CloudDrillRecord.ThawRequested;
                record.ThawRequestedFiles = restore.ThawRequested;
                record.ThawTier = restore.ThawTier;
                record.ExpectedWaitHours = restore.ExpectedWait?.TotalHours;
            }
            // Every restored byte read back from the scratch folder (an independent read, not the download's own hash).
            long done = 0;
            foreach (var f in chosen)
            {
                ct.ThrowIfCancellationRequested();
                var path = Path.Combine(scratch, f.Path.Replace('/', Path.DirectorySeparatorChar));
                if (!File.Exists(path)) continue; // failed (named by the restore) or waiting for its thaw
                var (hash, length) = await Sha256.OfFileAsync(path, ct).ConfigureAwait(false);
                if (hash != f.Hash || length != f.Size)
                    failures.Add(f.Path, $"'{f.Path}' restored to scratch space reads back {length} bytes with SHA-256 {hash}; the manifest says {f.Size} bytes, {f.Hash}.");
                else
                {
                    record.FilesVerified++;
                    record.BytesVerified += length;
                }
                if (++done % 64 == 0)
                    _observer.Progress(new RunProgress("Cloud restore drill", $"verifying {done}/{chosen.Count} files") { ItemsDone = done, ItemsTotal = chosen.Count, BytesDone = record.BytesVerified, BytesTotal = record.BytesSelected });
            }
            _observer.Progress(new RunProgress("Cloud restore drill", "done") { Completed = true });
            var problems = failures.Problems;
            // A file the restore named is one error, whatever else went wrong with it.
            record.Errors = Math.Max(restore.Errors, 0) + problems.Count(p => p.Source == "verify");
            record.Problems = problems.Select(p => p.Text).Take(CloudDrillRecord.MaxProblems).ToList();
            if (record.Status != CloudDrillRecord.ThawRequested)
                record.Status = record.Errors == 0 && record.FilesVerified == record.FilesSelected ? CloudDrillRecord.Passed : CloudDrillRecord.Failed;
            if (record.Status == CloudDrillRecord.Failed && record.Errors == 0) record.Errors = record.FilesSelected - record.FilesVerified;
        }

        /// <summary>Files of the sample in a cold class whose thaw is still running (HEAD: x-amz-restore ongoing-request="true").</summary>
        private static async Task<int> ThawingAsync(CloudClient client, List<ManifestEntry> chosen, CancellationToken ct)
        {
            int n = 0;
            foreach (var f in chosen.Where(f => ColdStorage.IsColdClass(f.StorageClass)))
            {
                var head = await client.HeadAsync(f.Key, ct).ConfigureAwait(false);
                if (head != null && ColdStorage.StateOf(head).State == ColdState.Thawing) n++;
            }
            return n;
        }

        /// <summary>
        /// A seeded random sample: files ordered by SHA-256(seed, path) — the same run and seed give the same files on any
        /// machine and runtime — taken until it holds at least <paramref name="percent"/> % of the files and at least
        /// <paramref name="minBytes"/> (every file when the run is smaller).
        /// </summary>
        public static List<ManifestEntry> Sample(IReadOnlyList<ManifestEntry> files, int percent, long minBytes, int seed)
        {
            long total = files.Sum(f => f.Size);
            int wantFiles = (int)Math.Min(files.Count, Math.Ceiling(files.Count * Math.Max(0, Math.Min(100, percent)) / 100.0));
            var order = files.Select(f => (File: f, Key: Sha256.Of(Encoding.UTF8.GetBytes(seed.ToString(System.Globalization.CultureInfo.InvariantCulture) + "\n" + f.Path))))
                .OrderBy(x => x.Key, StringComparer.Ordinal).ThenBy(x => x.File.Path, StringComparer.Ordinal);
            // A run no larger than the byte floor is drilled whole: empty files too (the byte target alone is met before the
            // empty files that happen to come last in the seeded order).
            if (total <= minBytes) return order.Select(x => x.File).ToList();
            var picked = new List<ManifestEntry>();
            long bytes = 0;
            foreach (var (f, _) in order)
            {
                if (picked.Count >= wantFiles && bytes >= minBytes) break; // the run is larger than minBytes (above)
                picked.Add(f);
                bytes += f.Size;
            }
            return picked;
        }

        /// <summary>This host's drill records, oldest first; a damaged one is a warning and no evidence.</summary>
        public static async Task<List<(string Key, CloudDrillRecord Record)>> ReadAsync(CloudClient client, CancellationToken ct, IRunObserver? observer = null)
        {
            var prefix = client.Target.DrillPrefix;
            var list = new List<(string, CloudDrillRecord)>();
            foreach (var o in await client.ListAsync(prefix, ct).ConfigureAwait(false))
            {
                var name = o.Key.Substring(prefix.Length);
                if (!name.EndsWith(".json", StringComparison.Ordinal) || name.IndexOf('/') >= 0) continue;
                var id = name.Substring(0, name.Length - ".json".Length);
                if (!SafeName.IsSafe(id)) continue;
                try
                {
                    var bytes = await client.TryGetSmallAsync(o.Key, ct, CloudDrillRecord.MaxBytes).ConfigureAwait(false);
                    if (bytes != null) list.Add((o.Key, CloudRules.ParseDrill(bytes, o.Key, id)));
                }
                catch (NekkBackupException ex) when (ex.Kind != FailureKind.OperationStopped && !CloudErrors.IsFatal(ex))
                {
                    observer?.Message(RunMessageLevel.Warning, ex.Message);
                }
            }
            return list.OrderBy(r => r.Item2.StartedUtc).ThenBy(r => r.Item1, StringComparer.Ordinal).ToList();
        }

        /// <summary>The newest record when it waits for a thaw and is young enough to finish.</summary>
        private static CloudDrillRecord? Pending(List<(string Key, CloudDrillRecord Record)> records, TimeSpan pendingFor)
        {
            if (records.Count == 0) return null;
            var last = records[records.Count - 1].Record;
            return last.Status == CloudDrillRecord.ThawRequested && DateTime.UtcNow - last.StartedUtc <= pendingFor ? last : null;
        }

        /// <summary>The latest run, or the newest of the last few that holds any file (an idle month uploads an empty run).</summary>
        private async Task<CloudManifest> LatestWithFilesAsync(CloudClient client, CancellationToken ct)
        {
            var latest = await RunManifests.LoadAsync(client, null, ct).ConfigureAwait(false)
                ?? throw Fail.NotFound("CloudRunNotFound", $"Bucket '{_target.Bucket}' holds no backup run under '{_target.HostRoot}' to drill.", _target.Bucket);
            if (latest.Files.Any(HoldsContent)) return latest;
            var ids = await RunManifests.ListRunIdsAsync(client, ct).ConfigureAwait(false);
            foreach (var id in ids.Where(i => string.CompareOrdinal(i, latest.RunId) < 0).Reverse().Take(MaxRunsBack))
            {
                var m = await RunManifests.LoadAsync(client, id, ct).ConfigureAwait(false);
                if (m != null && m.Files.Any(HoldsContent)) return m;
            }
            throw Fail.NotFound("CloudRunNotFound",
                $"The latest runs under '{_target.HostRoot}' in bucket '{_target.Bucket}' hold no file to drill: the cloud copy holds only what changed within the upload's ModifiedWithin window, and nothing did.", _target.Bucket);
        }

        /// <summary>A manifest entry a drill restores: a file, not a link (a null is damage, left to the manifest rules).</summary>
        private static bool HoldsContent(ManifestEntry? f) => f != null && f.LinkTarget == null;

        private async Task RecordAsync(CloudClient client, CloudDrillRecord record, CancellationToken ct)
        {
            var key = _target.DrillKey(record.DrillId);
            try { await client.PutSmallAsync(key, record.ToBytes(), "application/json", ct).ConfigureAwait(false); }
            catch (NekkBackupException ex) when (ex.Kind != FailureKind.OperationStopped)
            {
                throw Fail.InvalidOperation("DrillNotRecorded", $"The cloud drill {record.DrillId} ({record.Status}) could not be recorded at s3://{_target.Bucket}/{key}: {ex.Message}", key, ex);
            }
        }

        private static int NewSeed()
        {
            var b = new byte[4];
            using (var rng = RandomNumberGenerator.Create()) rng.GetBytes(b);
            return BitConverter.ToInt32(b, 0) & int.MaxValue;
        }

        /// <summary>Refuses a drill the scratch volume cannot hold (a full system drive helps nobody).</summary>
        private static void CheckSpace(string root, long bytes)
        {
            Directory.CreateDirectory(root);
            long free;
            // Unix: the file system holding the folder (statvfs); Windows: its drive (a UNC share is not checked).
            try { free = new DriveInfo(root).AvailableFreeSpace; }
            catch (Exception ex) when (ex is IOException or ArgumentException or UnauthorizedAccessException) { return; }
            if (free < bytes + (64L << 20))
                throw Fail.InvalidOperation("DrillScratchFull",
                    $"The scratch folder '{root}' has {ByteSize.Format(free)} free; the drill restores {ByteSize.Format(bytes)}. Free space there or set the plan's Drill.Scratch.", root);
        }

        /// <summary>What an earlier drill left when it was killed: only drill-id folders inside our own scratch folder.</summary>
        private void RemoveLeftovers(string root)
        {
            if (!Directory.Exists(root)) return;
            foreach (var dir in Directory.GetDirectories(root))
                if (RunId.IsWellFormed(Path.GetFileName(dir))) Remove(dir);
        }

        private void Remove(string dir)
        {
            try
            {
                if (Directory.Exists(dir)) Directory.Delete(dir, true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                _observer.Message(RunMessageLevel.Warning, $"Could not remove the drill's scratch folder '{dir}': {ex.Message} (the next drill removes it).");
            }
        }

        /// <summary>Passes everything on and keeps each failed file's path and reason for the record.</summary>
        private sealed class FailureCollector : IRunObserver
        {
            private readonly IRunObserver _inner;
            private readonly ConcurrentQueue<(string Source, string Text)> _problems = new();

            public FailureCollector(IRunObserver inner) => _inner = inner;

            public IReadOnlyList<(string Source, string Text)> Problems => _problems.ToArray();

            public void Progress(RunProgress progress) => _inner.Progress(progress);

            public void Message(RunMessageLevel level, string text) => _inner.Message(level, text);

            public void ItemFailed(string item, NekkBackupException error)
            {
                _problems.Enqueue(("restore", error.Message.IndexOf(item, StringComparison.Ordinal) >= 0 ? error.Message : $"'{item}': {error.Message}"));
                _inner.ItemFailed(item, error);
            }

            public void Add(string item, string text)
            {
                _problems.Enqueue(("verify", text));
                _inner.ItemFailed(item, Fail.InvalidData("CloudChecksumMismatch", text, item));
            }
        }
    }
}
