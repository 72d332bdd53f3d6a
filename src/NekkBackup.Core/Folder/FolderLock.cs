using System;
using System.Diagnostics;
using System.IO;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Storage;
using NekkBackup.Core.Validation;

namespace NekkBackup.Core.Folder
{
    /// <summary>
    /// The writer's lock on a destination: an exclusive <see cref="TargetLock"/> under <c>.nekkbackup/locks/</c>
    /// (NekkBackup.DestinationLocked when another run holds it, NekkBackup.LockLost when it is lost before the commit).
    /// <para>During the move from 0.1.0, whose runs hold the single file <c>.nekkbackup/lock</c> ({host, pid, time}; stale
    /// when its process ended on this host or after 30 minutes without renewal), a live 0.1.0 lock refuses this run, a
    /// stale one is removed, and this run holds that file too (written through the target, refreshed with the lock), so a
    /// 0.1.0 run started meanwhile refuses as well. A holder that finds that file taken over has lost the lock.</para>
    /// </summary>
    internal sealed class FolderLock : IAsyncDisposable
    {
        internal const string LegacyKey = "lock";
        private static readonly TimeSpan LegacyStaleAfter = TimeSpan.FromMinutes(30);

        private readonly TargetLock _lock;
        private readonly IBackupTarget _target;
        private readonly IRunObserver _observer;
        private readonly string _legacyToken;
        private readonly CancellationTokenSource _legacyLost = new();
        private readonly CancellationTokenSource _lost;
        private readonly Timer _renew;
        private int _renewing, _disposed;

        private FolderLock(TargetLock held, IBackupTarget target, IRunObserver observer, string legacyToken, TimeSpan refresh)
        {
            _lock = held;
            _target = target;
            _observer = observer;
            _legacyToken = legacyToken;
            _lost = CancellationTokenSource.CreateLinkedTokenSource(held.LostToken, _legacyLost.Token);
            _renew = new Timer(_ => RenewLegacy(), null, refresh, refresh);
        }

        /// <summary>The defaults of the folder leg: refresh every minute, stale after 30 (as in 0.1.0), a short wait for racers.</summary>
        public static LockOptions DefaultOptions { get; } = new()
        {
            Prefix = "locks/",
            LockedReason = "DestinationLocked",
            WaitTimeout = TimeSpan.FromSeconds(3),
        };

        /// <summary>Cancelled when the lock is lost (taken over as stale, or the legacy file replaced).</summary>
        public CancellationToken LostToken => _lost.Token;

        public bool IsLost => _lost.IsCancellationRequested;

