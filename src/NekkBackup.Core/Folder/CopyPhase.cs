using System;
using System.Buffers;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Primitives;
using NekkBackup.Core.Resilience;
using NekkBackup.Core.Validation;
using Polly;

namespace NekkBackup.Core.Folder
{
    /// <summary>
    /// Copy: carries out a plan on the mirror. Deleted items first (their versions move into history), then new folders
    /// (parents first), then files and links on parallel workers: each file streams to <c>.nekkbackup/partial/</c>
    /// (hashing, keeping holes), is re-checked against the source, the version it replaces moves into history, and it is
    /// renamed into place; every landed item gets a journal line, so a killed run is resumed without copying it again.
    /// Transient faults of an item (a NAS share dropping out) are retried through the one Polly pipeline. A full
    /// destination or a lost lock stops all workers (<see cref="BackupContext.Fatal"/>).
    /// </summary>
    internal sealed class CopyPhase
    {
        private const int ChangedRetries = 3;

        private readonly BackupContext _ctx;
        private readonly FolderRepository _repo;
        private readonly MirrorWriter _mirror;
        private readonly RunJournal _journal;
        private readonly ResiliencePipeline _retry;
        private long _partialSeq;

        public CopyPhase(BackupContext ctx, MirrorWriter mirror, RunJournal journal)
        {
            _ctx = ctx;
            _repo = ctx.Repo;
            _mirror = mirror;
            _journal = journal;
            _retry = NekkResilience.ForFileShare(null, ctx.Observer);
        }

        public async Task RunAsync(FolderRunPlan plan, Dictionary<string, ManifestEntry> state, CancellationToken ct)
        {
            _ctx.Progress.Phase = "Removing deleted files";
            RemoveDeleted(plan, state, ct);
            if (_ctx.Fatal == null && !ct.IsCancellationRequested) MakeDirs(plan.DirOps, state);
            if (_ctx.Fatal != null || ct.IsCancellationRequested) return;
            _ctx.Progress.Phase = "Copying";
            _ctx.Progress.ItemsTotal = plan.Ops.Count;
            _ctx.Progress.BytesTotal = plan.Ops.Where(x => x.Kind != OpKind.Link).Sum(x => x.Item.Size);
            await RunOpsAsync(plan.Ops, ct).ConfigureAwait(false);
        }

        private bool StopsRun(Exception ex, string item, string where)
        {
            var nex = Fail.FromIo(ex, where);
            if (nex.ErrorId != "NekkBackup.DestinationFull") return false;
            _ctx.SetFatal(_ctx.DestinationFull(item, ex));
            return true;
        }

        private void RemoveDeleted(FolderRunPlan plan, Dictionary<string, ManifestEntry> state, CancellationToken ct)
        {
            foreach (var p in plan.Deletions)
            {
                if (ct.IsCancellationRequested) break;
                var mirror = _repo.MirrorPath(p);
                try
                {
                    var cur = state[p];
                    _mirror.Displace(cur, true);
                    _journal.Removed(p);
                    state.Remove(p);
                    Interlocked.Increment(ref _ctx.FilesDeleted);
                    _mirror.Touch(mirror);
                    if (!cur.IsDir) _mirror.PruneEmptyParents(mirror, plan.Seen);
                }
                catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is NekkBackupException)
                {
                    if (StopsRun(ex, p, mirror)) break;
                    _ctx.ItemFailed(mirror, Fail.FromIo(ex, mirror));
                }
            }
        }

