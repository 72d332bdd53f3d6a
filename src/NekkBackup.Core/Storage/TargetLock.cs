using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Primitives;

namespace NekkBackup.Core.Storage
{
    /// <summary>
    /// The one lock, for every leg and every target (restic's lock.go): each holder writes its own lock object
    /// (<c>locks/&lt;random id&gt;.json</c>: host, pid, mode, operation, times, lease) and refreshes it on a
    /// timer. To acquire, a process writes its object and then lists the others: of two racers at least one sees
    /// the other and backs off (both may, then both retry after a random pause), so no conditional writes are
    /// needed and it works on a NAS folder and in a bucket alike. Stale locks (not refreshed within their lease
    /// plus <see cref="LockOptions.ClockSkew"/>, or whose process on this host has ended) are removed and taken over.
    /// <para>Lost-lock detection: a holder that finds its object gone or replaced, or that could not refresh for
    /// Lease − ClockSkew (a sleeping laptop, a dropped share), cancels <see cref="LostToken"/> and never writes its
    /// object again. A run links its token to <see cref="LostToken"/> and calls <see cref="EnsureHeldAsync"/>
    /// right before it commits, so a run whose lock was taken over stops before it commits anything.</para>
    /// </summary>
    public sealed class TargetLock : IAsyncDisposable, IDisposable
    {
        private readonly IBackupTarget _target;
        private readonly LockOptions _options;
        private readonly IRunObserver _observer;
        private readonly LockRecords.Record _record;
        private readonly CancellationTokenSource _lost = new();
        private readonly CancellationTokenSource _stop = new();
        private readonly SemaphoreSlim _gate = new(1, 1);
        private readonly Stopwatch _sinceRefresh = Stopwatch.StartNew();
        private DateTime _lastRefreshWall = DateTime.UtcNow;
        private Task? _loop;
        private string? _lostReason;
        private int _disposed;

        private TargetLock(IBackupTarget target, LockOptions options, IRunObserver observer, LockRecords.Record record, string key, IReadOnlyList<LockHolder> shared)
        {
            _target = target;
            _options = options;
            _observer = observer;
            _record = record;
            Key = key;
            SharedHolders = shared;
        }

        public string Key { get; }
        public string Id => _record.Id;
        public LockMode Mode => _record.Exclusive ? LockMode.Exclusive : LockMode.Shared;

        /// <summary>Live shared holders an exclusive lock found (only with <see cref="LockOptions.ExclusiveToleratesShared"/>).</summary>
        public IReadOnlyList<LockHolder> SharedHolders { get; }

        /// <summary>Cancelled when the lock is lost. Link the run's token to it.</summary>
        public CancellationToken LostToken => _lost.Token;

        public bool IsLost => _lost.IsCancellationRequested;

        /// <summary>Why the lock was lost, or null.</summary>
        public string? LostReason => Volatile.Read(ref _lostReason);

