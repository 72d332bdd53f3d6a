using System;
using System.Diagnostics;
using System.Threading;

namespace NekkBackup.Core.Primitives
{
    /// <summary>
    /// The one progress throttle (STYLE.md §3.4: ~4 updates a second): <see cref="TryEnter"/> is true at most once
    /// per interval across all threads, lock-free. <see cref="Reset"/> lets the next call through at once (a new phase).
    /// </summary>
    public sealed class ProgressThrottle
    {
        public static readonly TimeSpan DefaultInterval = TimeSpan.FromMilliseconds(250);
        private readonly long _intervalTicks;
        private readonly Func<long> _clock;
        private long _last;

        /// <param name="interval">Minimum time between two reports (default 250 ms).</param>
        /// <param name="clockTicks">Monotonic clock in <see cref="TimeSpan"/> ticks (tests inject one); default a Stopwatch.</param>
        public ProgressThrottle(TimeSpan? interval = null, Func<long>? clockTicks = null)
        {
            var i = interval ?? DefaultInterval;
            if (i < TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(interval));
            _intervalTicks = i.Ticks;
            if (clockTicks == null)
            {
                var sw = Stopwatch.StartNew();
                clockTicks = () => sw.Elapsed.Ticks;
            }
            _clock = clockTicks;
            _last = long.MinValue / 2;
        }

        /// <summary>True when the caller should report now (and the interval restarts).</summary>
        public bool TryEnter()
        {
            long now = _clock();
            long last = Interlocked.Read(ref _last);
            if (now - last < _intervalTicks) return false;
            return Interlocked.CompareExchange(ref _last, now, last) == last;
        }

        /// <summary>The next <see cref="TryEnter"/> succeeds regardless of time.</summary>
        public void Reset() => Interlocked.Exchange(ref _last, long.MinValue / 2);
    }
}
