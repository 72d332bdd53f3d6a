using System;
using System.Threading;
using NekkBackup.Core.Observability;

namespace NekkBackup.Core.Cloud
{
    /// <summary>Shared by every upload of a run: buffers, bandwidth, parallelism, journal and counters.</summary>
    public sealed class UploadContext : IDisposable
    {
        /// <summary>Largest part the engine uses unless a file needs more than 10,000 parts.</summary>
        public const int MaxPartSize = 16 * 1024 * 1024;

        public UploadContext(CloudClient client, int throttleLimit, double maxMBps, int partSize, MultipartJournal journal, IRunObserver observer)
        {
            Client = client;
            ThrottleLimit = Math.Max(1, throttleLimit);
            PartSize = partSize;
            Pool = new PartBufferPool(partSize, ThrottleLimit + 2);
            Limiter = new BandwidthLimiter(maxMBps);
            Journal = journal;
            Observer = observer;
            UploadSlots = new SemaphoreSlim(ThrottleLimit, ThrottleLimit);
        }

        public CloudClient Client { get; }
        public int ThrottleLimit { get; }
        public int PartSize { get; }
        public PartBufferPool Pool { get; }
        public BandwidthLimiter Limiter { get; }
        public MultipartJournal Journal { get; }
        public IRunObserver Observer { get; }
        public SemaphoreSlim UploadSlots { get; }

        private long _bytesSent;
        private long _partsResumed;
        private long _bytesResumed;
        public long BytesSent => Interlocked.Read(ref _bytesSent);
        public long PartsResumed => Interlocked.Read(ref _partsResumed);
        public long BytesResumed => Interlocked.Read(ref _bytesResumed);
        internal void AddSent(long n) => Interlocked.Add(ref _bytesSent, n);
        internal void AddResumed(long bytes)
        {
            Interlocked.Increment(ref _partsResumed);
            Interlocked.Add(ref _bytesResumed, bytes);
        }

        /// <summary>Part size for an object of <paramref name="size"/> bytes: the run's part size, or larger when 10,000 parts would not do.</summary>
        public static int PartSizeFor(long size, int basePartSize)
        {
            long needed = (size + 9_999) / 10_000;
            if (needed <= basePartSize) return basePartSize;
            long mib = 1024 * 1024;
            return (int)Math.Min(int.MaxValue / 2, (needed + mib - 1) / mib * mib);
        }

        public void Dispose()
        {
            Pool.Dispose();
            UploadSlots.Dispose();
        }
    }
}
