using System;
using System.Diagnostics;
using System.Threading;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Primitives;

namespace NekkBackup.Core.Folder
{
    /// <summary>Thread-safe counters of a folder run, reported to the observer through the one <see cref="ProgressThrottle"/>.</summary>
    internal sealed class FolderProgress
    {
        private readonly IRunObserver _observer;
        private readonly string _activity;
        private readonly Stopwatch _sw = Stopwatch.StartNew();
        private readonly ProgressThrottle _throttle = new();
        private long _bytesDone, _itemsDone;

        public FolderProgress(IRunObserver observer, string activity)
        {
            _observer = observer;
            _activity = activity;
        }

        public long BytesTotal { get; set; }
        public long ItemsTotal { get; set; }
        private string _phase = "";

        /// <summary>The status text; a new phase is reported at the next update without waiting for the throttle.</summary>
        public string Phase
        {
            get => _phase;
            set
            {
                if (_phase == value) return;
                _phase = value;
                _throttle.Reset();
            }
        }

        public void AddBytes(long n) { Interlocked.Add(ref _bytesDone, n); Maybe(null); }

        public void ItemDone(string? item) { Interlocked.Increment(ref _itemsDone); Maybe(item); }

        /// <summary>A report without counting (e.g. while scanning), throttled like the others.</summary>
        public void Tick(string? item) => Maybe(item);

        private void Maybe(string? item)
        {
            if (_throttle.TryEnter()) Report(item, false);
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
