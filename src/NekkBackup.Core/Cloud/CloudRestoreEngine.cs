using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Primitives;
using NekkBackup.Core.Storage;
using NekkBackup.Core.Validation;

namespace NekkBackup.Core.Cloud
{
    public sealed class CloudRestoreOptions
    {
        public string Target { get; init; } = "";
        public string? RunId { get; init; }
        /// <summary>Wildcard patterns (*, ?) on manifest paths; empty = everything.</summary>
        public IReadOnlyList<string> Paths { get; init; } = Array.Empty<string>();
        public bool Overwrite { get; init; }
        public ContentCipher? Cipher { get; init; }
        public int ThrottleLimit { get; init; } = 4;
        /// <summary>Thaw tier for cold objects: Standard, Bulk or Expedited.</summary>
        public string ThawTier { get; init; } = "Standard";
        /// <summary>How long a thawed copy stays readable.</summary>
        public int ThawDays { get; init; } = 7;
        /// <summary>Exact manifest paths to restore (the restore drill's sample); null = every path <see cref="Paths"/> matches.</summary>
        public ISet<string>? OnlyPaths { get; init; }
        /// <summary>The name of the work in the log and the progress bar.</summary>
        public string Activity { get; init; } = "Restore-NekkCloudBackup";
    }

    /// <summary>Get-NekkCloudBackup and Restore-NekkCloudBackup.</summary>
    public sealed class CloudRestoreEngine
    {
        private readonly CloudTarget _target;
        private readonly IRunObserver _observer;

        public CloudRestoreEngine(CloudTarget target, IRunObserver? observer = null)
        {
            _target = target;
            _observer = observer ?? NullRunObserver.Instance;
        }

        /// <summary>The files of a run (latest when <paramref name="runId"/> is null), optionally filtered by wildcards.</summary>
        public async Task<IReadOnlyList<CloudBackupItem>> GetItemsAsync(string? runId, IReadOnlyList<string>? paths = null, CancellationToken ct = default)
        {
            using var client = await CloudClient.OpenAsync(_target, _observer, null, ct).ConfigureAwait(false);
            var m = await RunManifests.LoadAsync(client, runId, ct).ConfigureAwait(false);
            if (m == null) return Array.Empty<CloudBackupItem>();
            var match = Matcher(paths);
            var (files, damaged) = CloudRules.SortFiles(m, _target, _target.ManifestKey(m.RunId));
            foreach (var (item, error) in damaged) _observer.ItemFailed(item, error);
            return files.Where(f => match(f.Path)).Select(f => new CloudBackupItem
            {
                Path = f.Path, Size = f.Size, LastWriteTimeUtc = f.LastWriteTimeUtc, Hash = f.Hash, Key = f.Key, RunId = m.RunId,
                StorageClass = f.IsLink ? "" : f.StorageClass ?? "STANDARD", LinkTarget = f.LinkTarget,
            }).ToList();
        }

        /// <summary>RunIds of this host, oldest first.</summary>
        public async Task<IReadOnlyList<string>> GetRunIdsAsync(CancellationToken ct = default)
        {
            using var client = await CloudClient.OpenAsync(_target, _observer, null, ct).ConfigureAwait(false);
            return await RunManifests.ListRunIdsAsync(client, ct).ConfigureAwait(false);
        }

        internal static Func<string, bool> Matcher(IReadOnlyList<string>? patterns)
        {
            if (patterns == null || patterns.Count == 0) return _ => true;
            var regexes = patterns.Select(p =>
            {
                var norm = p.Replace('\\', '/').TrimStart('/');
                var rx = "^" + Regex.Escape(norm).Replace(@"\*", ".*").Replace(@"\?", ".") + "(/.*)?$";
                return new Regex(rx, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);
            }).ToList();
            return path => regexes.Any(r => r.IsMatch(path));
        }

        public static (TimeSpan Wait, string Text) ExpectedThaw(string storageClass, string tier) => ColdStorage.ExpectedThaw(storageClass, tier);

