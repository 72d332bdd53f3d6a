using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Observability
{
    /// <summary>
    /// How the engine reports while it works. Called from any thread; the cmdlet layer queues the
    /// calls and replays them on the pipeline thread (progress, verbose, warnings, per-item errors).
    /// </summary>
    public interface IRunObserver
    {
        void Progress(RunProgress progress);

        void Message(RunMessageLevel level, string text);

        /// <summary>One item failed; the run goes on and counts it (a non-terminating error).</summary>
        void ItemFailed(string item, NekkBackupException error);
    }

    public enum RunMessageLevel
    {
        Debug,
        Verbose,
        Information,
        Warning,
    }

    /// <summary>Progress of a run: bytes and items done out of the totals known so far.</summary>
    public sealed class RunProgress
    {
        public RunProgress(string activity, string status)
        {
            Activity = activity;
            Status = status;
        }

        public string Activity { get; }
        public string Status { get; }
        public string? CurrentItem { get; init; }
        public long BytesDone { get; init; }
        public long BytesTotal { get; init; }
        public long ItemsDone { get; init; }
        public long ItemsTotal { get; init; }
        /// <summary>Bytes per second since the run started; 0 when unknown.</summary>
        public double BytesPerSecond { get; init; }
        /// <summary>True when this activity is finished (the cmdlet sends Completed).</summary>
        public bool Completed { get; init; }
        /// <summary>0 = the job, 1 = an item inside it.</summary>
        public int Level { get; init; }

        public int PercentComplete =>
            BytesTotal > 0 ? (int)System.Math.Min(100, BytesDone * 100 / BytesTotal)
            : ItemsTotal > 0 ? (int)System.Math.Min(100, ItemsDone * 100 / ItemsTotal) : -1;

        /// <summary>Seconds left at the current rate, or -1.</summary>
        public int SecondsRemaining =>
            BytesPerSecond > 0 && BytesTotal > BytesDone ? (int)System.Math.Min(int.MaxValue, (BytesTotal - BytesDone) / BytesPerSecond) : -1;
    }

    public sealed class NullRunObserver : IRunObserver
    {
        public static readonly NullRunObserver Instance = new();
        public void Progress(RunProgress progress) { }
        public void Message(RunMessageLevel level, string text) { }
        public void ItemFailed(string item, NekkBackupException error) { }
    }
}