        /// <summary>
        /// Takes a lock on <paramref name="target"/>. Throws NekkBackup.TargetLocked (or <see cref="LockOptions.LockedReason"/>)
        /// naming the holder when a conflicting live lock remains after <see cref="LockOptions.WaitTimeout"/>.
        /// </summary>
        public static async Task<TargetLock> AcquireAsync(IBackupTarget target, LockMode mode, string operation, LockOptions? options, IRunObserver? observer, CancellationToken cancellationToken)
        {
            if (target == null) throw new ArgumentNullException(nameof(target));
            options ??= new LockOptions();
            options.Validate();
            observer ??= NullRunObserver.Instance;
            var deadline = Stopwatch.StartNew();
            var random = new Random(Guid.NewGuid().GetHashCode());
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var others = await ScanAndSweepAsync(target, options, observer, null, cancellationToken).ConfigureAwait(false);
                var conflict = others.FirstOrDefault(o => Conflicts(mode, o, options));
                if (conflict == null)
                {
                    var (pid, started) = LockRecords.CurrentProcess();
                    var now = DateTime.UtcNow;
                    var record = new LockRecords.Record
                    {
                        FormatVersion = LockRecords.Version.Major, Id = Guid.NewGuid().ToString("N"), Host = OperatingSystemInfo.HostName,
                        Pid = pid, ProcessStarted = started, Exclusive = mode == LockMode.Exclusive,
                        Operation = operation ?? "", Created = now, Refreshed = now, LeaseSeconds = options.Lease.TotalSeconds,
                    };
                    var key = options.Prefix + record.Id + ".json";
                    // A random 128-bit id cannot collide, so a plain put (one request, no conditional support needed).
                    await PutRecordAsync(target, key, record, PutMode.Overwrite, cancellationToken).ConfigureAwait(false);
                    var held = new TargetLock(target, options, observer, record, key, Array.Empty<LockHolder>());
                    try
                    {
                        // Written first, looked second: a racer that wrote before this listing is seen here.
                        others = await ScanAndSweepAsync(target, options, observer, key, cancellationToken).ConfigureAwait(false);
                    }
                    catch
                    {
                        await held.ReleaseObjectAsync().ConfigureAwait(false);
                        throw;
                    }
                    conflict = others.FirstOrDefault(o => Conflicts(mode, o, options));
                    if (conflict == null)
                    {
                        var shared = mode == LockMode.Exclusive ? others.Where(o => !o.Exclusive).ToList() : new List<LockHolder>();
                        var result = new TargetLock(target, options, observer, record, key, shared);
                        result._loop = Task.Run(() => result.RefreshLoopAsync());
                        return result;
                    }
                    await held.ReleaseObjectAsync().ConfigureAwait(false);
                }
                if (deadline.Elapsed >= options.WaitTimeout)
                    throw new NekkBackupException(options.LockedReason, FailureKind.ResourceUnavailable,
                        $"{target.Location} is locked by {conflict.Describe()}. Try again when it has finished; a lock is stale after its process ends or after {conflict.Lease.TotalMinutes:0.#} minutes without a refresh.",
                        target.Location);
                // Back off for a random while so two racers that saw each other do not collide again.
                var pause = TimeSpan.FromMilliseconds(50 + random.Next(0, 250));
                await Task.Delay(pause, cancellationToken).ConfigureAwait(false);
            }
        }

        private static bool Conflicts(LockMode mode, LockHolder other, LockOptions o) =>
            mode == LockMode.Shared ? other.Exclusive : (other.Exclusive || !o.ExclusiveToleratesShared);

        /// <summary>Every lock object under the prefix, with staleness judged by this host (for Get-* views and tests).</summary>
        public static async Task<IReadOnlyList<LockHolder>> ListAsync(IBackupTarget target, LockOptions? options, CancellationToken cancellationToken)
        {
            options ??= new LockOptions();
            return await LockRecords.ScanAsync(target, options.Prefix, options.Lease, options.ClockSkew, cancellationToken).ConfigureAwait(false);
        }

        private static async Task<List<LockHolder>> ScanAndSweepAsync(IBackupTarget target, LockOptions options, IRunObserver observer, string? except, CancellationToken ct)
        {
            var live = new List<LockHolder>();
            foreach (var h in await LockRecords.ScanAsync(target, options.Prefix, options.Lease, options.ClockSkew, ct).ConfigureAwait(false))
            {
                if (h.Key == except) continue;
                if (!h.IsStale) { live.Add(h); continue; }
                observer.Message(RunMessageLevel.Warning, $"Removing a stale lock on {target.Location}: {h.Describe()} ({h.StaleReason}).");
                try { await target.DeleteAsync(h.Key, ct).ConfigureAwait(false); }
                catch (TargetException ex) { observer.Message(RunMessageLevel.Verbose, $"Could not remove the stale lock '{h.Key}': {ex.Message}"); }
            }
            return live;
        }

        private static Task PutRecordAsync(IBackupTarget target, string key, LockRecords.Record record, PutMode mode, CancellationToken ct)
        {
            var bytes = LockRecords.Serialize(record);
            return target.PutAsync(key, new MemoryStream(bytes, false), new PutOptions { Mode = mode, ContentType = "application/json" }, ct);
        }

        /// <summary>Time since the last successful refresh by both clocks: a suspended machine's monotonic clock stands still, its wall clock does not.</summary>
        private TimeSpan SinceRefresh()
        {
            var wall = DateTime.UtcNow - _lastRefreshWall;
            var mono = _sinceRefresh.Elapsed;
            return wall > mono ? wall : mono;
        }

        private TimeSpan LostAfter => _options.Lease - _options.ClockSkew;

