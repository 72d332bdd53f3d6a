using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Primitives;
using NekkBackup.Core.Storage;

namespace NekkBackup.Core.Cloud
{
    public sealed class ArchiveRestoreOptions
    {
        public string ArchiveId { get; init; } = "";
        /// <summary>Folder to restore into; files land at &lt;Target&gt;/&lt;project&gt;/&lt;path&gt; as in the tar.</summary>
        public string Target { get; init; } = "";
        /// <summary>Wildcard patterns (*, ?) on archive paths ('Project/Audio/*'); a folder matches what is under it. Empty = everything.</summary>
        public IReadOnlyList<string> Paths { get; init; } = Array.Empty<string>();
        public bool Overwrite { get; init; }
        /// <summary>Standard, Bulk or Expedited: the tier of the thaw requested while the archive is cold.</summary>
        public string ThawTier { get; init; } = "Standard";
        /// <summary>How long the thawed copy stays readable.</summary>
        public int ThawDays { get; init; } = 7;
        /// <summary>Download cap in MiB/s; 0 = none.</summary>
        public double MaxMBps { get; init; }
        /// <summary>Bytes of the archive one ranged GET asks for.</summary>
        public long WindowBytes { get; init; } = 64L << 20;
    }

    /// <summary>
    /// Restore-NekkCloudArchive: streams an archive's tar object with ranged GETs straight into the target
    /// (no temporary copy of the archive), every entry checked by <see cref="ArchiveEntryGuard"/> and every
    /// file verified against the manifest's SHA-256 before it takes its name. A stopped or killed restore
    /// continues from its journal (<see cref="ArchiveRestoreJournal"/>). While the object is cold it requests
    /// the thaw and says which tier, how long and that the provider bills it; a later call restores.
    /// </summary>
    public sealed class ArchiveRestoreEngine
    {
        private const string Activity = "Restore-NekkCloudArchive";
        private readonly CloudTarget _target;
        private readonly IRunObserver _observer;

        public ArchiveRestoreEngine(CloudTarget target, IRunObserver? observer = null)
        {
            _target = target;
            _observer = observer ?? NullRunObserver.Instance;
        }

        private sealed class Run
        {
            public ArchiveRestoreOptions Options = null!;
            public string Target = "";
            public ArchiveManifest Manifest = null!;
            public RangedObjectReader Reader = null!;
            public IRunObserver Observer = null!;
            public bool Resume;
            public long FilesRestored, BytesRestored, BytesResumed, Errors, Total, Selected;
            /// <summary>Bytes of the file being written (counted in BytesRestored once it is verified).</summary>
            public long InFlight;
            public readonly HashSet<string> SafeDirs = new(StringComparer.Ordinal);
            public readonly ProgressThrottle Progress = new();
            public readonly Stopwatch Clock = Stopwatch.StartNew();
        }

