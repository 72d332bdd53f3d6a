using System;
using System.Buffers;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Resilience;
using NekkBackup.Core.Sources;
using Polly;

namespace NekkBackup.Core.Folder
{
    /// <summary>
    /// One backup run. Order of work (each step leaves the last good run restorable):
    /// lock → load last manifest + replay journals of interrupted runs → scan sources (stat walk) →
    /// plan → ransomware guard (nothing written yet) → remove deleted files (old versions moved into
    /// objects/) → copy changed files in parallel (to .nekkbackup/partial, hashing; old version moved
    /// into objects/; rename into place; journal line) → manifest (temp, fsync, rename) → retention.
    /// </summary>
    internal sealed class BackupRunner
    {
        private const int ChangedRetries = 3;
        private const int MaxErrorDetails = 1000;

        private readonly FolderBackupOptions _o;
        private readonly FolderRepository _repo;
        private readonly IRunObserver _obs;
        private string _runId;
        private readonly DateTime _startedUtc = DateTime.UtcNow;
        private readonly Stopwatch _sw = Stopwatch.StartNew();
        private readonly ConcurrentQueue<string> _errorDetails = new();
        private readonly ConcurrentDictionary<string, byte> _madeDirs;
        private long _filesScanned, _filesCopied, _filesVersioned, _filesDeleted, _bytesCopied;
        private int _errors;
        private long _partialSeq;
        private RunJournal? _journal;
        private ProgressMeter _progress = null!;
        private NekkBackupException? _fatal;
        private string? _snapshotUsed;

        internal sealed class SourceItem
        {
            public string Path = "";      // recorded: "<name>/rel"
            public string FullPath = "";  // where to read it
            public long Size;
            public long MTime;
            public int? Attributes;
            public string? Link;
            public bool LinkIsDir;
            public bool IsDir;
            /// <summary>A link followed to its file (FollowSymlinks): size and time are the target's.</summary>
            public bool Followed;
        }

        private enum OpKind { Copy, Verify, Link }

        private sealed class Op
        {
            public OpKind Kind;
            public SourceItem Item = null!;
            public ManifestEntry? Cur;
            public ManifestEntry? Result;
        }

        public BackupRunner(FolderBackupOptions o, IRunObserver obs, string runId)
        {
            _o = o;
            _repo = new FolderRepository(o.Destination);
            _obs = obs;
            _runId = runId;
            // Every recorded-path and mirror-path set follows one identity rule (W7: case-insensitive on Windows).
            _identity = o.PathIdentity ?? PathIdentity.Platform;
            _paths = _identity.Comparer;
            _madeDirs = new ConcurrentDictionary<string, byte>(_paths);
            _touchedDirs = new ConcurrentDictionary<string, byte>(_paths);
            // Transient faults (a NAS share dropping out) are retried with backoff; permanent ones are not.
            _retry = NekkResilience.ForFileShare(null, obs);
        }

        private readonly ResiliencePipeline _retry;
        private readonly PathIdentity _identity;
        private readonly StringComparer _paths;

        /// <summary>The destination cannot be written at all: read-only (EROFS / ERROR_WRITE_PROTECT), denied, or another I/O fault.</summary>
        private NekkBackupException DestinationSetupError(Exception ex)
        {
            int code = ex.HResult & 0xFFFF;
            bool readOnly = OperatingSystemInfo.IsWindows ? code == 19 : (ex is IOException && code == 30);
            if (readOnly)
                return new NekkBackupException("DestinationReadOnly", FailureKind.PermissionDenied,
                    $"The destination '{_repo.Destination}' is read-only ({ex.Message}); nothing was written.", _repo.Destination, ex);
            if (ex is UnauthorizedAccessException)
                return new NekkBackupException("AccessDenied", FailureKind.PermissionDenied,
                    $"NekkBackup may not write to the destination '{_repo.Destination}': {ex.Message}", _repo.Destination, ex);
            return Fail.FromIo(ex, _repo.Destination);
        }

        public static string NewRunId() =>
            DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmssfff'Z'", System.Globalization.CultureInfo.InvariantCulture)
            + "-" + Guid.NewGuid().ToString("N").Substring(0, 6);

        private static string SourceName(string source) =>
            Path.GetFileName(Path.GetFullPath(source).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));

        public async Task<FolderBackupRun> RunAsync(CancellationToken ct)
        {
            DestinationLock lease;
            try
            {
                if (!Directory.Exists(_repo.Destination)) Directory.CreateDirectory(_repo.Destination);
                lease = DestinationLock.Acquire(_repo);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                throw DestinationSetupError(ex);
            }
            using var _ = lease;
            try { _repo.EnsureFormat(); }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                throw DestinationSetupError(ex);
            }
            _progress = new ProgressMeter(_obs, "Backup-NekkFolder " + _repo.Destination) { Phase = "Scanning" };