        /// <summary>Creates folders that are new in the source (sequentially, parents first).</summary>
        private void MakeDirs(List<CopyOp> dirOps, Dictionary<string, ManifestEntry> state)
        {
            foreach (var op in dirOps.OrderBy(o => o.Item.Path, StringComparer.Ordinal))
            {
                var mirror = _repo.MirrorPath(op.Item.Path);
                try
                {
                    if (op.Cur != null) _mirror.Displace(op.Cur, true);
                    _repo.Store.EnsureDirectory(mirror, Reasons.MirrorDamaged);
                    _mirror.MadeFolder(mirror);
                    var e = new ManifestEntry { Path = op.Item.Path, MTime = op.Item.MTime, Kind = "d" };
                    _journal.Landed(e);
                    state[op.Item.Path] = e;
                    _mirror.TouchFolder(mirror);
                    _mirror.Touch(mirror);
                }
                catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is NekkBackupException)
                {
                    if (StopsRun(ex, op.Item.FullPath, mirror)) return;
                    _ctx.ItemFailed(op.Item.FullPath, Fail.FromIo(ex, mirror));
                }
            }
        }

        private async Task RunOpsAsync(List<CopyOp> ops, CancellationToken ct)
        {
            if (ops.Count == 0) return;
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var queue = new ConcurrentQueue<CopyOp>(ops.OrderByDescending(o => o.Item.Size));
            int workers = Math.Max(1, Math.Min(_ctx.Options.ThrottleLimit, ops.Count));
            var tasks = new Task[workers];
            for (int i = 0; i < workers; i++)
                tasks[i] = Task.Factory.StartNew(() => Worker(queue, cts), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }

        private void Worker(ConcurrentQueue<CopyOp> queue, CancellationTokenSource cts)
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
                        if (StopsRun(ex, op.Item.FullPath, op.Item.FullPath))
                        {
                            cts.Cancel();
                            break;
                        }
                        _ctx.ItemFailed(op.Item.FullPath, Fail.FromIo(ex, op.Item.FullPath));
                    }
                    _ctx.Progress.ItemDone(op.Item.Path);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        private void DoLink(CopyOp op)
        {
            var mirror = _repo.MirrorPath(op.Item.Path);
            _mirror.EnsureParent(mirror);
            if (op.Cur != null) _mirror.Displace(op.Cur, true);
            FileOps.DeleteItem(mirror);
            try
            {
                FileOps.CreateSymlink(mirror, op.Item.Link!, op.Item.LinkIsDir);
                _mirror.Touch(mirror);
            }
            catch (IOException ex)
            {
                throw Fail.FromIo(ex, mirror);
            }
            Landed(op, new ManifestEntry { Path = op.Item.Path, Size = 0, MTime = op.Item.MTime, Link = op.Item.Link });
            Interlocked.Increment(ref _ctx.FilesCopied);
        }

        /// <summary>Same size (and -Checksum, or another time): hashed; unchanged content only gets its new time.</summary>
        private void DoVerify(CopyOp op, byte[] buffer, CancellationToken ct)
        {
            string hash;
            long len;
            using (var fs = new FileStream(op.Item.FullPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan))
                (hash, len) = Sha256.OfStream(fs, buffer, ct, n => _ctx.Progress.AddBytes(n));
            if (hash == op.Cur!.Hash && len == op.Cur.Size)
            {
                if (op.Cur.MTime != op.Item.MTime)
                {
                    var mirror = _repo.MirrorPath(op.Item.Path);
                    var mf = _repo.Copy(mirror);
                    if (!mf.IsFile || mf.Length != op.Cur.Size) { DoCopy(op, buffer, ct); return; }
                    FileOps.SetMTime(mirror, op.Item.MTime);
                    var e = op.Cur.Clone();
                    e.MTime = op.Item.MTime;
                    Landed(op, e);
                }
                return;
            }
            DoCopy(op, buffer, ct);
        }

        private void DoCopy(CopyOp op, byte[] buffer, CancellationToken ct)
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
                    var fresh = it.Stat();
                    if (!fresh.Exists) throw Fail.NotFound("ItemVanished", $"'{it.FullPath}' disappeared while it was being copied.", it.FullPath);
                    size = fresh.Length;
                    mtime = fresh.LastWriteTimeUtc.Ticks;
                }
                partial = Path.Combine(_repo.PartialDir, _ctx.RunId + "-" + Interlocked.Increment(ref _partialSeq).ToString(CultureInfo.InvariantCulture) + ".nekk-partial");
                try
                {
                    (hash, copied) = CopyToPartial(it.FullPath, partial, size, buffer, ct);
                    _ctx.Options.AfterCopyAttempt?.Invoke(it.FullPath);
                    FileOps.SetMTime(partial, mtime);
                    FileOps.ApplyAttributes(partial, it.Attributes, includeReadOnly: false);
                    var after = it.Stat();
                    ok = after.Exists && after.Length == size && after.LastWriteTimeUtc.Ticks == mtime && copied == size;
                }
                catch
                {
                    FileOps.TryDelete(partial);
                    throw;
                }
                if (!ok) FileOps.TryDelete(partial);
            }
            if (!ok)
                throw new NekkBackupException("FileChangedDuringCopy", FailureKind.ReadError,
                    $"'{it.FullPath}' kept changing while it was copied ({ChangedRetries + 1} attempts); the previous version stays in the backup.", it.FullPath);

            var mirror = _repo.MirrorPath(it.Path);
            try
            {
                _mirror.EnsureParent(mirror);
                if (op.Cur != null) _mirror.Displace(op.Cur, false);
                else
                {
                    // Something not in the catalog at that name (a link, an unrecorded leftover): replace it.
                    var di = new DirectoryInfo(mirror);
                    if (di.Exists && FileLinks.IsLink(di)) Directory.Delete(mirror);
                }
                FileOps.ClearReadOnly(mirror);
                AtomicFile.MoveOverwrite(partial!, mirror);
                _mirror.Touch(mirror);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is NekkBackupException)
            {
                FileOps.TryDelete(partial!);
                throw ex is NekkBackupException named ? named : Fail.FromIo(ex, mirror);
            }
            Landed(op, new ManifestEntry { Path = it.Path, Size = size, MTime = mtime, Hash = hash, Attributes = it.Attributes });
            Interlocked.Increment(ref _ctx.FilesCopied);
            Interlocked.Add(ref _ctx.BytesCopied, copied);
        }

        private void Landed(CopyOp op, ManifestEntry e)
        {
            _journal.Landed(e);
            op.Result = e;
        }

        /// <summary>Streams the source into a new partial file, hashing as it goes, keeping holes.</summary>
        private (string Hash, long Length) CopyToPartial(string source, string partial, long expected, byte[] buffer, CancellationToken ct)
        {
            try
            {
                using var dst = new FileStream(partial, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1);
                if (expected == 0) return (Sha256.EmptyHex, 0);
                using var src = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan);
                // Growing under us: stop a little past the expected size; the check after the copy fails it.
                return FileOps.CopyHashing(src, dst, buffer, ct, n => _ctx.Progress.AddBytes(n), expected + (64L << 20), partial);
            }
            catch (IOException ex) when (Fail.IsDiskFull(ex))
            {
                throw Fail.FromIo(ex, partial);
            }
        }
    }
}
