using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Plans;
using NekkBackup.Core.Resilience;

namespace NekkBackup.Core.Notify
{
    /// <summary>
    /// Sends a message to every channel of a plan's Notify key through the Polly pipeline (short budget). A channel that
    /// cannot be reached is a Warning naming the channel (never its URL or password); nothing here throws into a run.
    /// </summary>
    public static class Notifier
    {
        /// <summary>Each attempt's limit and the whole channel's budget (retries included).</summary>
        public static TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);
        public static TimeSpan ChannelBudget { get; set; } = TimeSpan.FromSeconds(30);

        public static async Task<IReadOnlyList<NotificationDelivery>> SendAsync(NotifySettings settings, NotificationMessage message, RunLog? log,
            IRunObserver observer, CancellationToken ct)
        {
            var channels = new List<(string kind, string name, Func<CancellationToken, Task> send)>();
            foreach (var w in settings.Webhooks) channels.Add(("Webhook", NotifyChannels.Describe(w), t => NotifyChannels.SendWebhookAsync(w, message, t)));
            if (settings.Smtp != null) channels.Add(("Email", NotifyChannels.Describe(settings.Smtp), t => NotifyChannels.SendMailAsync(settings.Smtp, message, t)));
            var results = new List<NotificationDelivery>();
            foreach (var (kind, name, send) in channels)
            {
                int attempts = 0;
                var started = DateTime.UtcNow;
                string? problem = null;
                using var budget = CancellationTokenSource.CreateLinkedTokenSource(ct);
                budget.CancelAfter(ChannelBudget);
                try
                {
                    var pipeline = NekkResilience.ForNotification(log, observer, AttemptTimeout);
                    await pipeline.ExecuteAsync(async t => { attempts++; await send(t).ConfigureAwait(false); }, budget.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (ct.IsCancellationRequested) { throw; }
                catch (OperationCanceledException) { problem = $"{name}: no answer within {ChannelBudget.TotalSeconds:0} s"; }
                catch (Polly.Timeout.TimeoutRejectedException) { problem = $"{name}: no answer within {AttemptTimeout.TotalSeconds:0} s"; }
                catch (NekkBackupException ex) { problem = ex.Message; }
                catch (Exception ex) { problem = $"{name}: {ex.GetType().Name}"; }
                if (problem != null)
                    observer.Message(RunMessageLevel.Warning, $"Notification ({message.Kind}) to {name} could not be delivered: {problem}");
                else
                    observer.Message(RunMessageLevel.Verbose, $"Notification ({message.Kind}) delivered to {name}.");
                results.Add(new NotificationDelivery
                {
                    Channel = name, Kind = kind, Message = message.Kind, Delivered = problem == null, Attempts = attempts,
                    Duration = DateTime.UtcNow - started, Detail = problem ?? message.Title,
                });
            }
            return results;
        }

        /// <summary>
        /// Whether a run's outcome is worth a message under the plan's When, and of which kind: Failure (failed, refused,
        /// unreachable), Change (the verdict changed since the last evaluation) or Run (When = Always, anything that ran).
        /// </summary>
        public static string? Trigger(string when, PlanRunResult run, ComplianceSnapshot? before, ComplianceSnapshot? now)
        {
            // A run refused because another run of the plan holds the lock did nothing: that one is not worth a message.
            bool failed = NotificationMessage.IsFailure(run.Status) && (run.Jobs.Count > 0 || run.Status == "Unreachable");
            bool changed = before != null && now != null && !before.SameAs(now);
            return when switch
            {
                "Always" => failed ? "Failure" : changed ? "Change" : run.Status == "NothingDue" ? null : "Run",
                "Change" => failed ? "Failure" : changed ? "Change" : null,
                _ => failed ? "Failure" : null,
            };
        }
    }

    /// <summary>The compliance verdict last seen for a plan (for When = 'Change'), kept under the plan's local data folder.</summary>
    public sealed class ComplianceSnapshot
    {
        public bool Compliant { get; set; }
        public List<string> Failing { get; set; } = new();
        public DateTime EvaluatedUtc { get; set; }

        public static ComplianceSnapshot Of(IReadOnlyList<ComplianceFinding> findings) => new()
        {
            Compliant = ComplianceEvaluator.IsCompliant(findings),
            Failing = findings.Where(f => f.Status == "Fail").Select(f => f.Rule).OrderBy(r => r, StringComparer.Ordinal).ToList(),
            EvaluatedUtc = DateTime.UtcNow,
        };

        public bool SameAs(ComplianceSnapshot other) => Compliant == other.Compliant && Failing.SequenceEqual(other.Failing, StringComparer.Ordinal);

        public static string PathFor(BackupPlan plan) => Path.Combine(PlanPaths.PlanDataDirectory(plan), "notify-state.json");

        public static ComplianceSnapshot? Load(BackupPlan plan)
        {
            try
            {
                var p = PathFor(plan);
                return File.Exists(p) ? JsonSerializer.Deserialize<ComplianceSnapshot>(File.ReadAllBytes(p)) : null;
            }
            catch (Exception ex) when (ex is IOException || ex is JsonException || ex is UnauthorizedAccessException) { return null; }
        }

        public void Save(BackupPlan plan)
        {
            var p = PathFor(plan);
            Directory.CreateDirectory(Path.GetDirectoryName(p)!);
            AtomicFile.Write(p, JsonSerializer.SerializeToUtf8Bytes(this));
        }
    }
}
