using System.Diagnostics;
using System.Text;

namespace NekkBackup.Core.Observability
{
    /// <summary>
    /// Stopwatch spans for a run's Debug line ("Phases: listing 12 ms, pipeline 840 ms, …"): <see cref="Mark"/> closes the
    /// span since the previous mark under a name. So a slow run shows in its own log where its time went, without a
    /// profiler. Not thread-safe: one run's calling thread marks.
    /// </summary>
    internal sealed class PhaseClock
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly StringBuilder _spans = new();
        private long _last;

        /// <summary>Closes the span since the previous mark (or the start) as <paramref name="phase"/>.</summary>
        public void Mark(string phase)
        {
            long now = _clock.ElapsedMilliseconds;
            if (_spans.Length > 0) _spans.Append(", ");
            _spans.Append(phase).Append(' ').Append(now - _last).Append(" ms");
            _last = now;
        }

        public long ElapsedMilliseconds => _clock.ElapsedMilliseconds;

        public override string ToString() => _spans.ToString();

        /// <summary>Writes the spans so far at Debug.</summary>
        public void Log(Serilog.ILogger log, string what) => log.Debug("{What} phases: {Phases}; total {Ms} ms", what, ToString(), ElapsedMilliseconds);
    }
}