        private async Task RefreshLoopAsync()
        {
            try
            {
                while (!_stop.IsCancellationRequested && !IsLost)
                {
                    await Task.Delay(_options.RefreshInterval, _stop.Token).ConfigureAwait(false);
                    await RefreshAsync(_stop.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested) { }
        }

        /// <summary>One refresh: check the object is still ours, rewrite it with a new time, and judge the timing.</summary>
        private async Task RefreshAsync(CancellationToken ct)
        {
            await _gate.WaitAsync(ct).ConfigureAwait(false);
            try
            {
                if (IsLost) return;
                if (SinceRefresh() > LostAfter) { MarkLost($"it could not be refreshed for {SinceRefresh().TotalSeconds:0} s (the machine slept or the store was unreachable), so another process may have taken it over"); return; }
                var startedWall = DateTime.UtcNow;
                try
                {
                    byte[]? mine;
                    using (var s = await _target.OpenReadAsync(Key, 0, 64 * 1024 + 1, ct).ConfigureAwait(false))
                    using (var ms = new MemoryStream())
                    {
                        await s.CopyToAsync(ms, 81920, ct).ConfigureAwait(false);
                        mine = ms.ToArray();
                    }
                    var holder = LockRecords.Judge(new TargetEntry(Key, mine.Length, DateTime.UtcNow), mine, _options.Lease, _options.ClockSkew);
                    if (holder.Unreadable || holder.Id != _record.Id || holder.Pid != _record.Pid)
                    {
                        MarkLost("its lock object was replaced by another process");
                        return;
                    }
                    _record.Refreshed = startedWall;
                    await PutRecordAsync(_target, Key, _record, PutMode.Overwrite, ct).ConfigureAwait(false);
                    if (SinceRefresh() > LostAfter)
                    {
                        // The rewrite may have recreated an object another process had already removed as stale.
                        MarkLost("its refresh took too long to be trusted");
                        await ReleaseObjectAsync().ConfigureAwait(false);
                        return;
                    }
                    _lastRefreshWall = startedWall;
                    _sinceRefresh.Restart();
                }
                catch (TargetException ex) when (ex.ErrorKind == TargetErrorKind.NotFound)
                {
                    MarkLost("its lock object was removed (another process judged it stale and may have taken over)");
                }
                catch (Exception ex) when (!(ex is OperationCanceledException) || !ct.IsCancellationRequested)
                {
                    // A hiccup: keep the lock until the timing says others may call it stale.
                    _observer.Message(RunMessageLevel.Verbose, $"Could not refresh the lock on {_target.Location}: {ex.Message}");
                    if (SinceRefresh() > LostAfter) MarkLost($"it could not be refreshed for {SinceRefresh().TotalSeconds:0} s: {ex.Message}");
                }
            }
            finally
            {
                _gate.Release();
            }
        }

        private void MarkLost(string reason)
        {
            if (Interlocked.CompareExchange(ref _lostReason, reason, null) != null) return;
            _observer.Message(RunMessageLevel.Warning, $"The lock on {_target.Location} was lost: {reason}. The run stops before it commits.");
            try { _lost.Cancel(); } catch (AggregateException) { }
        }

        /// <summary>
        /// Refreshes now and throws NekkBackup.LockLost (or <see cref="LockOptions.LostReason"/>) when the lock is no
        /// longer held. Call it right before a commit point (a manifest write, a prune's deletes).
        /// </summary>
        public async Task EnsureHeldAsync(CancellationToken cancellationToken)
        {
            if (!IsLost) await RefreshAsync(cancellationToken).ConfigureAwait(false);
            if (IsLost)
                throw new NekkBackupException(_options.LostReason, FailureKind.OperationStopped,
                    $"The lock on {_target.Location} was lost ({LostReason}); nothing more was committed. Run the operation again.", _target.Location);
        }

        private async Task ReleaseObjectAsync()
        {
            try { await _target.DeleteAsync(Key, CancellationToken.None).ConfigureAwait(false); }
            catch (Exception ex) when (!(ex is OutOfMemoryException)) { _observer.Message(RunMessageLevel.Verbose, $"Could not remove the lock object '{Key}': {ex.Message}"); }
        }

        /// <summary>Stops refreshing and removes the lock object (unless the lock was lost: then it is someone else's business).</summary>
        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            _stop.Cancel();
            if (_loop != null) { try { await _loop.ConfigureAwait(false); } catch (OperationCanceledException) { } }
            await _gate.WaitAsync().ConfigureAwait(false);
            try
            {
                if (!IsLost) await ReleaseObjectAsync().ConfigureAwait(false);
            }
            finally
            {
                _gate.Release();
                _stop.Dispose(); // _lost stays: callers may still read LostToken after disposal
            }
        }

        public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}