        public static async Task<FolderLock> AcquireAsync(FolderRepository repo, string operation, LockOptions? options, IRunObserver observer, CancellationToken ct)
        {
            // Callers (tests) choose the timing; where the lock lives and its error id are the folder leg's.
            options = options == null ? DefaultOptions : new LockOptions
            {
                Prefix = DefaultOptions.Prefix, LockedReason = DefaultOptions.LockedReason, Lease = options.Lease,
                RefreshInterval = options.RefreshInterval, ClockSkew = options.ClockSkew, WaitTimeout = options.WaitTimeout,
            };
            var target = repo.Target;
            await ClearLegacyAsync(repo, target, observer, ct).ConfigureAwait(false);
            var held = await TargetLock.AcquireAsync(target, LockMode.Exclusive, operation, options, observer, ct).ConfigureAwait(false);
            try
            {
                var token = Guid.NewGuid().ToString("N");
                for (int attempt = 0; ; attempt++)
                {
                    try
                    {
                        await PutLegacyAsync(target, token, PutMode.CreateNew, ct).ConfigureAwait(false);
                        return new FolderLock(held, target, observer, token, options.RefreshInterval);
                    }
                    catch (TargetException ex) when (ex.ErrorKind == TargetErrorKind.AlreadyExists && attempt == 0)
                    {
                        // A 0.1.0 run took it between the check and now: respected, unless it is stale already.
                        await ClearLegacyAsync(repo, target, observer, ct).ConfigureAwait(false);
                    }
                }
            }
            catch
            {
                await held.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }

        /// <summary>Refreshes now and throws NekkBackup.LockLost when the lock is no longer this run's. Call right before a commit.</summary>
        public async Task EnsureHeldAsync(CancellationToken ct)
        {
            if (!IsLost && LegacyHolder(await ReadLegacyAsync(_target, ct).ConfigureAwait(false)) != _legacyToken)
                MarkLegacyLost("its .nekkbackup/lock file was replaced by another run");
            if (_legacyLost.IsCancellationRequested)
                throw new NekkBackupException("LockLost", FailureKind.OperationStopped,
                    $"The lock on {_target.Location} was lost (its .nekkbackup/lock file was taken over by another run); nothing more was committed. Run the backup again.", _target.Location);
            await _lock.EnsureHeldAsync(ct).ConfigureAwait(false);
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            _renew.Dispose();
            while (Volatile.Read(ref _renewing) != 0) await Task.Delay(10).ConfigureAwait(false);
            try
            {
                // The token proves the file is still this run's (after a takeover it is the new holder's).
                if (LegacyHolder(await ReadLegacyAsync(_target, CancellationToken.None).ConfigureAwait(false)) == _legacyToken)
                    await _target.DeleteAsync(LegacyKey, CancellationToken.None).ConfigureAwait(false);
            }
            catch (TargetException ex) { _observer.Message(RunMessageLevel.Verbose, $"Could not remove '{LegacyKey}': {ex.Message}"); }
            await _lock.DisposeAsync().ConfigureAwait(false);
        }

        // ---------------------------------------------------------------- 0.1.0's lock file

        internal sealed class LegacyRecord
        {
            public string host { get; set; } = "";
            public int pid { get; set; }
            public DateTime time { get; set; }
            public string token { get; set; } = "";
        }

        private static string? LegacyHolder(byte[]? bytes) => bytes == null ? null : ParseLegacy(bytes)?.token;

        private static LegacyRecord? ParseLegacy(byte[] bytes)
        {
            try { return bytes.Length > 64 * 1024 ? null : JsonSerializer.Deserialize<LegacyRecord>(bytes); }
            catch (JsonException) { return null; }
        }

        private static Task PutLegacyAsync(IBackupTarget target, string token, PutMode mode, CancellationToken ct)
        {
            using var p = Process.GetCurrentProcess();
            var bytes = JsonSerializer.SerializeToUtf8Bytes(new LegacyRecord { host = OperatingSystemInfo.HostName, pid = p.Id, time = DateTime.UtcNow, token = token });
            return target.PutAsync(LegacyKey, new MemoryStream(bytes, false), new PutOptions { Mode = mode, ContentType = "application/json" }, ct);
        }

        private static async Task<byte[]?> ReadLegacyAsync(IBackupTarget target, CancellationToken ct)
        {
            try
            {
                using var s = await target.OpenReadAsync(LegacyKey, 0, 64 * 1024 + 1, ct).ConfigureAwait(false);
                using var ms = new MemoryStream();
                await s.CopyToAsync(ms, 81920, ct).ConfigureAwait(false);
                return ms.ToArray();
            }
            catch (TargetException ex) when (ex.ErrorKind == TargetErrorKind.NotFound) { return null; }
        }

        /// <summary>Null when 0.1.0's lock file at <paramref name="path"/> is live, else why it is stale (for Test's warnings too).</summary>
        internal static string? LegacyStaleReason(FolderRepository repo, string path)
        {
            byte[]? bytes;
            try { bytes = repo.Store.ReadAllBytes(path, 64 * 1024, Reasons.CorruptCatalog, "the lock file"); }
            catch (NekkBackupException ex) { return ex.Message; } // a FIFO, link or folder is no lock any run holds
            return bytes == null ? "it is gone" : StaleReason(bytes, () => File.GetLastWriteTimeUtc(path));
        }

        private static string? StaleReason(byte[] bytes, Func<DateTime> written)
        {
            var info = ParseLegacy(bytes);
            if (info == null)
                return DateTime.UtcNow - written() > TimeSpan.FromSeconds(10) ? "unreadable lock file" : null; // torn: stale once old enough
            if (DateTime.UtcNow - info.time.ToUniversalTime() > LegacyStaleAfter) return $"not renewed since {info.time:u}";
            if (string.Equals(info.host, OperatingSystemInfo.HostName, StringComparison.OrdinalIgnoreCase) && !LockRecords.IsAlive(info.pid, null))
                return $"process {info.pid} has ended";
            return null;
        }

        private static async Task ClearLegacyAsync(FolderRepository repo, IBackupTarget target, IRunObserver observer, CancellationToken ct)
        {
            var path = Path.Combine(repo.Meta, LegacyKey);
            var kind = repo.Store.Kind(path);
            if (kind == StoredKind.Missing) return;
            if (kind == StoredKind.Directory)
                throw Fail.InvalidData(Reasons.CorruptCatalog, $"The lock '{path}' of the destination is a folder, not a file; remove it.", path);
            var why = LegacyStaleReason(repo, path);
            if (why == null)
            {
                var info = ParseLegacy(repo.Store.ReadAllBytes(path, 64 * 1024, Reasons.CorruptCatalog, "the lock file") ?? Array.Empty<byte>());
                throw new NekkBackupException("DestinationLocked", FailureKind.ResourceUnavailable,
                    $"Another NekkBackup run is writing to '{repo.Destination}' ({(info == null ? "unreadable lock file" : $"host {info.host}, pid {info.pid}, since {info.time:u}")}). Wait for it to finish; a lock is stale after its process ends or after {LegacyStaleAfter.TotalMinutes:0} minutes.",
                    repo.Destination);
            }
            observer.Message(RunMessageLevel.Verbose, $"Removing a stale lock on '{repo.Destination}' ({why}).");
            if (kind == StoredKind.File) await target.DeleteAsync(LegacyKey, ct).ConfigureAwait(false);
            else File.Delete(path); // a link, FIFO or socket no run holds: the entry itself goes (nothing is followed)
        }

        private void RenewLegacy()
        {
            if (Volatile.Read(ref _disposed) != 0 || IsLost || Interlocked.Exchange(ref _renewing, 1) != 0) return;
            try
            {
                var bytes = ReadLegacyAsync(_target, CancellationToken.None).GetAwaiter().GetResult();
                if (LegacyHolder(bytes) != _legacyToken) { MarkLegacyLost("its .nekkbackup/lock file was replaced by another run"); return; }
                PutLegacyAsync(_target, _legacyToken, PutMode.Overwrite, CancellationToken.None).GetAwaiter().GetResult();
            }
            catch (Exception ex) when (ex is NekkBackupException || ex is IOException)
            {
                // A hiccup: the lock's own timing decides when the run must stop.
                _observer.Message(RunMessageLevel.Verbose, $"Could not renew '{LegacyKey}' on {_target.Location}: {ex.Message}");
            }
            finally
            {
                Volatile.Write(ref _renewing, 0);
            }
        }

        private void MarkLegacyLost(string reason)
        {
            if (_legacyLost.IsCancellationRequested) return;
            _observer.Message(RunMessageLevel.Warning, $"The lock on {_target.Location} was lost: {reason}. The run stops before it commits.");
            try { _legacyLost.Cancel(); } catch (AggregateException) { }
        }
    }
}
