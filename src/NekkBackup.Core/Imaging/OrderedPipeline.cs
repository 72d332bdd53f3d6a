using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace NekkBackup.Core.Imaging
{
    /// <summary>
    /// Produce on the calling thread (sequential reads), work in parallel on the thread pool (hash,
    /// compress, write / read, decompress, verify), complete on the calling thread in order (chunk list,
    /// volume digest, target writes). At most 2×parallelism+2 items are in flight, so memory is bounded
    /// by a handful of chunk buffers whatever the volume size.
    /// </summary>
    internal static class OrderedPipeline
    {
        public static void Run<T>(Func<T?> produce, Action<T> work, Action<T> complete, int parallelism, CancellationToken ct)
            where T : class
        {
            if (parallelism < 1) parallelism = 1;
            int max = parallelism * 2 + 2;
            var queue = new Queue<(Task task, T item)>();
            try
            {
                while (true)
                {
                    ct.ThrowIfCancellationRequested();
                    var item = produce();
                    if (item == null) break;
                    var captured = item;
                    queue.Enqueue((Task.Run(() => work(captured)), captured));
                    while (queue.Count >= max) Finish(queue.Dequeue(), complete);
                }
                while (queue.Count > 0)
                {
                    ct.ThrowIfCancellationRequested();
                    Finish(queue.Dequeue(), complete);
                }
            }
            finally
            {
                // Never return while a worker still uses a buffer the caller will recycle.
                foreach (var (task, _) in queue)
                {
                    try { task.Wait(); } catch (Exception) { }
                }
            }
        }

        private static void Finish<T>((Task task, T item) entry, Action<T> complete)
        {
            entry.task.GetAwaiter().GetResult();
            complete(entry.item);
        }
    }

    /// <summary>Throttled progress (~4/s) with a rate for Write-Progress's ETA.</summary>
    internal sealed class ProgressMeter
    {
        private readonly Observability.IRunObserver _observer;
        private readonly string _activity;
        private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
        private long _lastMs = -1000;

        public ProgressMeter(Observability.IRunObserver observer, string activity)
        {
            _observer = observer;
            _activity = activity;
        }

        public TimeSpan Elapsed => _clock.Elapsed;

        public void Report(string status, long bytesDone, long bytesTotal, long itemsDone, long itemsTotal, string? item = null, bool force = false)
        {
            long ms = _clock.ElapsedMilliseconds;
            if (!force && ms - _lastMs < 250) return;
            _lastMs = ms;
            double secs = _clock.Elapsed.TotalSeconds;
            _observer.Progress(new Observability.RunProgress(_activity, status)
            {
                CurrentItem = item,
                BytesDone = bytesDone,
                BytesTotal = bytesTotal,
                ItemsDone = itemsDone,
                ItemsTotal = itemsTotal,
                BytesPerSecond = secs > 0.05 ? bytesDone / secs : 0,
            });
        }

        public void Completed(string status) =>
            _observer.Progress(new Observability.RunProgress(_activity, status) { Completed = true });
    }
}
