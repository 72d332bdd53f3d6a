using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Resilience;
using Polly;
using Serilog;

namespace NekkBackup.Core.Storage
{
    /// <summary>
    /// Decorator that retries a target's transient faults through the one Polly pipeline
    /// (<see cref="NekkResilience.Build"/>): exponential backoff with jitter, capped; it asks the inner target
    /// (<see cref="IBackupTarget.IsPermanent"/>) and never retries a permanent error or cancellation, never
    /// starts an attempt on a cancelled token, and writes one log line (and one verbose message) per retry.
    /// A put is retried only when its stream can be rewound; a listing only until its first entry.
    /// </summary>
    public sealed class RetryingTarget : IBackupTarget
    {
        private readonly IBackupTarget _inner;
        private readonly ResiliencePipeline _pipeline;
        private readonly ILogger _log;
        private readonly IRunObserver _observer;
        private readonly NekkResilience.RetryPreset _preset;
        private readonly bool _logged;
        private int _retries;

        public RetryingTarget(IBackupTarget inner, NekkResilience.RetryPreset? preset = null, ILogger? log = null, IRunObserver? observer = null)
        {
            _inner = inner ?? throw new ArgumentNullException(nameof(inner));
            _preset = preset ?? (inner.Capabilities.LocalRoot != null ? NekkResilience.RetryPreset.FileShare : NekkResilience.RetryPreset.ObjectStore);
            _log = log ?? Serilog.Core.Logger.None;
            _logged = log != null;
            _observer = observer ?? NullRunObserver.Instance;
            _pipeline = NekkResilience.Build(_preset, ex => !s_final.TryGetValue(ex, out _) && !_inner.IsPermanent(ex), OnRetry);
        }

        public IBackupTarget Inner => _inner;
        public string Location => _inner.Location;
        public TargetCapabilities Capabilities => _inner.Capabilities;

        /// <summary>Retries performed so far (for the run log and tests).</summary>
        public int Retries => Volatile.Read(ref _retries);

        // Flows from Run into Polly's OnRetry (set before the pipeline runs, so it is visible inside it).
        private static readonly AsyncLocal<string?> s_operation = new();

        private void OnRetry(int attempt, TimeSpan delay, Exception? error)
        {
            Interlocked.Increment(ref _retries);
            var op = s_operation.Value ?? "request";
            var text = $"Transient fault on {_inner.Location} ({error?.Message}); {op}: retry {attempt} of {_preset.MaxRetryAttempts} in {delay.TotalMilliseconds:0} ms.";
            if (!_logged) { _observer.Message(RunMessageLevel.Verbose, text); return; }
            // One log line per retry: written here with its properties; an observer that wraps the same log must not write it again.
            _log.Warning("Storage retry {Attempt} of {MaxAttempts} for {Operation} on {Target} in {DelayMs} ms: {Error}",
                attempt, _preset.MaxRetryAttempts, op, _inner.Location, (long)delay.TotalMilliseconds, error?.Message);
            RunLog.ForwardLogged(_observer, RunMessageLevel.Verbose, text);
        }

        /// <summary>
        /// Runs an operation the target interface has no verb for (an S3 multipart part, a ranged read, a read of a
        /// whole small object) under this target's pipeline: same retries, same log line, same counter. The call
        /// decides what a fault is worth through <see cref="IBackupTarget.IsPermanent"/> of the inner target.
        /// </summary>
        public Task<T> ExecuteAsync<T>(string operation, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken) =>
            Run(operation, call, cancellationToken);

        private async Task<T> Run<T>(string operation, Func<CancellationToken, Task<T>> call, CancellationToken ct)
        {
            ct.ThrowIfCancellationRequested();
            s_operation.Value = operation;
            return await _pipeline.ExecuteAsync(async token =>
            {
                token.ThrowIfCancellationRequested();
                return await call(token).ConfigureAwait(false);
            }, ct).ConfigureAwait(false);
        }

        /// <summary>Faults that must not be retried although transient: a put that already consumed part of a stream it cannot rewind.</summary>
        private static readonly ConditionalWeakTable<Exception, object> s_final = new();

        public Task<TargetEntry> PutAsync(string key, Stream content, PutOptions? options, CancellationToken cancellationToken)
        {
            if (content == null) throw new ArgumentNullException(nameof(content));
            if (!content.CanSeek)
            {
                // Retried only while nothing has been read from it: what was read cannot be replayed.
                var counting = new ReadCountingStream(content);
                return Run("put " + key, async t =>
                {
                    try { return await _inner.PutAsync(key, counting, options, t).ConfigureAwait(false); }
                    catch (Exception ex) when (counting.BytesRead > 0)
                    {
                        s_final.GetValue(ex, e => e);
                        throw;
                    }
                }, cancellationToken);
            }
            long start = content.Position;
            return Run("put " + key, t =>
            {
                content.Position = start;
                return _inner.PutAsync(key, content, options, t);
            }, cancellationToken);
        }

        public Task<Stream> OpenReadAsync(string key, long offset, long length, CancellationToken cancellationToken) =>
            Run("read " + key, t => _inner.OpenReadAsync(key, offset, length, t), cancellationToken);

        public Task<TargetEntry?> StatAsync(string key, CancellationToken cancellationToken) =>
            Run("stat " + key, t => _inner.StatAsync(key, t), cancellationToken);

        public async IAsyncEnumerable<TargetEntry> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            IAsyncEnumerator<TargetEntry>? e = null;
            bool has = false;
            // Open the listing and read its first entry under the retry pipeline; later faults surface to the caller.
            await Run("list " + prefix, async t =>
            {
                if (e != null) await e.DisposeAsync().ConfigureAwait(false);
                e = _inner.ListAsync(prefix, cancellationToken).GetAsyncEnumerator(cancellationToken);
                has = await e.MoveNextAsync().ConfigureAwait(false);
                return true;
            }, cancellationToken).ConfigureAwait(false);
            try
            {
                while (has)
                {
                    yield return e!.Current;
                    has = await e.MoveNextAsync().ConfigureAwait(false);
                }
            }
            finally
            {
                if (e != null) await e.DisposeAsync().ConfigureAwait(false);
            }
        }

        public Task DeleteAsync(string key, CancellationToken cancellationToken) =>
            Run("delete " + key, async t => { await _inner.DeleteAsync(key, t).ConfigureAwait(false); return true; }, cancellationToken);

        public Task MoveAsync(string fromKey, string toKey, bool overwrite, CancellationToken cancellationToken) =>
            Run("move " + fromKey, async t => { await _inner.MoveAsync(fromKey, toKey, overwrite, t).ConfigureAwait(false); return true; }, cancellationToken);

        public bool IsPermanent(Exception error) => _inner.IsPermanent(error);
    }

    /// <summary>Passes reads through and counts the bytes.</summary>
    internal sealed class ReadCountingStream : Stream
    {
        private readonly Stream _inner;
        public ReadCountingStream(Stream inner) => _inner = inner;
        public long BytesRead { get; private set; }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = _inner.Read(buffer, offset, count);
            BytesRead += n;
            return n;
        }

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            int n = await _inner.ReadAsync(buffer, offset, count, cancellationToken).ConfigureAwait(false);
            BytesRead += n;
            return n;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
