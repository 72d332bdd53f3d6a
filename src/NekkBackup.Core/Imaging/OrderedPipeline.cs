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
}
