using System;
using System.IO;
using NekkBackup.Core.Errors;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Formatting.Compact;

namespace NekkBackup.Core.Observability
{
    /// <summary>
    /// One structured log per run (PRODUCT.md §4): a rolling file under the platform's data folder,
    /// every event enriched with RunId, Operation and Host. Text by default; CLEF (one JSON object per
    /// line) when NEKKBACKUP_LOG_FORMAT=Clef. Messages use templates; secrets are never passed in.
    /// The observer wrapper mirrors warnings and item failures into the log, so -Verbose and the log
    /// tell the same story.
    /// </summary>
    public sealed class RunLog : IDisposable
    {
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

        public static string LogDirectory => Path.Combine(OperatingSystemInfo.DataDirectory, "logs");

        /// <summary>Opens the run log. Logging problems never fail a backup: they fall back to no log.</summary>
        public static RunLog Open(string runId, string operation)
        {
            var dir = LogDirectory;
            try
            {
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
                    : cfg.WriteTo.File(file, rollingInterval: RollingInterval.Day, retainedFileCountLimit: 30, shared: true,
                        outputTemplate: "{Timestamp:yyyy-MM-dd HH:mm:ss.fff zzz} [{Level:u3}] {RunId} {Operation}: {Message:lj}{NewLine}{Exception}");
                var logger = cfg.CreateLogger();
                return new RunLog(runId, operation, logger, logger, dir);
            }
            catch (Exception)
            {
                return new RunLog(runId, operation, Serilog.Core.Logger.None, null, null);
            }
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
                var l = level switch
                {
                    RunMessageLevel.Warning => LogEventLevel.Warning,
                    RunMessageLevel.Information => LogEventLevel.Information,
                    RunMessageLevel.Verbose => LogEventLevel.Information,
                    _ => LogEventLevel.Debug,
                };
                _log.Logger.Write(l, "{Text}", text);
                _inner.Message(level, text);
            }

            public void ItemFailed(string item, NekkBackupException error)
            {
                _log.Logger.Warning("{Item} failed: {ErrorId} {Reason}", item, error.ErrorId, error.Message);
                _inner.ItemFailed(item, error);
            }
        }
    }
}
