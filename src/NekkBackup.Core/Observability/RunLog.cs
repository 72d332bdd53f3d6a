using System;
using System.IO;
using System.Text;
using System.Threading;
using NekkBackup.Core.Errors;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace NekkBackup.Core.Observability
{
    /// <summary>
    /// One structured log per run (PRODUCT.md §4): a rolling daily file per user under the platform's data folder
    /// (<see cref="LogDirectory"/>), every event enriched with RunId, Operation and Host. Text by default (sizes
    /// written for people, <see cref="HumanTextFormatter"/>); CLEF (one JSON object per line, numbers kept as
    /// numbers) when NEKKBACKUP_LOG_FORMAT=Clef. Messages use templates; secrets are never passed in.
    /// The observer wrapper mirrors messages and item failures into the log, so -Verbose and the log tell the same
    /// story — each event once, however many run logs wrap one another (a plan run around its legs).
    /// Every run ends in one summary line (<see cref="Finished"/>) whose level follows its status: failed,
    /// refused and unreachable runs are Errors, so `grep ERR` finds every run that did not work.
    /// </summary>
    public sealed class RunLog : IDisposable
    {
        private static readonly AsyncLocal<RunScope?> s_scope = new();

        /// <summary>Set while an event is being forwarded to observers after it was logged, so outer wrappers skip it.</summary>
        [ThreadStatic]
        private static bool t_logged;

        private readonly Logger? _logger;

        private RunLog(string runId, string operation, ILogger logger, Logger? owned, string? path)
        {
            RunId = runId;
            Operation = operation;
            Logger = logger;
            _logger = owned;
            FilePath = path;
        }

        public string RunId { get; }
        public string Operation { get; }
        public ILogger Logger { get; }
        /// <summary>The directory the rolling files go to, or null when logging is off.</summary>
        public string? FilePath { get; }

        public static string NewRunId() =>
            DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'") + "-" + Guid.NewGuid().ToString("N").Substring(0, 8);

        /// <summary>
        /// &lt;data folder&gt;/logs/&lt;user&gt;: the data folder is per machine for SYSTEM/root (and whenever
        /// NEKKBACKUP_DATA points several accounts at one folder), so each account writes its own daily files and
        /// never appends to another account's.
        /// </summary>
        public static string LogDirectory => Path.Combine(OperatingSystemInfo.DataDirectory, "logs", UserFolderName(Environment.UserName));

        /// <summary>The account name as a folder name: letters, digits, '.', '-' and '_' kept, anything else '_'.</summary>
        public static string UserFolderName(string? user)
        {
            if (string.IsNullOrWhiteSpace(user)) return "unknown";
            var sb = new StringBuilder(user!.Length);
            foreach (var c in user.Trim())
                sb.Append(char.IsLetterOrDigit(c) || c == '.' || c == '-' || c == '_' ? c : '_');
            var name = sb.ToString().Trim('.');
            return name.Length == 0 ? "unknown" : name;
        }

        /// <summary>Opens the run log. Logging problems never fail a backup: they fall back to no log.</summary>
        public static RunLog Open(string runId, string operation)
        {
            s_scope.Value?.Opened(runId, operation);
            try
            {
                var dir = LogDirectory;
                Directory.CreateDirectory(dir);
                bool clef = string.Equals(Environment.GetEnvironmentVariable("NEKKBACKUP_LOG_FORMAT"), "clef", StringComparison.OrdinalIgnoreCase);
                var cfg = new LoggerConfiguration()
                    .MinimumLevel.Debug()
                    .Enrich.WithProperty("RunId", runId)
                    .Enrich.WithProperty("Operation", operation)
                    .Enrich.WithProperty("Host", OperatingSystemInfo.HostName);
                var file = Path.Combine(dir, clef ? "nekkbackup-.clef" : "nekkbackup-.log");
                cfg = clef
                    ? cfg.WriteTo.File(new CompactJsonFormatter(), file, rollingInterval: RollingInterval.Day, retainedFileCountLimit: 30, shared: true)
                    : cfg.WriteTo.File(new HumanTextFormatter(), file, rollingInterval: RollingInterval.Day, retainedFileCountLimit: 30, shared: true);
                var logger = cfg.CreateLogger();
                return new RunLog(runId, operation, logger, logger, dir);
            }
            catch (Exception)
            {
                return new RunLog(runId, operation, Serilog.Core.Logger.None, null, null);
            }
        }

        /// <summary>The level of a run's summary line: Error for Failed/Refused/Unreachable, Warning for partial outcomes.</summary>
        public static LogEventLevel LevelFor(string? status) => status switch
        {
            "Succeeded" or "Passed" or "NothingDue" or null or "" => LogEventLevel.Information,
            "CompletedWithErrors" or "SucceededWithWarnings" or "Warning" or "Cancelled" or "Deferred" => LogEventLevel.Warning,
            _ => LogEventLevel.Error,
        };

        /// <summary>The run's one summary line, at the level its <paramref name="status"/> calls for.</summary>
        public void Finished(string status, string messageTemplate, params object?[] propertyValues) =>
            Logger.Write(LevelFor(status), messageTemplate, propertyValues);

        /// <summary>
        /// Writes a command that failed (a terminating error, a refused or failed run without a summary of its own) at
        /// Error, with the run id of the run log it opened (or a new one when it failed before opening any).
        /// </summary>
        public static void Failure(string? runId, string operation, string command, string errorId, string reason)
        {
            using var log = OpenQuiet(runId ?? NewRunId(), operation);
            log.Logger.Error("{Command} failed: {ErrorId}: {Reason}", command, errorId, reason);
        }

        private static RunLog OpenQuiet(string runId, string operation)
        {
            var outer = s_scope.Value;
            s_scope.Value = null;
            try { return Open(runId, operation); }
            finally { s_scope.Value = outer; }
        }

        /// <summary>
        /// Notes, for the current async flow, the first run log opened in it (<see cref="RunScope"/>): the cmdlet layer
        /// sets one around engine work, so a run that ends in an exception is logged with its own RunId.
        /// </summary>
        public static RunScope BeginScope()
        {
            var scope = new RunScope();
            s_scope.Value = scope;
            return scope;
        }

        /// <summary>
        /// Forwards to <paramref name="observer"/> a message the caller has already written to a log (with its own level
        /// and properties), so no run-log wrapper on the way writes it a second time.
        /// </summary>
        public static void ForwardLogged(IRunObserver observer, RunMessageLevel level, string text)
        {
            bool outer = t_logged;
            t_logged = true;
            try { observer.Message(level, text); }
            finally { t_logged = outer; }
        }

        /// <summary>An observer that writes to this log and forwards to <paramref name="inner"/>.</summary>
        public IRunObserver Wrap(IRunObserver inner) => new LoggingObserver(this, inner);

        public void Dispose() => _logger?.Dispose();

        private sealed class LoggingObserver : IRunObserver
        {
            private readonly RunLog _log;
            private readonly IRunObserver _inner;

            public LoggingObserver(RunLog log, IRunObserver inner)
            {
                _log = log;
                _inner = inner;
            }

            public void Progress(RunProgress progress) => _inner.Progress(progress);

            public void Message(RunMessageLevel level, string text)
            {
                if (t_logged)
                {
                    _inner.Message(level, text);
                    return;
                }
                var l = level switch
                {
                    RunMessageLevel.Warning => LogEventLevel.Warning,
                    RunMessageLevel.Information => LogEventLevel.Information,
                    RunMessageLevel.Verbose => LogEventLevel.Information,
                    _ => LogEventLevel.Debug,
                };
                _log.Logger.Write(l, "{Text}", text);
                ForwardLogged(_inner, level, text);
            }

            public void ItemFailed(string item, NekkBackupException error)
            {
                if (!t_logged) _log.Logger.Warning("{Item} failed: {ErrorId} {Reason}", item, error.ErrorId, error.Message);
                bool outer = t_logged;
                t_logged = true;
                try { _inner.ItemFailed(item, error); }
                finally { t_logged = outer; }
            }
        }
    }

    /// <summary>The first run log opened in one piece of engine work (see <see cref="RunLog.BeginScope"/>).</summary>
    public sealed class RunScope
    {
        private string? _runId;
        private string? _operation;

        public string? RunId => Volatile.Read(ref _runId);
        public string? Operation => Volatile.Read(ref _operation);

        internal void Opened(string runId, string operation)
        {
            if (Interlocked.CompareExchange(ref _runId, runId, null) == null)
                Volatile.Write(ref _operation, operation);
        }
    }
}