        public async Task<CloudRestoreResult> RestoreAsync(CloudRestoreOptions options, CancellationToken ct = default)
        {
            var sw = Stopwatch.StartNew();
            if (string.IsNullOrWhiteSpace(options.Target))
                throw Fail.Argument("InvalidTarget", "A -Target directory is required.");
            var tier = ColdStorage.NormalizeTier(options.ThawTier);
            var target = Path.GetFullPath(options.Target);
            if (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any() && !options.Overwrite)
                throw Fail.InvalidOperation("TargetNotEmpty", $"The target '{target}' is not empty; use -Overwrite to restore into it.", target);
            if (File.Exists(target))
                throw Fail.Argument("InvalidTarget", $"The target '{target}' is a file.", target);
            CloudClient.Validate(_target);

            var runLabel = options.RunId ?? "latest";
            var activity = options.Activity;
            using var log = RunLog.Open(RunId.New(), activity);
            var observer = log.Wrap(_observer);
            using var client = await CloudClient.OpenAsync(_target, observer, log, ct).ConfigureAwait(false);
            var manifest = await RunManifests.LoadAsync(client, options.RunId, ct).ConfigureAwait(false)
                ?? throw Fail.NotFound("CloudRunNotFound", $"Bucket '{_target.Bucket}' holds no backup run under '{_target.HostRoot}'.", _target.Bucket);
            if (manifest.Encryption != null && options.Cipher == null)
                throw Fail.Argument("EncryptionKeyRequired", $"Run {manifest.RunId} is encrypted ({manifest.Encryption}); give -EncryptionKey.", manifest.RunId);

            var match = Matcher(options.Paths);
            var (files, damaged) = CloudRules.SortFiles(manifest, _target, _target.ManifestKey(manifest.RunId));
            var selected = files.Where(f => match(f.Path) && (options.OnlyPaths == null || options.OnlyPaths.Contains(f.Path))).ToList();
            Directory.CreateDirectory(target);
            var root = target.EndsWith(Path.DirectorySeparatorChar.ToString(), StringComparison.Ordinal) ? target : target + Path.DirectorySeparatorChar;
            var targetStore = new StoreRoot(target, "the restore target");

            long restored = 0, bytes = 0, errors = 0, thawed = 0, done = 0;
            // Damaged, unsafe or repeated entries are one error each; everything else is restored.
            foreach (var (item, error) in damaged)
            {
                if (options.Paths.Count > 0 && !match(item)) continue;
                errors++;
                observer.ItemFailed(item, error);
            }
            var warnings = new ConcurrentQueue<string>();
            var coldClasses = new ConcurrentDictionary<string, byte>();
            var progress = new ProgressThrottle();
            long total = selected.Sum(f => f.Size);

            async Task OneAsync(ManifestEntry e)
            {
                var dest = Path.GetFullPath(Path.Combine(target, e.Path.Replace('/', Path.DirectorySeparatorChar)));
                try
                {
                    if (!dest.StartsWith(root, OperatingSystemInfo.IsWindows ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal)
                        || e.Path.Split('/').Any(s => s == ".." || s == "."))
                        throw Fail.InvalidData("UnsafePath", $"'{e.Path}' would be written outside the target; skipped.", e.Path);
                    if (File.Exists(dest) && !options.Overwrite)
                        throw Fail.InvalidOperation("TargetExists", $"'{dest}' exists; use -Overwrite.", dest);
                    if (e.IsLink)
                    {
                        RestoreLink(e, dest, targetStore, options.Overwrite);
                        Interlocked.Increment(ref restored);
                        return;
                    }

                    var cls = e.StorageClass ?? "STANDARD";
                    if (ColdStorage.IsColdClass(cls))
                    {
                        var head = await client.HeadAsync(e.Key, ct).ConfigureAwait(false)
                            ?? throw Fail.NotFound("CloudObjectNotFound", $"The object '{e.Key}' of '{e.Path}' is missing from the bucket.", e.Path);
                        var headClass = head.Attribute(S3Target.StorageClassAttribute);
                        if (!string.IsNullOrEmpty(headClass)) cls = headClass!;
                        bool readable = ColdStorage.ThawedUntil(head) != null;
                        if (ColdStorage.IsColdClass(cls) && !readable)
                        {
                            await RequestThawAsync(client, e, cls, tier, options.ThawDays, head.Attribute(S3Target.RestoreInProgressAttribute) == "true", ct).ConfigureAwait(false);
                            coldClasses[cls] = 1;
                            Interlocked.Increment(ref thawed);
                            return;
                        }
                    }
                    try
                    {
                        await DownloadAsync(client, e, dest, targetStore, options.Cipher, manifest.Encryption != null, ct).ConfigureAwait(false);
                    }
                    catch (NekkBackupException ex) when (ex.ErrorId == "NekkBackup.CloudObjectArchived")
                    {
                        await RequestThawAsync(client, e, ColdStorage.IsColdClass(cls) ? cls : "GLACIER", tier, options.ThawDays, false, ct).ConfigureAwait(false);
                        coldClasses[ColdStorage.IsColdClass(cls) ? cls : "GLACIER"] = 1;
                        Interlocked.Increment(ref thawed);
                        return;
                    }
                    Interlocked.Increment(ref restored);
                    Interlocked.Add(ref bytes, e.Size);
                }
                catch (NekkBackupException ex) when (!CloudErrors.IsFatal(ex))
                {
                    Interlocked.Increment(ref errors);
                    observer.ItemFailed(e.Path, ex);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    Interlocked.Increment(ref errors);
                    observer.ItemFailed(e.Path, Fail.FromIo(ex, dest));
                }
                finally
                {
                    Interlocked.Increment(ref done);
                    if (progress.TryEnter())
                        observer.Progress(new RunProgress(activity, $"{Interlocked.Read(ref done)}/{selected.Count} files")
                        {
                            CurrentItem = e.Path, ItemsDone = Interlocked.Read(ref done), ItemsTotal = selected.Count,
                            BytesDone = Interlocked.Read(ref bytes), BytesTotal = total,
                            BytesPerSecond = sw.Elapsed.TotalSeconds > 0 ? Interlocked.Read(ref bytes) / sw.Elapsed.TotalSeconds : 0,
                        });
                }
            }

            await BoundedParallel.ForEachAsync(selected.Where(e => !e.IsLink), Math.Max(1, options.ThrottleLimit), OneAsync, ct).ConfigureAwait(false);
            // Links last, so no file is ever written through a link this restore made.
            foreach (var link in selected.Where(e => e.IsLink)) await OneAsync(link).ConfigureAwait(false);
            observer.Progress(new RunProgress(activity, "done") { Completed = true });

            TimeSpan? wait = null;
            if (thawed > 0)
            {
                var worst = coldClasses.Keys.Select(c => ExpectedThaw(c, tier)).OrderByDescending(x => x.Wait).First();
                wait = worst.Wait;
                var msg = $"{thawed} file(s) of run {manifest.RunId} are in cold storage ({string.Join(", ", coldClasses.Keys.OrderBy(k => k))}). " +
                          $"A thaw was requested (tier {tier}, readable for {options.ThawDays} days): expect {worst.Text} before they can be restored. " +
                          ColdStorage.BillingNote + " Run the same restore again after the wait.";
                warnings.Enqueue(msg);
                observer.Message(RunMessageLevel.Warning, msg);
            }
            var status = thawed > 0 ? "ThawRequested" : errors > 0 ? "CompletedWithErrors" : "Succeeded";
            log.Logger.Information("Cloud restore of run {RunId} to {Target}: {Restored} restored, {Bytes} bytes, {Thawed} thaw requests, {Errors} errors",
                manifest.RunId, target, restored, bytes, thawed, errors);
            return new CloudRestoreResult
            {
                RunId = manifest.RunId, Bucket = _target.Bucket, Target = target, FilesSelected = selected.Count, FilesRestored = restored,
                BytesRestored = bytes, ThawRequested = thawed, ThawTier = thawed > 0 ? tier : "", ExpectedWait = wait, Errors = errors,
                Duration = sw.Elapsed, Status = status, Warnings = warnings.ToArray(),
            };
        }

