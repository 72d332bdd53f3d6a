using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace NekkBackup.Core.Cloud
{
    /// <summary>At most N bodies at once over a sequence (uploads, restores, catalog reads); the first exception stops the rest.</summary>
    internal static class BoundedParallel
    {
        public static async Task ForEachAsync<T>(IEnumerable<T> items, int parallel, Func<T, Task> body, CancellationToken ct)
        {
            using var gate = new SemaphoreSlim(parallel, parallel);
            var tasks = new List<Task>();
            Exception? fatal = null;
            foreach (var item in items)
            {
                await gate.WaitAsync(ct).ConfigureAwait(false);
                if (Volatile.Read(ref fatal) != null) { gate.Release(); break; }
                tasks.Add(Task.Run(async () =>
                {
                    try { await body(item).ConfigureAwait(false); }
                    catch (Exception ex) { Interlocked.CompareExchange(ref fatal, ex, null); }
                    finally { gate.Release(); }
                }, CancellationToken.None));
            }
            await Task.WhenAll(tasks).ConfigureAwait(false);
            ct.ThrowIfCancellationRequested();
            if (fatal != null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(fatal).Throw();
        }
    }
}
