using System.Diagnostics;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Primitives;

namespace NekkBackup.Core.Imaging
{
    /// <summary>One activity's progress for the image engine: throttled by the one <see cref="ProgressThrottle"/>, with a rate for Write-Progress's ETA.</summary>
    internal sealed class GhostProgress
    {
        private readonly IRunObserver _observer;
        private readonly string _activity;
        private readonly ProgressThrottle _throttle = new();
        private readonly Stopwatch _clock = Stopwatch.StartNew();

        public GhostProgress(IRunObserver observer, string activity)
        {
            _observer = observer;
            _activity = activity;
        }

        public void Report(string status, long bytesDone, long bytesTotal, long itemsDone, long itemsTotal, string? item = null)
        {
            if (!_throttle.TryEnter()) return;
            double secs = _clock.Elapsed.TotalSeconds;
            _observer.Progress(new RunProgress(_activity, status)
            {
                CurrentItem = item,
                BytesDone = bytesDone,
                BytesTotal = bytesTotal,
                ItemsDone = itemsDone,
                ItemsTotal = itemsTotal,
                BytesPerSecond = secs > 0.05 ? bytesDone / secs : 0,
            });
        }

        public void Completed(string status) => _observer.Progress(new RunProgress(_activity, status) { Completed = true });
    }
}