        private static Task RequestThawAsync(CloudClient client, ManifestEntry e, string cls, string tier, int days, bool alreadyInProgress, CancellationToken ct) =>
            alreadyInProgress ? Task.CompletedTask : ColdStorage.RequestThawAsync(client, e.Key, e.Path, cls, tier, days, ct);

        /// <summary>Recreates a recorded link (never followed: the folders on the way are checked, an existing item is replaced only with -Overwrite).</summary>
        private static void RestoreLink(ManifestEntry e, string dest, StoreRoot target, bool overwrite)
        {
            if (string.IsNullOrEmpty(e.LinkTarget))
                throw Fail.InvalidData("LinkTargetUnknown", $"'{e.Path}' was recorded as a link without its target (Windows PowerShell 5.1 cannot read link targets); recreate it by hand.", e.Path);
            target.EnsureDirectory(Path.GetDirectoryName(dest)!, Reasons.UnsafePath);
            var kind = target.Kind(dest);
            if (kind == StoredKind.Directory)
                throw Fail.InvalidOperation("TargetExists", $"'{dest}' is a folder; the backup holds a link there.", dest);
            if (kind != StoredKind.Missing)
            {
                if (!overwrite) throw Fail.InvalidOperation("TargetExists", $"'{dest}' exists; use -Overwrite.", dest);
                Folder.FileOps.DeleteItem(dest);
            }
            Folder.FileOps.CreateSymlink(dest, e.LinkTarget!, e.LinkIsDirectory == true);
        }

