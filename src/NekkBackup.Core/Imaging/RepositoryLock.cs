using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Text.Json;
using System.Threading;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Imaging
{
    /// <summary>
    /// Lock files under locks/ (restic's design): JSON {host, pid, exclusive, operation, created, refreshed},
    /// refreshed every minute while held. Captures, restores and tests hold SHARED locks; garbage collection
    /// needs an EXCLUSIVE one. A lock is stale when its refresh is older than 30 minutes, or when it was
    /// taken on this host by a process that no longer runs (a killed capture) — stale locks are ignored and
    /// swept. Both sides write their lock first and then look for a conflicting one, so of two racing
    /// processes at least one sees the other.
    /// </summary>
    internal sealed class RepositoryLock : IDisposable
    {
        public static readonly TimeSpan StaleAfter = TimeSpan.FromMinutes(30);
        private static readonly TimeSpan RefreshEvery = TimeSpan.FromMinutes(1);

        private readonly string _path;
        private readonly LockRecord _record;
        private readonly Timer _timer;
        private int _disposed;

        private RepositoryLock(string path, LockRecord record)
        {
            _path = path;
            _record = record;
            _timer = new Timer(_ => Refresh(), null, RefreshEvery, RefreshEvery);
        }

        public static RepositoryLock AcquireShared(RepositoryLayout repo, string operation)
        {
            var l = Write(repo, operation, exclusive: false);
            var other = FindLive(repo, l._path, exclusiveOnly: true);
            if (other != null)
            {
                l.Dispose();
                throw Locked(repo, other);
            }
            return l;
        }

        /// <summary>
        /// Exclusive lock for garbage collection. Throws RepositoryLocked when another exclusive lock is live;
        /// <paramref name="sharedHolders"/> lists live shared locks (running captures): the caller must then not sweep.
        /// </summary>
        public static RepositoryLock AcquireExclusive(RepositoryLayout repo, string operation, out List<LockRecord> sharedHolders)
        {
            var ex = FindLive(repo, null, exclusiveOnly: true);
            if (ex != null) throw Locked(repo, ex);
            var l = Write(repo, operation, exclusive: true);
            var other = FindLive(repo, l._path, exclusiveOnly: true);
            if (other != null)
            {
                l.Dispose();
                throw Locked(repo, other);
            }
            sharedHolders = new List<LockRecord>();
            foreach (var (_, rec) in LiveLocks(repo, l._path))
                if (!rec.Exclusive) sharedHolders.Add(rec);
            return l;
        }

        private static NekkBackupException Locked(RepositoryLayout repo, LockRecord other) =>
            new("RepositoryLocked", FailureKind.ResourceUnavailable,
                $"The repository '{repo.Root}' is locked by {other.Operation} on {other.Host} (pid {other.Pid}) since {other.Created:u}. Try again when it has finished.",
                repo.Root);

        private static RepositoryLock Write(RepositoryLayout repo, string operation, bool exclusive)
        {
            repo.Store.EnsureDirectory(repo.LocksDir, Validation.Reasons.RepositoryCorrupt);
            var now = DateTime.UtcNow;
            var rec = new LockRecord
            {
                Host = OperatingSystemInfo.HostName,
                Pid = Process.GetCurrentProcess().Id,
                Exclusive = exclusive,
                Operation = operation,
                Created = now,
                Refreshed = now,
            };
            var path = Path.Combine(repo.LocksDir, $"{rec.Host}-{rec.Pid}-{Guid.NewGuid().ToString("N").Substring(0, 8)}.json");
            RepositoryLayout.WriteJsonAtomic(path, rec, overwrite: false);
            return new RepositoryLock(path, rec);
        }

        private static LockRecord? FindLive(RepositoryLayout repo, string? except, bool exclusiveOnly)
        {
            foreach (var (_, rec) in LiveLocks(repo, except))
                if (!exclusiveOnly || rec.Exclusive) return rec;
            return null;
        }

        /// <summary>Live locks other than <paramref name="except"/>; stale ones are deleted on the way.</summary>
        public static IEnumerable<(string path, LockRecord record)> LiveLocks(RepositoryLayout repo, string? except)
        {
            foreach (var (f, kind) in repo.Store.List(repo.LocksDir, Validation.Reasons.RepositoryCorrupt, ".json"))
            {
                if (except != null && string.Equals(f, except, StringComparison.Ordinal)) continue;
                if (kind != Validation.StoredKind.File) continue; // a FIFO or link is no lock: never opened
                LockRecord? rec = null;
                try
                {
                    var bytes = repo.Store.ReadAllBytes(f, Validation.GhostRules.MaxLockBytes, Validation.Reasons.RepositoryCorrupt, "the lock");
                    if (bytes != null) rec = Validation.GhostRules.CheckLock(bytes, f);
                }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is NekkBackupException) { }
                if (rec == null) continue;
                if (IsStale(rec))
                {
                    try { File.Delete(f); } catch (IOException) { }
                    continue;
                }
                yield return (f, rec);
            }
        }

        internal static bool IsStale(LockRecord rec)
        {
            if (DateTime.UtcNow - rec.Refreshed > StaleAfter) return true;
            if (string.Equals(rec.Host, OperatingSystemInfo.HostName, StringComparison.OrdinalIgnoreCase))
            {
                try
                {
                    using var p = Process.GetProcessById(rec.Pid);
                    return p.HasExited;
                }
                catch (ArgumentException) { return true; }
                catch (InvalidOperationException) { return true; }
            }
            return false;
        }

        private int _lost;
        private DateTime _lastRefresh = DateTime.UtcNow;

        /// <summary>
        /// False when this lock can no longer be trusted: its file vanished (someone judged it stale and swept
        /// it — e.g. this machine slept for half an hour) or it could not be refreshed within the stale window.
        /// A capture checks it before committing: garbage collection may have run meanwhile.
        /// </summary>
        public bool IsHeld =>
            Volatile.Read(ref _lost) == 0 && File.Exists(_path) && DateTime.UtcNow - _lastRefresh < StaleAfter;

        private void Refresh()
        {
            if (Volatile.Read(ref _disposed) != 0) return;
            try
            {
                // Never resurrect a lock another process swept as stale: that would hide the loss.
                if (!File.Exists(_path)) { Volatile.Write(ref _lost, 1); return; }
                _record.Refreshed = DateTime.UtcNow;
                RepositoryLayout.WriteJsonAtomic(_path, _record, overwrite: true);
                _lastRefresh = _record.Refreshed;
            }
            catch (Exception) { /* a NAS hiccup: the next refresh retries; staleness needs 30 minutes */ }
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            _timer.Dispose();
            try { File.Delete(_path); } catch (IOException) { }
        }
    }
}
