using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Storage;

namespace NekkBackup.Core.Tests.TestKit
{
    /// <summary>
    /// Fault-injecting decorator (kopia's blobtesting faulty storage): before an operation reaches the inner target
    /// it may fail with a transient fault (at random, <see cref="TransientRate"/>) or with queued faults
    /// (<see cref="FailNext"/>, transient or permanent); <see cref="TearNextPuts"/> makes puts die part-way through
    /// their content, as a writer whose process or connection dies. Counts every call, so tests can prove that a
    /// permanent error was tried once and a cancelled token never reached the store.
    /// </summary>
    public sealed class FaultyTarget : IBackupTarget
    {
        private readonly IBackupTarget _inner;
        private readonly Random _random;
        private readonly object _gate = new();
        private readonly ConcurrentDictionary<string, int> _calls = new();
        private readonly Queue<(string op, bool permanent)> _queued = new();
        private int _tears;
        private long _tearAfter;

        public FaultyTarget(IBackupTarget inner, int seed = 1)
        {
            _inner = inner;
            _random = new Random(seed);
        }

        public IBackupTarget Inner => _inner;
        public string Location => "faulty:" + _inner.Location;
        public TargetCapabilities Capabilities => _inner.Capabilities;

        /// <summary>Probability (0..1) that any call fails with a transient fault before reaching the inner target.</summary>
        public double TransientRate { get; set; }

        public int InjectedFaults => Volatile.Read(ref _injected);
        private int _injected;

        /// <summary>Queues <paramref name="count"/> faults for the next calls of <paramref name="operation"/> ("put", "read", "stat", "list", "delete", "move" or "*").</summary>
        public void FailNext(string operation, int count, bool permanent)
        {
            lock (_gate) for (int i = 0; i < count; i++) _queued.Enqueue((operation, permanent));
        }

        /// <summary>The next <paramref name="count"/> puts fail after passing <paramref name="afterBytes"/> bytes to the inner target.</summary>
        public void TearNextPuts(int count, long afterBytes)
        {
            lock (_gate)
            {
                _tears = count;
                _tearAfter = afterBytes;
            }
        }

        /// <summary>How many calls of <paramref name="operation"/> reached this decorator.</summary>
        public int Calls(string operation) => _calls.TryGetValue(operation, out var n) ? n : 0;

        private void Enter(string op, string? key)
        {
            _calls.AddOrUpdate(op, 1, (_, n) => n + 1);
            bool? fault = null;
            lock (_gate)
            {
                if (_queued.Count > 0 && (_queued.Peek().op == op || _queued.Peek().op == "*"))
                    fault = _queued.Dequeue().permanent;
                else if (TransientRate > 0 && _random.NextDouble() < TransientRate)
                    fault = false;
            }
            if (fault == null) return;
            Interlocked.Increment(ref _injected);
            throw fault.Value
                ? new TargetException(TargetErrorKind.AccessDenied, $"injected permanent fault on {op} '{key}'", key)
                : new TargetException(TargetErrorKind.Unavailable, $"injected transient fault on {op} '{key}'", key);
        }

        public Task<TargetEntry> PutAsync(string key, Stream content, PutOptions? options, CancellationToken cancellationToken)
        {
            Enter("put", key);
            lock (_gate)
            {
                if (_tears > 0)
                {
                    _tears--;
                    content = new TearingStream(content, _tearAfter);
                }
            }
            return _inner.PutAsync(key, content, options, cancellationToken);
        }

        public Task<Stream> OpenReadAsync(string key, long offset, long length, CancellationToken cancellationToken)
        {
            Enter("read", key);
            return _inner.OpenReadAsync(key, offset, length, cancellationToken);
        }

        public Task<TargetEntry?> StatAsync(string key, CancellationToken cancellationToken)
        {
            Enter("stat", key);
            return _inner.StatAsync(key, cancellationToken);
        }

        public async IAsyncEnumerable<TargetEntry> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            Enter("list", prefix);
            await foreach (var e in _inner.ListAsync(prefix, cancellationToken).ConfigureAwait(false)) yield return e;
        }

        public Task DeleteAsync(string key, CancellationToken cancellationToken)
        {
            Enter("delete", key);
            return _inner.DeleteAsync(key, cancellationToken);
        }

        public Task MoveAsync(string fromKey, string toKey, bool overwrite, CancellationToken cancellationToken)
        {
            Enter("move", fromKey);
            return _inner.MoveAsync(fromKey, toKey, overwrite, cancellationToken);
        }

        public bool IsPermanent(Exception error) => _inner.IsPermanent(error);

        /// <summary>Passes <c>limit</c> bytes through, then fails as a dropped connection would.</summary>
        private sealed class TearingStream : Stream
        {
            private readonly Stream _inner;
            private long _left;

            public TearingStream(Stream inner, long limit)
            {
                _inner = inner;
                _left = limit;
            }

            public override bool CanRead => true;
            public override bool CanSeek => false;
            public override bool CanWrite => false;
            public override long Length => throw new NotSupportedException();
            public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

            public override int Read(byte[] buffer, int offset, int count)
            {
                if (_left <= 0) throw new IOException("injected torn write: the writer died part-way");
                int n = _inner.Read(buffer, offset, (int)Math.Min(count, _left));
                _left -= n;
                return n;
            }

            public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
                Task.FromResult(Read(buffer, offset, count));

            public override void Flush() { }
            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
            public override void SetLength(long value) => throw new NotSupportedException();
            public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        }
    }
}
