using System;
using System.Diagnostics;
using System.Threading;
using NekkBackup.Core.Observability;

namespace NekkBackup.Core.Folder
{
    /// <summary>Thread-safe counters reported to the observer at most ~4 times a second.</summary>
    internal sealed class ProgressMeter
    {
        private readonly IRunObserver _observer;
        private readonly string _activity;
        private readonly Stopwatch _sw = Stopwatch.StartNew();
        private long _lastReportMs = -1000;
        private long _bytesDone, _itemsDone;

        public ProgressMeter(IRunObserver observer, string activity)
        {
            _observer = observer;
            _activity = activity;
        }

        public long BytesTotal { get; set; }
        public long ItemsTotal { get; set; }
        public string Phase { get; set; } = "";

        public void AddBytes(long n) { Interlocked.Add(ref _bytesDone, n); Maybe(null); }

        public void ItemDone(string? item) { Interlocked.Increment(ref _itemsDone); Maybe(item); }

        private void Maybe(string? item)
        {
            long now = _sw.ElapsedMilliseconds;
            long last = Interlocked.Read(ref _lastReportMs);
            if (now - last < 250) return;
            if (Interlocked.CompareExchange(ref _lastReportMs, now, last) != last) return;
            Report(item, false);
        }

        public void Report(string? item, bool completed)
        {
            long bytes = Interlocked.Read(ref _bytesDone);
            double secs = _sw.Elapsed.TotalSeconds;
            try
            {
                _observer.Progress(new RunProgress(_activity, Phase)
                {
                    CurrentItem = item,
                    BytesDone = bytes,
                    BytesTotal = BytesTotal,
                    ItemsDone = Interlocked.Read(ref _itemsDone),
                    ItemsTotal = ItemsTotal,
                    BytesPerSecond = secs > 0.05 ? bytes / secs : 0,
                    Completed = completed,
                });
            }
            catch (Exception) { }
        }
    }
}
