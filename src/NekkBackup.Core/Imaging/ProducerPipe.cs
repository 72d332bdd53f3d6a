using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace NekkBackup.Core.Imaging
{
    /// <summary>
    /// A one-way, bounded, in-memory pipe: a producer pushes blocks (blocking while <c>capacity</c> blocks wait), a
    /// consumer reads it as a forward-only <see cref="Stream"/> whose reads await without holding a thread. It lets a
    /// capture stream its chunk list into <see cref="Storage.IBackupTarget.PutAsync"/> while it is being made, so memory
    /// stays flat whatever the volume size. A producer that fails or stops ends the stream with cancellation (nothing is
    /// stored, and no retry layer retries it); a consumer that fails releases the producer with that error.
    /// </summary>
    internal sealed class ProducerPipe : Stream
    {
        private readonly object _gate = new();
        private readonly Queue<byte[]> _blocks = new();
        private readonly SemaphoreSlim _available = new(0);
        private readonly SemaphoreSlim _space;
        private readonly CancellationTokenSource _consumerGone = new();
        private byte[]? _current;
        private int _currentAt;
        private bool _ended;
        private bool _aborted;
        private Exception? _consumerError;
        private long _position;

        public ProducerPipe(int capacity) => _space = new SemaphoreSlim(capacity, capacity);

        /// <summary>Hands <paramref name="block"/> to the consumer (the pipe owns it now); waits while the pipe is full.</summary>
        public void Push(byte[] block)
        {
            try { _space.Wait(_consumerGone.Token); }
            catch (OperationCanceledException) { throw ConsumerFailed(); }
            lock (_gate) _blocks.Enqueue(block);
            _available.Release();
        }

        /// <summary>No more blocks: the consumer reads to the end.</summary>
        public void Complete() => End(aborted: false);

        /// <summary>The producer stopped: the consumer's next read is cancelled (so nothing half-made is stored).</summary>
        public void Abort() => End(aborted: true);

        private void End(bool aborted)
        {
            lock (_gate)
            {
                if (_ended) return;
                _ended = true;
                _aborted = aborted;
            }
            _available.Release();
        }

        /// <summary>The consumer failed (the put was refused): a waiting or later <see cref="Push"/> throws.</summary>
        public void ConsumerFailed(Exception error)
        {
            _consumerError = error;
            _consumerGone.Cancel();
        }

        private Exception ConsumerFailed() =>
            new IOException("the chunk list could not be stored: " + _consumerError?.Message, _consumerError);

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            while (true)
            {
                if (_current != null)
                {
                    int n = Math.Min(count, _current.Length - _currentAt);
                    Buffer.BlockCopy(_current, _currentAt, buffer, offset, n);
                    _currentAt += n;
                    _position += n;
                    if (_currentAt == _current.Length)
                    {
                        _current = null;
                        _space.Release();
                    }
                    return n;
                }
                await _available.WaitAsync(cancellationToken).ConfigureAwait(false);
                lock (_gate)
                {
                    if (_blocks.Count > 0)
                    {
                        _current = _blocks.Dequeue();
                        _currentAt = 0;
                        continue;
                    }
                    _available.Release(); // the end stays visible to every later read
                    if (_aborted) throw new OperationCanceledException("The capture stopped before its chunk list was complete.");
                    return 0;
                }
            }
        }

        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