        private static async Task DownloadAsync(CloudClient client, ManifestEntry e, string dest, StoreRoot target, ContentCipher? cipher, bool encrypted, CancellationToken ct)
        {
            // Never written through a link in the target: a folder on the way or the file itself that is a link is refused.
            target.EnsureDirectory(Path.GetDirectoryName(dest)!, Reasons.UnsafePath);
            if (target.Kind(dest) == StoredKind.Link || target.Kind(dest) == StoredKind.Directory)
                throw new NekkBackupException(Reasons.UnsafePath, FailureKind.SecurityError, $"'{dest}' in the restore target is a link or a folder; NekkBackup does not write through it.", e.Path);
            var temp = dest + ".nekkpart";
            if (target.Kind(temp) != StoredKind.Missing) File.Delete(temp);
            var rel = client.Relative(e.Key);
            // Download, decrypt and verify are one attempt: a body cut short or damaged on the way is fetched again.
            await client.RunAsync($"GetObject '{e.Key}'", async t =>
            {
                try
                {
                    using var stored = await client.Store.OpenReadAsync(rel, 0, -1, t).ConfigureAwait(false);
                    using var body = encrypted ? cipher!.Decrypt(stored) : stored;
                    using (var outFile = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
                    using (var hashing = new HashingReadStream(body))
                    {
                        var buf = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 20);
                        try
                        {
                            int n;
                            while ((n = await hashing.ReadAsync(buf, 0, 1 << 20, t).ConfigureAwait(false)) > 0)
                                await outFile.WriteAsync(buf, 0, n, t).ConfigureAwait(false);
                        }
                        finally
                        {
                            System.Buffers.ArrayPool<byte>.Shared.Return(buf);
                        }
                        if (hashing.HashHex() != e.Hash || hashing.BytesRead != e.Size)
                            throw Fail.InvalidData("CloudChecksumMismatch",
                                $"'{e.Path}' read back from '{e.Key}' does not match its recorded SHA-256 ({hashing.BytesRead} bytes, {hashing.HashHex()}).", e.Path);
                    }
                    return true;
                }
                catch (TargetException ex) when (CloudErrors.S3Code(ex) == "InvalidObjectState")
                {
                    throw Fail.InvalidOperation("CloudObjectArchived", $"'{e.Path}' is in a cold storage class.", e.Path, ex);
                }
                catch
                {
                    try { File.Delete(temp); } catch (IOException) { }
                    throw;
                }
            }, ct, e.Path).ConfigureAwait(false);
            if (File.Exists(dest)) File.Delete(dest);
            File.Move(temp, dest);
            File.SetLastWriteTimeUtc(dest, e.LastWriteTimeUtc);
        }
    }
}