            var last = LoadLastReadable();
            // Run ids order the catalog (and which journals a manifest supersedes): never let a clock
            // step make a new run sort before the last run or an interrupted one.
            var pending = RunJournal.Pending(_repo, last?.RunId);
            var newest = pending.Select(Path.GetFileNameWithoutExtension).Concat(last != null ? new[] { last.RunId } : Array.Empty<string>())
                .OrderBy(x => x, StringComparer.Ordinal).LastOrDefault();
            if (newest != null && string.CompareOrdinal(_runId, newest) <= 0)
            {
                _obs.Message(RunMessageLevel.Warning, $"The clock is behind an earlier run ({newest}); this run is recorded after it.");
                _runId = newest + "-" + Guid.NewGuid().ToString("N").Substring(0, 4);
            }
            _repo.CleanTempFiles();
            var lastMap = new Dictionary<string, ManifestEntry>(_paths);
            if (last != null) foreach (var e in last.Entries) lastMap[e.Path] = e;
            var state = new Dictionary<string, ManifestEntry>(lastMap, _paths);
            foreach (var j in pending)
            {
                int n = RunJournal.Replay(j, state);
                _obs.Message(RunMessageLevel.Warning, $"Resuming after an interrupted run ({Path.GetFileNameWithoutExtension(j)}): {n} item(s) had already landed.");
            }

            var names = _o.Sources.Select(SourceName).ToArray();
            var nameSet = new HashSet<string>(names, _paths);
            var views = new List<SourceView>();
            try
            {
                foreach (var s in _o.Sources)
                    views.Add(await _o.SourceResolver.OpenAsync(Path.GetFullPath(s), ct).ConfigureAwait(false));
                var snaps = views.Select(v => v.SnapshotId).Where(x => !string.IsNullOrEmpty(x)).ToArray();
                _snapshotUsed = snaps.Length > 0 ? string.Join(", ", snaps) : null;

                // 1. Scan (a stat walk).
                var items = new List<SourceItem>();
                for (int i = 0; i < views.Count; i++)
                    Scan(views[i].ReadPath, names[i], items, ct);
                _filesScanned = items.Count(x => !x.IsDir);
                if (ct.IsCancellationRequested) return Finish("Cancelled", "The run was cancelled.");

                // 2. Plan against the current mirror state.
                var seen = new HashSet<string>(_paths);
                var ops = new List<Op>();
                var dirOps = new List<Op>();
                foreach (var it in items)
                {
                    if (!seen.Add(it.Path))
                    {
                        // Two source names that are one name on the destination (a case-sensitive folder on Windows).
                        ItemFailed(it.FullPath, new NekkBackupException("NameConflict", FailureKind.InvalidData,
                            $"'{it.FullPath}' differs from another item only in letter case; the destination can hold only one of them, so it is skipped.", it.FullPath));
                        continue;
                    }
                    state.TryGetValue(it.Path, out var cur);
                    if (it.IsDir)
                    {
                        if (cur == null || !cur.IsDir) dirOps.Add(new Op { Item = it, Cur = cur });
                        else if (cur.MTime != it.MTime) _touchedDirs.TryAdd(_repo.MirrorPath(it.Path), 0);
                        continue;
                    }
                    if (it.Link != null)
                    {
                        if (cur == null || cur.Link != it.Link) ops.Add(new Op { Kind = OpKind.Link, Item = it, Cur = cur });
                        continue;
                    }
                    if (cur != null && !cur.IsLink && cur.Size == it.Size)
                    {
                        if (_o.Checksum) { ops.Add(new Op { Kind = OpKind.Verify, Item = it, Cur = cur }); continue; }
                        if (cur.MTime == it.MTime) continue; // unchanged
                    }
                    ops.Add(new Op { Kind = OpKind.Copy, Item = it, Cur = cur });
                }
                var deletions = state.Keys.Where(p => !seen.Contains(p) && nameSet.Contains(TopName(p)) && !UnderUnreadable(p)).OrderByDescending(p => p, StringComparer.Ordinal).ToList();

                // 3. Ransomware guard, before anything is written.
                if (last != null && !_o.Force)
                {
                    var refusal = Guard(items, lastMap, nameSet, ct);
                    // The refusal is told once: by the run's Status/Reason, the cmdlet's BackupRefused error and the log's summary.
                    if (refusal != null) return Finish("Refused", refusal);
                }
                if (ct.IsCancellationRequested) return Finish("Cancelled", "The run was cancelled.");

                // 4. Write.
                Directory.CreateDirectory(_repo.PartialDir);
                CleanPartials();
                _journal = RunJournal.Create(_repo, _runId);
                try
                {
                    _progress.Phase = "Removing deleted files";
                    foreach (var p in deletions)
                    {
                        if (ct.IsCancellationRequested) break;
                        try
                        {
                            var cur = state[p];
                            Displace(cur, true);
                            _journal.Removed(p);
                            state.Remove(p);
                            Interlocked.Increment(ref _filesDeleted);
                            Touch(_repo.MirrorPath(p));
                            if (!cur.IsDir) PruneEmptyParents(_repo.MirrorPath(p), seen);
                        }
                        catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is NekkBackupException)
                        {
                            var nex = Fail.FromIo(ex, _repo.MirrorPath(p));
                            if (nex.ErrorId == "NekkBackup.DestinationFull") { _fatal = DestinationFull(p, ex); break; }
                            ItemFailed(_repo.MirrorPath(p), nex);
                        }
                    }

                    if (_fatal == null && !ct.IsCancellationRequested)
                        MakeDirs(dirOps, state);
                    if (_fatal == null && !ct.IsCancellationRequested)
                    {
                        _progress.Phase = "Copying";
                        _progress.ItemsTotal = ops.Count;
                        _progress.BytesTotal = ops.Where(x => x.Kind != OpKind.Link).Sum(x => x.Item.Size);
                        await RunOpsAsync(ops, ct).ConfigureAwait(false);
                    }
                }
                finally
                {
                    _journal.Dispose();
                }

