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

            public RetryPreset(int attempts, TimeSpan first, TimeSpan max)
            {
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
            var predicate = isTransient ?? IsTransientIo;
            return new ResiliencePipelineBuilder()
                .AddRetry(new RetryStrategyOptions
                {
                    ShouldHandle = new PredicateBuilder().Handle<Exception>(predicate),
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    MaxRetryAttempts = preset.MaxRetryAttempts,
                    Delay = preset.FirstDelay,
                    MaxDelay = preset.MaxDelay,
                    OnRetry = args =>
                    {
                        var msg = $"Transient fault, retry {args.AttemptNumber + 1} of {preset.MaxRetryAttempts} in {args.RetryDelay.TotalMilliseconds:0} ms: {args.Outcome.Exception?.Message}";
                        log?.Logger.Warning(args.Outcome.Exception, "Retry {Attempt} after {Delay}", args.AttemptNumber + 1, args.RetryDelay);
                        observer.Message(RunMessageLevel.Verbose, msg);
                        return default;
                    },
                })
                .Build();
        }
    }
}
