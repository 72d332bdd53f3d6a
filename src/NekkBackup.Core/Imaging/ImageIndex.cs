using System;
using System.IO;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Primitives;
using NekkBackup.Core.Storage;
using NekkBackup.Core.Validation;

namespace NekkBackup.Core.Imaging
{
    /// <summary>
    /// images/&lt;id&gt;.idx — the image's chunk list: a 32-byte header ("NKIX", version u32, chunk size u32, reserved u32,
    /// volume size i64, chunk count i64, little-endian) then one 32-byte SHA-256 per chunk in volume order; 32 zero bytes =
    /// an all-zero chunk (stored as nothing). Its SHA-256 is recorded in the manifest. The writer streams it into the
    /// target's put while the capture runs (<see cref="ProducerPipe"/>), so memory stays flat and a killed capture
    /// leaves no chunk list: a put is atomic.
    /// </summary>
    internal sealed class ImageIndexWriter : IDisposable
    {
        public const int HeaderSize = 32;
        private const int BlockSize = 64 << 10;
        private static readonly byte[] Zero = new byte[32];
        private readonly byte[] _entry = new byte[32];
        private readonly ProducerPipe _pipe = new(capacity: 16);
        private readonly IncrementalHash _sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private readonly Task<TargetEntry> _put;
        private readonly string _key;
        private readonly long _expectedLength;
        private byte[] _block = new byte[BlockSize];
        private int _fill;
        private long _written;
        private bool _done;

        public ImageIndexWriter(IBackupTarget target, string key, int chunkSize, long sizeBytes, CancellationToken ct)
        {
            long count = ChunkCount(sizeBytes, chunkSize);
            _expectedLength = HeaderSize + count * 32;
            _key = key;
            _put = target.PutAsync(key, _pipe, new PutOptions { Mode = PutMode.CreateNew, Durable = false }, ct);
            _put.ContinueWith(t => _pipe.ConsumerFailed(t.Exception?.GetBaseException() ?? new OperationCanceledException()),
                CancellationToken.None, TaskContinuationOptions.NotOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            var h = new byte[HeaderSize];
            h[0] = (byte)'N'; h[1] = (byte)'K'; h[2] = (byte)'I'; h[3] = (byte)'X';
            WriteLe(h, 4, 1, 4);
            WriteLe(h, 8, chunkSize, 4);
            WriteLe(h, 16, sizeBytes, 8);
            WriteLe(h, 24, count, 8);
            Append(h, 0);
        }

        public static long ChunkCount(long size, int chunkSize) => (size + chunkSize - 1) / chunkSize;

        private static void WriteLe(byte[] b, int at, long v, int n)
        {
            unchecked { for (int i = 0; i < n; i++) b[at + i] = (byte)(v >> (8 * i)); }
        }

        private void Append(byte[] b, int offset)
        {
            _sha.AppendData(b, offset, 32);
            Buffer.BlockCopy(b, offset, _block, _fill, 32);
            _fill += 32;
            _written += 32;
            if (_fill == BlockSize) Flush();
        }

        private void Flush()
        {
            if (_fill == 0) return;
            var full = _block;
            if (_fill < full.Length) Array.Resize(ref full, _fill);
            _block = new byte[BlockSize];
            _fill = 0;
            try { _pipe.Push(full); }
            catch (IOException) when (_put.IsCompleted) { Stored(); throw; } // the store refused the list: its own error, named
        }

        /// <summary>The finished put, or its error as the repository's (a full share is DestinationFull).</summary>
        private TargetEntry Stored()
        {
            try { return TargetIo.Wait(_put); }
            catch (TargetException e) { throw TargetIo.Map(e, Reasons.IndexCorrupt, _key); }
        }

        /// <summary>The next chunk's entry; null for an all-zero chunk.</summary>
        public void Add(ChunkId? id)
        {
            if (id is ChunkId c)
            {
                c.CopyTo(_entry);
                Append(_entry, 0);
            }
            else Append(Zero, 0);
        }

        /// <summary>Ends the list, waits until the target stored it (not yet durably), and returns its SHA-256.</summary>
        public string Complete()
        {
            Flush();
            _done = true;
            _pipe.Complete();
            var entry = Stored();
            if (_written != _expectedLength || entry.Size != _expectedLength)
                throw Fail.InvalidData(Reasons.IndexCorrupt, $"The chunk list '{entry.Key}' was stored with {entry.Size} bytes; {_expectedLength} were expected.", entry.Key);
            return Hex.Encode(_sha.GetHashAndReset());
        }

        /// <summary>Without <see cref="Complete"/>: the put is cancelled and nothing is stored.</summary>
        public void Dispose()
        {
            if (!_done)
            {
                _done = true;
                _pipe.Abort();
                try { _put.Wait(); } catch (AggregateException) { } // the capture's own error is the one to report
            }
            _sha.Dispose();
        }
    }

    /// <summary>Reads a chunk list through the target, checked against its manifest before anything uses it.</summary>
    internal sealed class ImageIndexReader : IDisposable
    {
        private readonly IBackupTarget _target;
        private readonly string _key;
        private readonly byte[] _hash = new byte[32];
        private Stream _s;
        private long _next;