                if (_fatal != null)
                {
                    CleanPartials();
                    var run = Finish("Failed", _fatal.Message);
                    throw new FolderBackupException(_fatal, run);
                }
                if (ct.IsCancellationRequested)
                {
                    CleanPartials();
                    return Finish("Cancelled", "The run was cancelled; files that landed are kept and the next run resumes from them.");
                }

                // 5. Folder times (after everything inside them landed), then the manifest: the commit point.
                foreach (var op in ops)
                    if (op.Result != null) state[op.Item.Path] = op.Result;
                SetDirTimes(items, state);
                // Everything still in the state: current files, failed items' previous versions,
                // items under folders that could not be read, other sources' entries.
                var entries = state.Values.OrderBy(e => e.Path, StringComparer.Ordinal).ToList();
                var status = _errors > 0 ? "CompletedWithErrors" : "Succeeded";
                var manifest = new RunManifest
                {
                    RunId = _runId,
                    StartedUtc = _startedUtc,
                    FinishedUtc = DateTime.UtcNow,
                    Sources = _o.Sources.Select(Path.GetFullPath).ToArray(),
                    SourceNames = names,
                    SnapshotUsed = _snapshotUsed,
                    Status = status,
                    FilesScanned = _filesScanned,
                    FilesCopied = _filesCopied,
                    FilesVersioned = _filesVersioned,
                    FilesDeleted = _filesDeleted,
                    BytesCopied = _bytesCopied,
                    Errors = _errors,
                    Host = OperatingSystemInfo.HostName,
                    Entries = entries,
                };
                try
                {
                    _repo.WriteManifest(manifest);
                }
                catch (IOException ex)
                {
                    var nex = Fail.FromIo(ex, _repo.ManifestPath(_runId));
                    if (nex.ErrorId == "NekkBackup.DestinationFull") nex = DestinationFull(_repo.ManifestPath(_runId), ex);
                    CleanPartials();
                    throw new FolderBackupException(nex, Finish("Failed", nex.Message));
                }