        public async Task<CloudArchiveRestoreResult> RestoreAsync(ArchiveRestoreOptions o, CancellationToken ct = default)
        {
            var sw = Stopwatch.StartNew();
            ArchiveCatalog.ValidateArchiveId(o.ArchiveId);
            var tier = ColdStorage.NormalizeTier(o.ThawTier);
            if (o.ThawDays < 1 || o.ThawDays > 365) throw Fail.Argument("InvalidThawDays", $"A thawed copy can be kept 1 to 365 days, not {o.ThawDays}.", o.ThawDays);
            if (o.MaxMBps < 0 || double.IsNaN(o.MaxMBps)) throw Fail.Argument("InvalidMaxMBps", $"-MaxMBps {o.MaxMBps} must be zero (no cap) or positive.", o.MaxMBps);
            if (string.IsNullOrWhiteSpace(o.Target)) throw Fail.Argument("InvalidTarget", "A -Target directory is required.");
            var target = Path.GetFullPath(o.Target);
            if (File.Exists(target)) throw Fail.Argument("InvalidTarget", $"The target '{target}' is a file.", target);
            CloudClient.Validate(_target);

            using var log = RunLog.Open(RunId.New(), Activity);
            var observer = log.Wrap(_observer);
            using var client = await CloudClient.OpenAsync(_target, observer, log, ct).ConfigureAwait(false);
            var manifest = await ArchiveCatalog.LoadManifestAsync(client, o.ArchiveId, ct).ConfigureAwait(false);
            var (info, head) = await ArchiveCatalog.DescribeAsync(client, manifest, ct).ConfigureAwait(false);
            if (head.Size != manifest.TarBytes)
                throw Fail.InvalidData("ArchiveCorrupt", $"The tar object of archive '{o.ArchiveId}' holds {head.Size} bytes; its manifest says {manifest.TarBytes}.", o.ArchiveId);

            CloudArchiveRestoreResult Result(string status, long errors, IReadOnlyList<string> warnings, TimeSpan? wait = null, string thawTier = "", Run? r = null) => new()
            {
                ArchiveId = o.ArchiveId, Bucket = _target.Bucket, Target = target, State = info.State, Status = status, Errors = errors,
                FilesSelected = r?.Selected ?? 0, FilesRestored = r?.FilesRestored ?? 0, BytesRestored = r?.BytesRestored ?? 0,
                BytesResumed = r?.BytesResumed ?? 0, BytesDownloaded = r?.Reader.BytesFetched ?? 0, ThawTier = thawTier, ExpectedWait = wait,
                Duration = sw.Elapsed, Warnings = warnings,
            };

            if (info.State != nameof(ColdState.Available))
            {
                var (wait, text) = ColdStorage.ExpectedThaw(info.StorageClass, tier);
                string msg;
                if (info.State == nameof(ColdState.Cold))
                {
                    await ColdStorage.RequestThawAsync(client, manifest.Key, o.ArchiveId, info.StorageClass, tier, o.ThawDays, ct).ConfigureAwait(false);
                    msg = $"Archive '{o.ArchiveId}' is in {info.StorageClass} (cold storage). A thaw was requested (tier {tier}, readable for {o.ThawDays} days once thawed): " +
                          $"expect {text} before it can be restored. {ColdStorage.BillingNote} Run the same Restore-NekkCloudArchive again after the wait.";
                }
                else
                {
                    msg = $"Archive '{o.ArchiveId}' ({info.StorageClass}) is still thawing from an earlier request; with tier {tier} that takes {text}. " +
                          $"{ColdStorage.BillingNote} Run the same Restore-NekkCloudArchive again later.";
                }
                observer.Message(RunMessageLevel.Warning, msg);
                log.Logger.Information("Archive {ArchiveId} is {State} ({Class}); thaw tier {Tier}", o.ArchiveId, info.State, info.StorageClass, tier);
                return Result(info.State == nameof(ColdState.Cold) ? "ThawRequested" : "Thawing", 0, new[] { msg }, wait, tier);
            }

            var patterns = (o.Paths ?? Array.Empty<string>()).Where(p => !string.IsNullOrWhiteSpace(p)).ToList();
            var match = CloudRestoreEngine.Matcher(patterns);
            var selected = manifest.Files.Where(f => match(f.Path)).ToList();
            var etag = head.Attribute(S3Target.ETagAttribute) ?? "";
            var journal = Directory.Exists(target) ? ArchiveRestoreJournal.Load(target, o.ArchiveId) : null;
            bool resume = journal != null && journal.Fits(etag, manifest.TarBytes, patterns);
            if (journal != null && !resume)
                observer.Message(RunMessageLevel.Warning, $"An unfinished restore of '{o.ArchiveId}' in '{target}' was for another selection or an older upload; starting over.");
            if (!resume && Directory.Exists(target) && !o.Overwrite
                && Directory.EnumerateFileSystemEntries(target).Any(p => !string.Equals(p, ArchiveRestoreJournal.PathFor(target, o.ArchiveId), StringComparison.Ordinal)))
                throw Fail.InvalidOperation("TargetNotEmpty", $"The target '{target}' is not empty; use -Overwrite to restore into it.", target);
            Directory.CreateDirectory(target);
            journal = resume ? journal! : new ArchiveRestoreJournal { ArchiveId = o.ArchiveId, ETag = etag, TarBytes = manifest.TarBytes, Paths = patterns };
            journal.Save(target); // from now on the target holds an unfinished restore that the next call continues
            if (resume) observer.Message(RunMessageLevel.Verbose, $"Resuming the restore of '{o.ArchiveId}' at byte {journal.NextOffset} of {manifest.TarBytes}.");

            using var reader = new RangedObjectReader(client, manifest.Key, manifest.TarBytes, etag, new BandwidthLimiter(o.MaxMBps), o.WindowBytes);
            var run = new Run
            {
                Options = o, Target = target, Manifest = manifest, Reader = reader, Observer = observer, Resume = resume,
                Total = selected.Sum(f => f.Size), Selected = selected.Count, Errors = resume ? journal.Errors : 0,
            };
            // Files before the resume point were finished (and verified) by the earlier call.
            foreach (var f in selected.Where(f => f.Offset < journal.NextOffset))
            {
                run.FilesRestored++;
                run.BytesRestored += f.Size;
                run.BytesResumed += f.Size;
            }
            log.Logger.Information("Restoring archive {ArchiveId} ({Files} of {All} files, {Bytes} bytes) to {Target}, from byte {Offset}",
                o.ArchiveId, selected.Count, manifest.Files.Count, run.Total, target, journal.NextOffset);
            try
            {
                await WalkAsync(run, journal, new HashSet<string>(selected.Select(f => f.Path), StringComparer.Ordinal), ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                journal.Errors = run.Errors;
                journal.Save(target);
                throw;
            }
            catch (NekkBackupException ex) when (ex.ErrorId == "NekkBackup.CloudObjectArchived")
            {
                // The HEAD said readable but the GET says cold (the thawed copy expired meanwhile): ask again.
                journal.Save(target);
                var cls = ColdStorage.StateOf(head).StorageClass;
                if (!ColdStorage.IsColdClass(cls)) cls = "GLACIER";
                await ColdStorage.RequestThawAsync(client, manifest.Key, o.ArchiveId, cls, tier, o.ThawDays, ct).ConfigureAwait(false);
                var (wait, text) = ColdStorage.ExpectedThaw(cls, tier);
                var msg = $"Archive '{o.ArchiveId}' went back to cold storage during the restore. A thaw was requested (tier {tier}): expect {text}. {ColdStorage.BillingNote} Run the same restore again after the wait; it continues where it stopped.";
                observer.Message(RunMessageLevel.Warning, msg);
                return Result("ThawRequested", run.Errors, new[] { msg }, wait, tier, run);
            }
            catch (NekkBackupException)
            {
                journal.Errors = run.Errors;
                journal.Save(target); // a dropped connection or a damaged tail: the next call continues from here
                throw;
            }
            ArchiveRestoreJournal.Delete(target, o.ArchiveId);
            observer.Progress(new RunProgress(Activity, "done") { Completed = true });
            var warnings = new List<string>();
            if (patterns.Count > 0 && selected.Count == 0)
            {
                warnings.Add($"No file of archive '{o.ArchiveId}' matches {string.Join(", ", patterns)}.");
                observer.Message(RunMessageLevel.Warning, warnings[0]);
            }
            log.Logger.Information("Archive {ArchiveId} restored to {Target}: {Files} files, {Bytes} bytes ({Resumed} resumed), {Downloaded} bytes downloaded in {Requests} requests, {Errors} errors",
                o.ArchiveId, target, run.FilesRestored, run.BytesRestored, run.BytesResumed, reader.BytesFetched, reader.Requests, run.Errors);
            return Result(run.Errors > 0 ? "CompletedWithErrors" : "Succeeded", run.Errors, warnings, r: run);
        }

        /// <summary>
        /// Reads the tar from the journal's offset, restoring the selected files. Only the parts of the tar that
        /// matter are read: before each selected file the reader jumps to the end of the data of the manifest file
        /// preceding it (only headers lie between), and it stops after the last selected file.
        /// </summary>
        private static async Task WalkAsync(Run run, ArchiveRestoreJournal journal, HashSet<string> selected, CancellationToken ct)
        {
            var m = run.Manifest;
            long start = journal.NextOffset;
            var index = new ArchiveIndex(m);
            var seen = new HashSet<string>(m.Files.Where(f => f.Offset < start).Select(f => f.Path), ArchiveEntryGuard.NameComparer);
            var handled = new HashSet<string>(StringComparer.Ordinal);
            var regionStart = new Dictionary<string, long>(StringComparer.Ordinal);
            long prevEnd = 0;
            foreach (var f in m.Files.OrderBy(f => f.Offset))
            {
                regionStart[f.Path] = prevEnd;
                prevEnd = f.Offset + TarReader.Padded(f.Size);
            }
            var pending = new Queue<ArchiveManifestEntry>(m.Files.Where(f => f.Offset >= start && selected.Contains(f.Path)).OrderBy(f => f.Offset));
            var tar = new TarReader(run.Reader, m.Key, start);
            var lastSave = Stopwatch.StartNew();

            void JumpToNextSelected(long passed)
            {
                // A selected file the walk went past without meeting its entry is reported as missing below.
                while (pending.Count > 0 && (handled.Contains(pending.Peek().Path) || pending.Peek().Offset < passed)) pending.Dequeue();
                if (pending.Count > 0 && regionStart[pending.Peek().Path] > tar.NextOffset) tar.NextOffset = regionStart[pending.Peek().Path];
                journal.NextOffset = tar.NextOffset;
            }

            JumpToNextSelected(start);
            TarEntry? e;
            while (pending.Count > 0 && (e = await tar.NextAsync(ct).ConfigureAwait(false)) != null)
            {
                ArchiveManifestEntry? f = null;
                try
                {
                    f = ArchiveEntryGuard.Check(e, index, seen, m.TarBytes).File;
                }
                catch (NekkBackupException ex)
                {
                    run.Errors++;
                    run.Observer.ItemFailed(e.Name, ex);
                    if (e.NextHeaderOffset > m.TarBytes) break; // nothing after it can be found
                }
                if (f != null && selected.Contains(f.Path))
                {
                    handled.Add(f.Path);
                    try
                    {
                        var dest = ArchiveEntryGuard.TargetPath(run.Target, f.Path);
                        ArchiveEntryGuard.EnsureSafeDirectory(run.Target, Path.GetDirectoryName(dest)!, run.SafeDirs);
                        await RestoreFileAsync(run, f, dest, ct).ConfigureAwait(false);
                        run.FilesRestored++;
                        run.BytesRestored += f.Size;
                    }
                    catch (NekkBackupException ex) when (!CloudErrors.IsFatal(ex) && ex.ErrorId != "NekkBackup.CloudObjectArchived" && ex.ErrorId != "NekkBackup.ArchiveChanged")
                    {
                        run.Errors++;
                        run.Observer.ItemFailed(f.Path, ex);
                    }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                    {
                        run.Errors++;
                        run.Observer.ItemFailed(f.Path, Fail.FromIo(ex, f.Path));
                    }
                    Report(run, f.Path);
                }
                JumpToNextSelected(e.NextHeaderOffset);
                if (lastSave.Elapsed >= TimeSpan.FromSeconds(1))
                {
                    journal.Errors = run.Errors;
                    journal.Save(run.Target);
                    lastSave.Restart();
                }
            }
            foreach (var f in m.Files.Where(f => f.Offset >= start && selected.Contains(f.Path) && !handled.Contains(f.Path)))
            {
                run.Errors++;
                run.Observer.ItemFailed(f.Path, Fail.InvalidData("ArchiveEntryMissing", $"The archive's tar holds no usable entry for '{f.Path}' (offset {f.Offset}); it was not restored.", f.Path));
            }
        }

        private static void Report(Run run, string? item)
        {
            if (!run.Progress.TryEnter()) return;
            run.Observer.Progress(new RunProgress(Activity, $"{run.Options.ArchiveId}: {run.FilesRestored:N0} of {run.Selected:N0} files")
            {
                CurrentItem = item, BytesDone = run.BytesRestored + run.InFlight, BytesTotal = run.Total, ItemsDone = run.FilesRestored, ItemsTotal = run.Selected,
                BytesPerSecond = run.Clock.Elapsed.TotalSeconds > 0 ? run.Reader.BytesFetched / run.Clock.Elapsed.TotalSeconds : 0,
            });
        }

        /// <summary>Writes one file to &lt;dest&gt;.nekkpart (continuing a partial one on resume), verifies its SHA-256, then renames it.</summary>
        private static async Task RestoreFileAsync(Run run, ArchiveManifestEntry f, string dest, CancellationToken ct)
        {
            if (Directory.Exists(dest)) throw Fail.InvalidOperation("TargetExists", $"'{dest}' is a folder; the archive holds a file there.", dest);
            if (ArchiveEntryGuard.IsLink(dest))
                throw new NekkBackupException("UnsafePath", FailureKind.SecurityError, $"'{dest}' in the restore target is a link; NekkBackup does not write through links.", dest);
            if (File.Exists(dest))
            {
                // A resumed restore meets files the killed call finished after its last journal save.
                if ((run.Resume || run.Options.Overwrite) && new FileInfo(dest).Length == f.Size && await HashFileAsync(dest, f.Size, null, ct).ConfigureAwait(false) == f.Hash)
                {
                    run.BytesResumed += f.Size;
                    return;
                }
                if (!run.Resume && !run.Options.Overwrite) throw Fail.InvalidOperation("TargetExists", $"'{dest}' exists; use -Overwrite.", dest);
            }
            var part = dest + ".nekkpart";
            if (ArchiveEntryGuard.IsLink(part) || (File.Exists(part) && !run.Resume)) File.Delete(part); // a link is removed, never followed
            for (int attempt = 0; ; attempt++)
            {
                long have = 0;
                using var sha = SHA256.Create();
                FileStream fs;
                if (run.Resume && attempt == 0 && File.Exists(part))
                {
                    have = Math.Min(new FileInfo(part).Length, f.Size);
                    await HashFileAsync(part, have, sha, ct).ConfigureAwait(false);
                    fs = new FileStream(part, FileMode.Open, FileAccess.Write, FileShare.None, 1 << 16);
                    fs.SetLength(have);
                    fs.Position = have;
                    run.BytesResumed += have;
                }
                else
                {
                    if (File.Exists(part)) File.Delete(part);
                    fs = new FileStream(part, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
                }
                try
                {
                    using (fs)
                    {
                        run.Reader.Position = f.Offset + have;
                        await CopyAsync(run, fs, sha, f.Size - have, f.Path, ct).ConfigureAwait(false);
                        fs.Flush();
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException && ex is not NekkBackupException { ErrorId: "NekkBackup.CloudUnreachable" })
                {
                    TryDelete(part);
                    throw;
                }
                sha.TransformFinalBlock(Array.Empty<byte>(), 0, 0);
                if (Hex.Encode(sha.Hash!) == f.Hash) break;
                TryDelete(part);
                if (have > 0) continue; // the kept partial bytes were bad: once more from the start
                throw Fail.InvalidData("CloudChecksumMismatch", $"'{f.Path}' read back from the archive does not match the SHA-256 its manifest records; it was not restored.", f.Path);
            }
            File.SetLastWriteTimeUtc(part, DateTime.SpecifyKind(f.LastWriteTimeUtc, DateTimeKind.Utc));
            AtomicFile.MoveOverwrite(part, dest);
        }

        /// <summary>Copies <paramref name="count"/> bytes from the archive, reading the next block while the last one is hashed and written.</summary>
        private static async Task CopyAsync(Run run, FileStream fs, SHA256 sha, long count, string item, CancellationToken ct)
        {
            const int Size = 1 << 20;
            var a = System.Buffers.ArrayPool<byte>.Shared.Rent(Size);
            var b = System.Buffers.ArrayPool<byte>.Shared.Rent(Size);
            Task<int>? pending = null;
            try
            {
                long left = count;
                run.InFlight = 0;
                pending = left > 0 ? ReadFullAsync(run.Reader, a, (int)Math.Min(Size, left), ct) : null;
                while (pending != null)
                {
                    int n = await pending.ConfigureAwait(false);
                    pending = null;
                    if (n <= 0) throw Fail.InvalidData("ArchiveCorrupt", $"The archive ends inside '{item}'.", item);
                    left -= n;
                    pending = left > 0 ? ReadFullAsync(run.Reader, b, (int)Math.Min(Size, left), ct) : null;
                    // Three things at once: the next block downloads, this one is hashed and written.
                    var block = a;
                    var hashing = Task.Run(() => sha.TransformBlock(block, 0, n, null, 0));
                    try { fs.Write(a, 0, n); }
                    finally { await hashing.ConfigureAwait(false); }
                    run.InFlight += n;
                    Report(run, item);
                    (a, b) = (b, a);
                }
            }
            finally
            {
                // Never hand a buffer back to the pool while a read may still fill it.
                if (pending != null) { try { await pending.ConfigureAwait(false); } catch (Exception) { } }
                run.InFlight = 0;
                System.Buffers.ArrayPool<byte>.Shared.Return(a);
                System.Buffers.ArrayPool<byte>.Shared.Return(b);
            }
        }

        /// <summary>Reads until <paramref name="count"/> bytes or the end: whole blocks, not the socket's small pieces.</summary>
        private static async Task<int> ReadFullAsync(Stream s, byte[] buffer, int count, CancellationToken ct)
        {
            int got = 0;
            while (got < count)
            {
                int n = await s.ReadAsync(buffer, got, count - got, ct).ConfigureAwait(false);
                if (n <= 0) break;
                got += n;
            }
            return got;
        }

        /// <summary>SHA-256 of the first <paramref name="length"/> bytes of a local file (into <paramref name="into"/>, or a fresh hash returned as hex).</summary>
        private static async Task<string> HashFileAsync(string path, long length, SHA256? into, CancellationToken ct)
        {
            using var own = into == null ? SHA256.Create() : null;
            var sha = into ?? own!;
            var buf = System.Buffers.ArrayPool<byte>.Shared.Rent(1 << 20);
            try
            {
                using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan | FileOptions.Asynchronous);
                long left = length;
                while (left > 0)
                {
                    int n = await fs.ReadAsync(buf, 0, (int)Math.Min(1 << 20, left), ct).ConfigureAwait(false);
                    if (n <= 0) break;
                    sha.TransformBlock(buf, 0, n, null, 0);
                    left -= n;
                }
                if (own == null) return "";
                own.TransformFinalBlock(Array.Empty<byte>(), 0, 0);
                return Hex.Encode(own.Hash!);
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buf);
            }
        }

        private static void TryDelete(string path)
        {
            try { File.Delete(path); } catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { }
        }
    }
}