        private ImageIndexReader(IBackupTarget target, string key, Stream s, int chunkSize, long sizeBytes, long count)
        {
            _target = target;
            _key = key;
            _s = s;
            ChunkSize = chunkSize;
            SizeBytes = sizeBytes;
            Count = count;
        }

        public int ChunkSize { get; }
        public long SizeBytes { get; }
        public long Count { get; }

        /// <summary>
        /// Opens and checks the chunk list against the manifest (its length, reading at most one byte more; its digest; its
        /// header). The manifest was validated: its IndexFile is &lt;ImageId&gt;.idx.
        /// </summary>
        public static ImageIndexReader Open(ImageRepository repo, ImageManifest m)
        {
            var key = repo.IndexKey(m.ImageId);
            long expected = ImageIndexWriter.HeaderSize + m.Chunks * 32;
            Stream Read(long length)
            {
                try { return TargetIo.Wait(repo.Target.OpenReadAsync(key, 0, length, CancellationToken.None)); }
                catch (TargetException e) when (e.ErrorKind == TargetErrorKind.NotFound)
                {
                    throw Fail.InvalidData(Reasons.IndexCorrupt, $"The chunk list of image '{m.ImageId}' is missing ({m.IndexFile}).", m.ImageId, e);
                }
                catch (TargetException e) { throw TargetIo.Map(e, Reasons.IndexCorrupt, repo.Where(key)); }
            }
            (string Hash, long Length) digest;
            using (var all = Read(expected + 1))
            {
                try { digest = TargetIo.Wait(Sha256.OfStreamAsync(all, CancellationToken.None)); }
                catch (IOException e) { throw Fail.FromIo(e, repo.Where(key)); }
            }
            if (digest.Length != expected)
                throw Fail.InvalidData(Reasons.IndexCorrupt, $"The chunk list of image '{m.ImageId}' is {(digest.Length > expected ? "more than " + expected : digest.Length.ToString())} bytes; {m.Chunks} chunks make {expected}.", m.ImageId);
            if (!string.Equals(digest.Hash, m.IndexSha256, StringComparison.Ordinal))
                throw Fail.InvalidData(Reasons.IndexCorrupt, $"The chunk list of image '{m.ImageId}' does not match its manifest digest.", m.ImageId);
            var s = Read(-1);
            try
            {
                var h = new byte[ImageIndexWriter.HeaderSize];
                if (!ReadExactly(s, h) || h[0] != 'N' || h[1] != 'K' || h[2] != 'I' || h[3] != 'X')
                    throw Fail.InvalidData(Reasons.IndexCorrupt, $"The chunk list of image '{m.ImageId}' has a bad header.", m.ImageId);
                int chunkSize = BitConverter.ToInt32(h, 8);
                long size = BitConverter.ToInt64(h, 16);
                long count = BitConverter.ToInt64(h, 24);
                if (chunkSize != m.ChunkSize || size != m.SizeBytes || count != m.Chunks)
                    throw Fail.InvalidData(Reasons.IndexCorrupt, $"The chunk list of image '{m.ImageId}' is inconsistent with its manifest.", m.ImageId);
                return new ImageIndexReader(repo.Target, key, s, chunkSize, size, count);
            }
            catch
            {
                s.Dispose();
                throw;
            }
        }

        private static bool ReadExactly(Stream s, byte[] b)
        {
            int got = 0;
            while (got < b.Length)
            {
                int n = s.Read(b, got, b.Length - got);
                if (n <= 0) return false;
                got += n;
            }
            return true;
        }

        /// <summary>Next entry; false at the end. <paramref name="isZero"/> for an all-zero chunk (then <paramref name="id"/> is default).</summary>
        public bool Next(out ChunkId id, out long index, out bool isZero)
        {
            index = _next;
            id = default;
            isZero = false;
            if (_next >= Count) return false;
            if (!ReadExactly(_s, _hash)) throw Fail.InvalidData(Reasons.IndexCorrupt, $"The chunk list '{_key}' ended early.", _key);
            _next++;
            id = new ChunkId(_hash);
            isZero = id.IsZero;
            return true;
        }

        /// <summary>Entry <paramref name="index"/> (random access; moves the sequential position). True for an all-zero chunk.</summary>
        public bool At(long index, out ChunkId id)
        {
            if (index < 0 || index >= Count) throw new ArgumentOutOfRangeException(nameof(index));
            long at = ImageIndexWriter.HeaderSize + index * 32;
            if (_s.CanSeek) _s.Position = at;
            else
            {
                var s = TargetIo.Wait(_target.OpenReadAsync(_key, at, -1, CancellationToken.None));
                _s.Dispose();
                _s = s;
            }
            _next = index;
            Next(out id, out _, out bool zero);
            return zero;
        }

        public int LengthOf(long index) => (int)Math.Min(ChunkSize, SizeBytes - index * ChunkSize);

        public void Dispose() => _s.Dispose();
    }
}