                // The manifest supersedes this run's journal and any older one.
                foreach (var j in RunJournal.Superseded(_repo, _runId)) TryDelete(j);
                CleanPartials();
                if (_o.Retention != null) ApplyRetention(_o.Retention);
                return Finish(status, null);
            }
            finally
            {
                foreach (var v in views) v.Dispose();
            }
        }

        private readonly List<string> _unreadable = new();

        /// <summary>True when a folder on the way to <paramref name="recorded"/> could not be listed (its files are kept, not deleted).</summary>
        private bool UnderUnreadable(string recorded)
        {
            foreach (var u in _unreadable)
                if (_identity.IsSameOrInside(recorded, u, '/')) return true;
            return false;
        }

        /// <summary>The newest manifest that reads; a damaged newer one is reported and skipped (Test names it).</summary>
        private RunManifest? LoadLastReadable()
        {
            var ids = _repo.ListRunIds();
            for (int i = ids.Count - 1; i >= 0; i--)
            {
                try { return _repo.LoadManifest(ids[i]); }
                catch (NekkBackupException ex) when (ex.ErrorId == "NekkBackup.CorruptCatalog")
                {
                    _obs.Message(RunMessageLevel.Warning, ex.Message + " Comparing with the run before it; Test-NekkFolderBackup reports the damage.");
                }
            }
            return null;
        }

        private static string TopName(string recorded)
        {
            int i = recorded.IndexOf('/');
            return i < 0 ? recorded : recorded.Substring(0, i);
        }

        private FolderBackupRun Finish(string status, string? reason)
        {
            _progress?.Report(null, true);
            return FinishRecord(status, reason);
        }

        private FolderBackupRun FinishRecord(string status, string? reason) => new()
        {
            RunId = _runId,
            Source = _o.Sources.Select(Path.GetFullPath).ToArray(),
            Destination = _repo.Destination,
            Started = _startedUtc.ToLocalTime(),
            Duration = _sw.Elapsed,
            FilesScanned = _filesScanned,
            FilesCopied = _filesCopied,
            FilesVersioned = _filesVersioned,
            FilesDeleted = _filesDeleted,
            BytesCopied = _bytesCopied,
            Errors = _errors,
            SnapshotUsed = _snapshotUsed,
            Status = status,
            Reason = reason,
            ErrorDetails = _errorDetails.ToArray(),
        };

        private void ItemFailed(string item, NekkBackupException ex)
        {
            if (Interlocked.Increment(ref _errors) <= MaxErrorDetails)
                _errorDetails.Enqueue($"{ex.ErrorId}: {item}: {ex.Message}");
            try { _obs.ItemFailed(item, ex); } catch (Exception) { }
        }

        // ---------------------------------------------------------------- scan

        private void Scan(string root, string name, List<SourceItem> items, CancellationToken ct)
        {
            var include = new GlobSet(_o.Include);
            var exclude = new GlobSet(_o.Exclude);
            var visited = new HashSet<string>(_paths);
            var stack = new Stack<(string Dir, string Rel)>();
            stack.Push((root, ""));
            visited.Add(Path.GetFullPath(root));
            while (stack.Count > 0)
            {
                if (ct.IsCancellationRequested) return;
                var (dir, relDir) = stack.Pop();
                IEnumerable<FileSystemInfo> entries;
                try
                {
                    entries = new DirectoryInfo(dir).EnumerateFileSystemInfos().ToList();
                }
                catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
                {
                    ItemFailed(dir, Fail.FromIo(ex, dir));
                    _unreadable.Add(relDir.Length == 0 ? name : name + "/" + relDir);
                    continue;
                }
                _progress.Tick(dir);
                foreach (var info in entries)
                {
                    var rel = relDir.Length == 0 ? info.Name : relDir + "/" + info.Name;
                    if (exclude.Matches(rel)) continue;
                    // The btrfs provider keeps its snapshots in .nekk-snapshots/ at the file system's root:
                    // never back up snapshots of the source into the backup of the source.
                    if (relDir.Length == 0 && info is DirectoryInfo && info.Name == Snapshots.BtrfsSnapshotProvider.SnapshotDirName) continue;
                    string? link;
                    try { link = FileOps.LinkTarget(info); }
                    catch (IOException) { link = null; }
                    bool isDir = info is DirectoryInfo;
                    if (link != null && !_o.FollowSymlinks)
                    {
                        if (!include.IsEmpty && !include.Matches(rel)) continue;
                        items.Add(new SourceItem { Path = name + "/" + rel, FullPath = info.FullName, Link = link, LinkIsDir = isDir, MTime = SafeMTime(info) });
                        continue;
                    }
                    if (isDir)
                    {
                        if (include.IsEmpty)
                            items.Add(new SourceItem { Path = name + "/" + rel, FullPath = info.FullName, IsDir = true, MTime = SafeMTime(info) });
                        if (link != null)
                        {
                            // Following: guard against loops through the resolved target.
                            string real;
                            try { real = ResolveReal(info); }
                            catch (Exception) { continue; }
                            if (!visited.Add(real)) continue;
                        }
                        stack.Push((info.FullName, rel));
                        continue;
                    }
                    if (!include.IsEmpty && !include.Matches(rel)) continue;
                    var fi = (FileInfo)info;
                    try
                    {
                        if (link != null)
                        {
                            fi = new FileInfo(ResolveReal(fi));
                            if (!fi.Exists) { ItemFailed(info.FullName, Fail.NotFound("ItemVanished", $"The link '{info.FullName}' points to nothing.", info.FullName)); continue; }
                        }
                        items.Add(new SourceItem { Path = name + "/" + rel, FullPath = info.FullName, Size = fi.Length, MTime = fi.LastWriteTimeUtc.Ticks, Attributes = FileOps.KeptAttributesOf(fi), Followed = link != null });
                    }
                    catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
                    {
                        ItemFailed(info.FullName, Fail.FromIo(ex, info.FullName));
                        _unreadable.Add(name + "/" + rel);
                    }
                }
            }
        }

        private static long SafeMTime(FileSystemInfo i)
        {
            try { return i.LastWriteTimeUtc.Ticks; } catch (Exception) { return 0; }
        }

        private static FileInfo StatSource(SourceItem it)
        {
            var fi = new FileInfo(it.FullPath);
            if (!it.Followed) return fi;
            try { return new FileInfo(ResolveReal(fi)); }
            catch (IOException) { return fi; }
        }

        private static string ResolveReal(FileSystemInfo info)
        {
#if NET
            return info.ResolveLinkTarget(true)?.FullName ?? info.FullName;
#else
            return info.FullName;
#endif
        }

        // ---------------------------------------------------------------- guard

        private string? Guard(List<SourceItem> items, Dictionary<string, ManifestEntry> lastMap, HashSet<string> nameSet, CancellationToken ct)
        {
            int lastCount = lastMap.Values.Count(e => !e.IsDir && nameSet.Contains(TopName(e.Path)));
            if (lastCount == 0) return null;
            var replaced = new List<(SourceItem Item, ManifestEntry Old)>();
            var present = new HashSet<string>(_paths);
            foreach (var it in items)
            {
                present.Add(it.Path);
                if (!lastMap.TryGetValue(it.Path, out var old)) continue;
                if (it.IsDir || old.IsDir) continue;
                bool differs = it.Link != null ? old.Link != it.Link : (old.IsLink || old.Size != it.Size || old.MTime != it.MTime);
                if (differs) replaced.Add((it, old));
            }
            int deleted = lastMap.Values.Count(e => !e.IsDir && nameSet.Contains(TopName(e.Path)) && !present.Contains(e.Path));
            double pct = 100.0 * (replaced.Count + deleted) / lastCount;
            if (pct > _o.MaxChangedPercent)
                return $"{replaced.Count} replaced and {deleted} deleted file(s) are {pct:0.#} % of the {lastCount} files in the last run ({lastMap.Count}), more than MaxChangedPercent {_o.MaxChangedPercent:0.#} %. Check the source for ransomware or mass deletion; -Force lets one run through.";

            // Entropy: did compressible files turn into noise?
            int compressible = 0, suspicious = 0;
            var examples = new ConcurrentQueue<string>();
            var po = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, _o.ThrottleLimit), CancellationToken = ct };
            try
            {
                Parallel.ForEach(replaced.Where(r => r.Item.Link == null && !r.Old.IsLink), po, r =>
                {
                    string? oldPath = null;
                    var mirror = _repo.MirrorPath(r.Old.Path);
                    var mf = new FileInfo(mirror);
                    if (mf.Exists && mf.Length == r.Old.Size && mf.LastWriteTimeUtc.Ticks == r.Old.MTime) oldPath = mirror;
                    else if (r.Old.Hash != null && File.Exists(_repo.ObjectPath(r.Old.Hash))) oldPath = _repo.ObjectPath(r.Old.Hash);
                    if (oldPath == null) return;
                    var before = EntropyProbe.Ratio(oldPath);
                    if (before == null || before >= EntropyProbe.CompressibleRatio) return;
                    Interlocked.Increment(ref compressible);
                    var after = EntropyProbe.Ratio(r.Item.FullPath);
                    if (after != null && after >= EntropyProbe.IncompressibleRatio)
                    {
                        Interlocked.Increment(ref suspicious);
                        if (examples.Count < 3) examples.Enqueue(r.Item.Path);
                    }
                });
            }
            catch (OperationCanceledException) { return null; }
            _obs.Message(RunMessageLevel.Verbose, $"Ransomware guard: {replaced.Count} replaced, {deleted} deleted of {lastCount}; {suspicious} of {compressible} compressible replaced files now look encrypted.");
            if (suspicious >= EntropyProbe.MinSuspicious && suspicious >= EntropyProbe.SuspiciousShare * compressible)
                return $"{suspicious} of {compressible} replaced files that used to compress well no longer compress (they look encrypted), e.g. {string.Join(", ", examples)}. Check the source for ransomware; -Force lets one run through.";
            return null;
        }

        // ---------------------------------------------------------------- copy

        private async Task RunOpsAsync(List<Op> ops, CancellationToken ct)
        {
            if (ops.Count == 0) return;
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var queue = new ConcurrentQueue<Op>(ops.OrderByDescending(o => o.Item.Size));
            int workers = Math.Max(1, Math.Min(_o.ThrottleLimit, ops.Count));
            var tasks = new Task[workers];
            for (int i = 0; i < workers; i++)
                tasks[i] = Task.Factory.StartNew(() => Worker(queue, cts), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }

        private void Worker(ConcurrentQueue<Op> queue, CancellationTokenSource cts)
        {
            var buffer = ArrayPool<byte>.Shared.Rent(FileOps.BufferSize);
            try
            {
                while (!cts.IsCancellationRequested && queue.TryDequeue(out var op))
                {
                    try
                    {
                        _retry.Execute(token =>
                        {
                            switch (op.Kind)
                            {
                                case OpKind.Link: DoLink(op); break;
                                case OpKind.Verify: DoVerify(op, buffer, token); break;
                                default: DoCopy(op, buffer, token); break;
                            }
                        }, cts.Token);
                    }
                    catch (OperationCanceledException) { break; }
                    catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is NekkBackupException)
                    {
                        var nex = Fail.FromIo(ex, op.Item.FullPath);
                        if (nex.ErrorId == "NekkBackup.DestinationFull")
                        {
                            nex = DestinationFull(op.Item.FullPath, ex);
                            lock (this) _fatal ??= nex;
                            cts.Cancel();
                            break;
                        }
                        ItemFailed(op.Item.FullPath, nex);
                    }
                    _progress.ItemDone(op.Item.Path);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        private void DoLink(Op op)
        {
            var mirror = _repo.MirrorPath(op.Item.Path);
            EnsureParent(mirror);
            if (op.Cur != null) Displace(op.Cur, true);
            FileOps.DeleteItem(mirror);
            try
            {
                FileOps.CreateSymlink(mirror, op.Item.Link!, op.Item.LinkIsDir);
                Touch(mirror);
            }
            catch (IOException ex)
            {
                throw ClassifyDest(ex, mirror);
            }
            var e = new ManifestEntry { Path = op.Item.Path, Size = 0, MTime = op.Item.MTime, Link = op.Item.Link };
            _journal!.Landed(e);
            op.Result = e;
            Interlocked.Increment(ref _filesCopied);
        }

        private void DoVerify(Op op, byte[] buffer, CancellationToken ct)
        {
            var (hash, len) = HashUtil.HashFile(op.Item.FullPath, buffer, ct, n => _progress.AddBytes(n));
            if (hash == op.Cur!.Hash && len == op.Cur.Size)
            {
                if (op.Cur.MTime != op.Item.MTime)
                {
                    var mirror = _repo.MirrorPath(op.Item.Path);
                    var mf = new FileInfo(mirror);
                    if (!mf.Exists || mf.Length != op.Cur.Size) { DoCopy(op, buffer, ct); return; }
                    FileOps.SetMTime(mirror, op.Item.MTime);
                    var e = op.Cur.Clone();
                    e.MTime = op.Item.MTime;
                    _journal!.Landed(e);
                    op.Result = e;
                }
                return;
            }
            DoCopy(op, buffer, ct);
        }

        private void DoCopy(Op op, byte[] buffer, CancellationToken ct)
        {
            var it = op.Item;
            long size = it.Size, mtime = it.MTime;
            string? partial = null;
            string hash = "";
            long copied = 0;
            bool ok = false;
            for (int attempt = 0; attempt <= ChangedRetries && !ok; attempt++)
            {
                ct.ThrowIfCancellationRequested();
                if (attempt > 0)
                {
                    Thread.Sleep(20 * attempt);
                    var fresh = StatSource(it);
                    if (!fresh.Exists) throw Fail.NotFound("ItemVanished", $"'{it.FullPath}' disappeared while it was being copied.", it.FullPath);
                    size = fresh.Length;
                    mtime = fresh.LastWriteTimeUtc.Ticks;
                }
                partial = Path.Combine(_repo.PartialDir, _runId + "-" + Interlocked.Increment(ref _partialSeq).ToString(System.Globalization.CultureInfo.InvariantCulture) + ".nekk-partial");
                try
                {
                    (hash, copied) = CopyToPartial(it.FullPath, partial, size, buffer, ct);
                    FileOps.SetMTime(partial, mtime);
                    FileOps.ApplyAttributes(partial, it.Attributes, includeReadOnly: false);
                    var after = StatSource(it);
                    ok = after.Exists && after.Length == size && after.LastWriteTimeUtc.Ticks == mtime && copied == size;
                }
                catch
                {
                    TryDelete(partial);
                    throw;
                }
                if (!ok) TryDelete(partial);
            }
            if (!ok)
                throw new NekkBackupException("FileChangedDuringCopy", FailureKind.ReadError,
                    $"'{it.FullPath}' kept changing while it was copied ({ChangedRetries + 1} attempts); the previous version stays in the backup.", it.FullPath);

            var mirror = _repo.MirrorPath(it.Path);
            try
            {
                EnsureParent(mirror);
                if (op.Cur != null) Displace(op.Cur, false);
                else
                {
                    // Something not in the catalog at that name (a link, an unrecorded leftover): replace it.
                    var di = new DirectoryInfo(mirror);
                    if (di.Exists && FileOps.IsLink(di)) Directory.Delete(mirror);
                }
                FileOps.ClearReadOnly(mirror);
                AtomicFile.MoveOverwrite(partial!, mirror);
                Touch(mirror);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                TryDelete(partial!);
                throw ClassifyDest(ex, mirror);
            }
            var e = new ManifestEntry { Path = it.Path, Size = size, MTime = mtime, Hash = hash, Attributes = it.Attributes };
            _journal!.Landed(e);
            op.Result = e;
            Interlocked.Increment(ref _filesCopied);
            Interlocked.Add(ref _bytesCopied, copied);
        }

        private NekkBackupException DestinationFull(string item, Exception ex) =>
            new("DestinationFull", FailureKind.LimitsExceeded,
                $"The destination '{_repo.Destination}' is full (no space left while copying '{item}'). Nothing of the last good run was lost and no partial files are left; free space or apply retention, then run again — files that already landed are not copied again.",
                _repo.Destination, ex);

        private static NekkBackupException ClassifyDest(Exception ex, string path)
        {
            var n = Fail.FromIo(ex, path);
            // ntfs-3g (windows_names) and Windows refuse names with EINVAL / ERROR_INVALID_NAME.
            return n;
        }

        /// <summary>Streams the source into a new partial file, hashing as it goes, keeping holes.</summary>
        private (string Hash, long Length) CopyToPartial(string source, string partial, long expected, byte[] buffer, CancellationToken ct)
        {
            using var sha = SHA256.Create();
            long total = 0;
            try
            {
                using var dst = new FileStream(partial, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1);
                if (expected > 0)
                {
                    using var src = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan);
                    int n;
                    while ((n = src.Read(buffer, 0, FileOps.BufferSize)) > 0)
                    {
                        ct.ThrowIfCancellationRequested();
                        sha.TransformBlock(buffer, 0, n, null, 0);
                        try { FileOps.WriteSparse(dst, buffer, n); }
                        catch (IOException ex) { throw Fail.FromIo(ex, partial); }
                        total += n;
                        _progress.AddBytes(n);
                        if (total > expected + (64L << 20)) break; // growing under us: the post-check fails it
                    }
                    try { dst.SetLength(total); }
                    catch (IOException ex) { throw Fail.FromIo(ex, partial); }
                }
            }
            catch (IOException ex) when (Fail.IsDiskFull(ex))
            {
                throw Fail.FromIo(ex, partial);
            }
            sha.TransformFinalBlock(buffer, 0, 0);
            return (HashUtil.ToHex(sha.Hash!), total);
        }

        private void EnsureParent(string path)
        {
            var dir = Path.GetDirectoryName(path)!;
            if (_madeDirs.ContainsKey(dir)) return;
            if (File.Exists(dir))
            {
                // A file became a folder: its old version goes to history first (it is no longer in the source).
                throw new IOException($"'{dir}' is a file in the mirror");
            }
            Directory.CreateDirectory(dir);
            _madeDirs.TryAdd(dir, 0);
        }

        /// <summary>
        /// Keeps the version the catalog says is in the mirror before it is replaced or removed:
        /// renamed into objects/&lt;hash&gt; unless already there. A mirror file that no longer matches
        /// its record (size+mtime) is hashed; if it is some other content it is still kept, under its
        /// own hash, so nothing is lost.
        /// </summary>
        private void Displace(ManifestEntry cur, bool removing)
        {
            var mirror = _repo.MirrorPath(cur.Path);
            if (cur.IsDir)
            {
                var d = new DirectoryInfo(mirror);
                if (d.Exists && FileOps.LinkTarget(d) == null && !Directory.EnumerateFileSystemEntries(mirror).Any()) Directory.Delete(mirror);
                else if (d.Exists && FileOps.LinkTarget(d) == null)
                    _obs.Message(RunMessageLevel.Warning, $"The folder '{mirror}' is gone from the source but still holds files NekkBackup did not record; it is left in the mirror.");
                return;
            }
            var fi = new FileInfo(mirror);
            if (cur.IsLink || !fi.Exists || FileOps.LinkTarget(fi) != null)
            {
                if (removing || cur.IsLink) FileOps.DeleteItem(mirror);
                return;
            }
            string hash = cur.Hash!;
            var obj = _repo.ObjectPath(hash);
            if (File.Exists(obj))
            {
                if (removing) { FileOps.ClearReadOnly(mirror); File.Delete(mirror); }
                return;
            }
            if (fi.Length != cur.Size || fi.LastWriteTimeUtc.Ticks != cur.MTime)
            {
                var buf = ArrayPool<byte>.Shared.Rent(FileOps.BufferSize);
                try { hash = HashUtil.HashFile(mirror, buf, CancellationToken.None).Hash; }
                finally { ArrayPool<byte>.Shared.Return(buf); }
                if (hash != cur.Hash)
                    _obs.Message(RunMessageLevel.Warning, $"The mirror file '{mirror}' was changed outside NekkBackup; its content is kept in history as {hash}.");
                obj = _repo.ObjectPath(hash);
                if (File.Exists(obj))
                {
                    if (removing) { FileOps.ClearReadOnly(mirror); File.Delete(mirror); }
                    return;
                }
            }
            Directory.CreateDirectory(Path.GetDirectoryName(obj)!);
            File.Move(mirror, obj);
            Interlocked.Increment(ref _filesVersioned);
        }

        private readonly ConcurrentDictionary<string, byte> _touchedDirs;

        /// <summary>Notes that something inside the folder of <paramref name="path"/> changed (its time is set again at the end).</summary>
        private void Touch(string path)
        {
            var dir = Path.GetDirectoryName(path);
            if (dir != null) _touchedDirs.TryAdd(dir, 0);
        }

        /// <summary>Creates folders that are new in the source (sequentially, parents first).</summary>
        private void MakeDirs(List<Op> dirOps, Dictionary<string, ManifestEntry> state)
        {
            foreach (var op in dirOps.OrderBy(o => o.Item.Path, StringComparer.Ordinal))
            {
                var mirror = _repo.MirrorPath(op.Item.Path);
                try
                {
                    if (op.Cur != null) Displace(op.Cur, true);
                    Directory.CreateDirectory(mirror);
                    _madeDirs.TryAdd(mirror, 0);
                    var e = new ManifestEntry { Path = op.Item.Path, MTime = op.Item.MTime, Kind = "d" };
                    _journal!.Landed(e);
                    state[op.Item.Path] = e;
                    _touchedDirs.TryAdd(mirror, 0);
                    Touch(mirror);
                }
                catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is NekkBackupException)
                {
                    var nex = Fail.FromIo(ex, mirror);
                    if (nex.ErrorId == "NekkBackup.DestinationFull") { _fatal = DestinationFull(op.Item.FullPath, ex); return; }
                    ItemFailed(op.Item.FullPath, nex);
                }
            }
        }

        /// <summary>Gives changed mirror folders the source's times, deepest first, and records them.</summary>
        private void SetDirTimes(List<SourceItem> items, Dictionary<string, ManifestEntry> state)
        {
            if (_touchedDirs.IsEmpty) return;
            foreach (var it in items.Where(i => i.IsDir).OrderByDescending(i => i.Path.Length))
            {
                if (!state.TryGetValue(it.Path, out var e) || !e.IsDir) continue;
                var mirror = _repo.MirrorPath(it.Path);
                if (!_touchedDirs.ContainsKey(mirror)) continue;
                try
                {
                    Directory.SetLastWriteTimeUtc(mirror, new DateTime(it.MTime, DateTimeKind.Utc));
                    if (e.MTime != it.MTime) state[it.Path] = new ManifestEntry { Path = it.Path, MTime = it.MTime, Kind = "d" };
                }
                catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { }
            }
        }

        private void PruneEmptyParents(string path, HashSet<string> seen)
        {
            var stop = _repo.Destination.TrimEnd(Path.DirectorySeparatorChar);
            var dir = Path.GetDirectoryName(path);
            while (dir != null && dir.Length > stop.Length && dir.StartsWith(stop, StringComparison.Ordinal))
            {
                var rel = dir.Substring(stop.Length + 1).Replace(Path.DirectorySeparatorChar, '/');
                if (rel.IndexOf('/') < 0 || seen.Contains(rel)) return; // a source root, or a folder the source still has
                Touch(dir);
                try
                {
                    if (Directory.EnumerateFileSystemEntries(dir).Any()) return;
                    Directory.Delete(dir);
                    _madeDirs.TryRemove(dir, out _);
                }
                catch (IOException) { return; }
                catch (UnauthorizedAccessException) { return; }
                dir = Path.GetDirectoryName(dir);
            }
        }

        private void CleanPartials()
        {
            try
            {
                if (!Directory.Exists(_repo.PartialDir)) return;
                foreach (var f in Directory.EnumerateFiles(_repo.PartialDir)) TryDelete(f);
            }
            catch (IOException) { }
        }

        private static void TryDelete(string? path)
        {
            if (path == null) return;
            try { File.Delete(path); } catch (Exception) { }
        }

        // ---------------------------------------------------------------- retention

        private void ApplyRetention(RetentionPolicy policy)
        {
            try
            {
                var ids = _repo.ListRunIds();
                var runs = ids.Select(id => (id, _repo.LoadHeader(id).StartedUtc.ToLocalTime())).ToList();
                var keep = Retention.Keep(runs, policy);
                var drop = ids.Where(id => !keep.Contains(id)).ToList();
                if (drop.Count == 0) return;
                foreach (var id in drop)
                {
                    File.Delete(_repo.ManifestPath(id));
                    _obs.Message(RunMessageLevel.Verbose, $"Retention: dropped run {id}.");
                }
                var referenced = new HashSet<string>(StringComparer.Ordinal);
                foreach (var id in keep)
                    foreach (var e in _repo.LoadManifest(id).Entries)
                        if (e.Hash != null) referenced.Add(e.Hash);
                int removed = 0;
                if (Directory.Exists(_repo.ObjectsDir))
                    foreach (var f in Directory.EnumerateFiles(_repo.ObjectsDir, "*", SearchOption.AllDirectories).ToList())
                        if (!referenced.Contains(Path.GetFileName(f))) { TryDelete(f); removed++; }
                _obs.Message(RunMessageLevel.Verbose, $"Retention: kept {keep.Count} run(s), dropped {drop.Count}, removed {removed} history object(s).");
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is NekkBackupException)
            {
                _obs.Message(RunMessageLevel.Warning, "Retention could not finish: " + ex.Message);
            }
        }
    }
}
