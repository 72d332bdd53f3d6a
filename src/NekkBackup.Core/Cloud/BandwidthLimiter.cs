using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;

namespace NekkBackup.Core.Cloud
{
    /// <summary>
    /// Token bucket shared by every parallel part: a caller pays for its bytes before sending them, so the
    /// average rate over a run stays at or under the cap (no initial burst credit).
    /// </summary>
    public sealed class BandwidthLimiter
    {
        private readonly double _bytesPerSecond;
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly object _gate = new();
        private double _nextFreeSeconds;

        /// <param name="mebibytesPerSecond">Cap in MiB/s (1 MB here = 1,048,576 bytes); 0 or less = unlimited.</param>
        public BandwidthLimiter(double mebibytesPerSecond)
        {
            _bytesPerSecond = mebibytesPerSecond * 1024 * 1024;
        }

        public bool IsUnlimited => _bytesPerSecond <= 0;

        public static BandwidthLimiter Unlimited { get; } = new(0);

        public Task AcquireAsync(long bytes, CancellationToken ct)
        {
            if (IsUnlimited || bytes <= 0) return Task.CompletedTask;
            double waitUntil;
            lock (_gate)
            {
                double now = _clock.Elapsed.TotalSeconds;
                double start = Math.Max(now, _nextFreeSeconds);
                _nextFreeSeconds = start + bytes / _bytesPerSecond;
                waitUntil = _nextFreeSeconds;
            }
            double delay = waitUntil - _clock.Elapsed.TotalSeconds;
            return delay <= 0.001 ? Task.CompletedTask : Task.Delay(TimeSpan.FromSeconds(delay), ct);
        }
    }
}
