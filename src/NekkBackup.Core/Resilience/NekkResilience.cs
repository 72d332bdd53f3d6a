using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using Polly;
using Polly.Retry;

namespace NekkBackup.Core.Resilience
{
    /// <summary>
    /// Polly pipelines per target kind (STYLE.md §3.7). Transient faults are retried with exponential
    /// backoff and jitter, bounded; permanent ones (not found, denied, disk full, bad name,
    /// cancellation) never are.
    /// </summary>
    public static class NekkResilience
    {
        /// <summary>Named safety presets instead of magic numbers.</summary>
        public sealed class RetryPreset
        {
            public static readonly RetryPreset FileShare = new(4, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(10));
            public static readonly RetryPreset Fast = new(2, TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(100));
            /// <summary>Alerts (Core/Notify): a short budget, so an unreachable webhook never holds a scheduled run for long.</summary>
            public static readonly RetryPreset Notify = new(2, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(2));
            /// <summary>S3 and other object stores: 5xx and throttling clear within seconds (Cloud.CloudTarget's defaults).</summary>
            public static readonly RetryPreset ObjectStore = new(5, TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(15));

            public RetryPreset(int attempts, TimeSpan first, TimeSpan max)
            {
                if (attempts < 0 || first < TimeSpan.Zero || max < first) throw new ArgumentOutOfRangeException(nameof(attempts), "A retry preset needs attempts >= 0 and 0 <= first delay <= max delay.");
                MaxRetryAttempts = attempts;
                FirstDelay = first;
                MaxDelay = max;
            }

            public int MaxRetryAttempts { get; }
            public TimeSpan FirstDelay { get; }
            public TimeSpan MaxDelay { get; }
        }

        /// <summary>Transient I/O on a network share: a dropped SMB session, a timeout, a sharing violation.</summary>
        public static bool IsTransientIo(Exception ex)
        {
            switch (ex)
            {
                case OperationCanceledException:
                    return false;
                case NekkBackupException n:
                    return n.IsTransient;
                case UnauthorizedAccessException:
                case FileNotFoundException:
                case DirectoryNotFoundException:
                case PathTooLongException:
                    return false;
                case IOException io:
                    return !Fail.IsDiskFull(io) && !Fail.IsInvalidName(io);
                case TimeoutException:
                    return true;
                default:
                    return false;
            }
        }

        /// <summary>Delivery of an alert: <see cref="RetryPreset.Notify"/> retries of transient faults, each attempt bounded by <paramref name="attemptTimeout"/>.</summary>
        public static ResiliencePipeline ForNotification(RunLog? log, IRunObserver observer, TimeSpan attemptTimeout) =>
            new ResiliencePipelineBuilder()
                .AddPipeline(ForFileShare(log, observer, RetryPreset.Notify))
                .AddTimeout(attemptTimeout)
                .Build();

        public static ResiliencePipeline ForFileShare(RunLog? log, IRunObserver observer, RetryPreset? preset = null, Func<Exception, bool>? isTransient = null)
        {
            preset ??= RetryPreset.FileShare;
            var p = preset;
            return Build(p, isTransient ?? IsTransientIo, (attempt, delay, ex) =>
            {
                var msg = $"Transient fault, retry {attempt} of {p.MaxRetryAttempts} in {delay.TotalMilliseconds:0} ms: {ex?.Message}";
                // One log line per retry: written here with its properties, then shown at Verbose without a second line.
                if (log == null) { observer.Message(RunMessageLevel.Verbose, msg); return; }
                log.Logger.Warning("Transient fault, retry {Attempt} of {MaxAttempts} in {Delay}: {Error}", attempt, p.MaxRetryAttempts, delay, ex?.Message);
                RunLog.ForwardLogged(observer, RunMessageLevel.Verbose, msg);
            });
        }

        /// <summary>
        /// The one retry pipeline every layer builds on: exponential backoff with jitter, capped, retrying only what
        /// <paramref name="shouldRetry"/> accepts (cancellation never), calling <paramref name="onRetry"/> once per
        /// retry with the 1-based attempt about to start, its delay and the fault.
        /// </summary>
        public static ResiliencePipeline Build(RetryPreset preset, Func<Exception, bool> shouldRetry, Action<int, TimeSpan, Exception?> onRetry)
        {
            if (preset == null) throw new ArgumentNullException(nameof(preset));
            if (shouldRetry == null) throw new ArgumentNullException(nameof(shouldRetry));
            var options = new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(ex => !(ex is OperationCanceledException oce && oce.CancellationToken.IsCancellationRequested) && shouldRetry(ex)),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                MaxRetryAttempts = preset.MaxRetryAttempts,
                MaxDelay = preset.MaxDelay,
                OnRetry = args =>
                {
                    onRetry(args.AttemptNumber + 1, args.RetryDelay, args.Outcome.Exception);
                    return default;
                },
            };
            // A preset delay of zero means "retry at once" (tests); Polly is given one tick.
            if (preset.FirstDelay > TimeSpan.Zero) options.Delay = preset.FirstDelay;
            else options.Delay = TimeSpan.FromTicks(1);
            var builder = new ResiliencePipelineBuilder();
            if (preset.MaxRetryAttempts > 0) builder.AddRetry(options);
            return builder.Build();
        }
    }
}