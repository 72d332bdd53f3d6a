using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;

namespace NekkBackup.Core.Plans
{
    /// <summary>Options of one Invoke-NekkBackupPlan.</summary>
    public sealed class PlanRunOptions
    {
        /// <summary>Due (default), or one leg run now whatever its schedule.</summary>
        public string Job { get; init; } = "Due";
        /// <summary>Finds running DAWs; tests may substitute it.</summary>
        public Func<IReadOnlyList<string>, IReadOnlyList<DawProcess>> FindDaws { get; init; } = DawDetector.FindRunning;
        /// <summary>Write the host's status JSON for Get-NekkFleetStatus (default true).</summary>
        public bool PublishStatus { get; init; } = true;
        /// <summary>Write the Windows Event Log entry (default true; Windows only, failures ignored).</summary>
        public bool WriteEventLog { get; init; } = true;
    }

    /// <summary>
    /// Invoke-NekkBackupPlan: runs what is due (from the history), one run per plan at a time, deferring or
    /// throttling while a DAW runs; records every step next to the data and locally; publishes the host status.
    /// </summary>
    public static class PlanRunner
    {
        public static readonly string[] Jobs = { "Due", "Folder", "Image", "Cloud", "Drill" };

        private delegate PlanRunResult DoneFn(string status, string? reason, IReadOnlyList<PlanHistoryEntry> steps, IReadOnlyList<PlanLeg> legs,
            bool deferred = false, bool throttled = false, string[]? daws = null, string? publishedTo = null);

        public static async Task<PlanRunResult> RunAsync(BackupPlan plan, PlanRunOptions options, IRunObserver observer, CancellationToken ct)
        {
            observer ??= NullRunObserver.Instance;
            var job = Jobs.FirstOrDefault(j => string.Equals(j, options.Job, StringComparison.OrdinalIgnoreCase))
                ?? throw Fail.Argument("InvalidJob", $"Unknown job '{options.Job}'; use {string.Join(", ", Jobs)}.", options.Job);
            if (job != "Due")
            {
                var leg = (PlanLeg)Enum.Parse(typeof(PlanLeg), job);
                if (!plan.Legs.Contains(leg))
                    throw Fail.Argument("JobNotInPlan", $"The plan '{plan.Name}' has no {leg} leg (add the {leg} key to {plan.Path}).", job);
            }
            var runId = Primitives.RunId.New();
            var started = DateTime.UtcNow;
            using var log = RunLog.Open(runId, "Invoke-NekkBackupPlan");
            var obs = log.Wrap(observer);
            log.Logger.Information("Plan {Plan} run {RunId}: job {Job}", plan.Name, runId, job);

            PlanRunResult Done(string status, string? reason, IReadOnlyList<PlanHistoryEntry> steps, IReadOnlyList<PlanLeg> legs, bool deferred = false, bool throttled = false, string[]? daws = null, string? publishedTo = null)
            {
                var r = new PlanRunResult
                {
                    Plan = plan.Name, Host = plan.Host, RunId = runId, Started = started.ToLocalTime(), Duration = DateTime.UtcNow - started,
                    Requested = job, JobsRun = legs.Select(l => l.ToString()).ToArray(), Jobs = steps, Status = status,
                    ExitCode = PlanExitCodes.For(status), Reason = reason, Deferred = deferred, Throttled = throttled,
                    DawProcesses = daws ?? Array.Empty<string>(), StatusPublishedTo = publishedTo,
                };
                if (string.IsNullOrEmpty(reason))
                    log.Finished(status, "Plan {Plan} run {RunId} {Status} (exit {ExitCode})", plan.Name, runId, status, r.ExitCode);
                else
                    log.Finished(status, "Plan {Plan} run {RunId} {Status} (exit {ExitCode}): {Reason}", plan.Name, runId, status, r.ExitCode, reason);
                if (options.WriteEventLog) PlanEventLog.TryWrite(r);
                return r;
            }

            // One run per plan at a time — decided before anything touches a share: a refused run must not open, let
            // alone cancel, the connection the running one is copying over (review W3).
            using var planLock = PlanLock.TryAcquire(plan);
            if (planLock == null)
            {
                var why = $"another run of plan '{plan.Name}' is in progress ({PlanLock.Holder(plan)}); this one did nothing";
                var (refusedSteps, refusedLegs) = RecordFailedStart(plan, job, runId, started, "Refused", why, obs);
                return Done("Refused", why, refusedSteps, refusedLegs);
            }

            // SYSTEM reaches a workgroup NAS only with the credential stored for it (Set-NekkCredential): a temporary
            // connection per share for the whole run, cancelled (never forced) at the end (Windows; a no-op elsewhere).
            IDisposable connections;
            try { connections = NasConnection.OpenAll(PlanShares(plan)); }
            catch (NekkBackupException ex)
            {
                var (failedSteps, failedLegs) = RecordFailedStart(plan, job, runId, started, "Unreachable", ex.Message, obs);
                var unreachable = Done("Unreachable", ex.Message, failedSteps, failedLegs);
                await Notify.PlanRunHooks.AfterRunAsync(plan, unreachable, log, obs, ct).ConfigureAwait(false);
                return unreachable;
            }
            PlanRunResult result;
            using (connections)
                result = await RunLockedAsync(plan, options, job, runId, obs, Done, ct).ConfigureAwait(false);
            // The plan's Report and Notify keys (best effort: never changes the result or its exit code).
            await Notify.PlanRunHooks.AfterRunAsync(plan, result, log, obs, ct).ConfigureAwait(false);
            return result;
        }

        /// <summary>The plan's destinations that may be NAS shares (the folder destination and the image repository).</summary>
        public static IEnumerable<string?> PlanShares(BackupPlan plan) => new[] { plan.NasDestination, plan.HasImage ? plan.ImageRepository : null };

        private static async Task<PlanRunResult> RunLockedAsync(BackupPlan plan, PlanRunOptions options, string job, string runId, IRunObserver obs,
            DoneFn Done, CancellationToken ct)
        {
            // Destination reachable? (exit 4, before anything else: a NAS that is down is the commonest failure.)
            var unreachable = Unreachable(plan.NasDestination);
            if (unreachable != null)
            {
                var (failedSteps, failedLegs) = RecordFailedStart(plan, job, runId, DateTime.UtcNow, "Unreachable", unreachable, obs);
                return Done("Unreachable", unreachable, failedSteps, failedLegs);
            }

            var history = PlanHistoryStore.Read(plan);
            var now = DateTime.Now;
            var legs = job == "Due"
                ? plan.Legs.Where(l => IsDue(plan, l, history, now)).ToList()
                : new List<PlanLeg> { (PlanLeg)Enum.Parse(typeof(PlanLeg), job) };
            if (legs.Count == 0)
                return Done("NothingDue", null, Array.Empty<PlanHistoryEntry>(), legs);

            var daws = options.FindDaws(plan.DawProcesses);
            bool throttled = false;
            string[] dawNames = daws.Select(d => d.ToString()).ToArray();
            if (daws.Count > 0)
            {
                if (plan.DawPolicy == "Throttle")
                {
                    throttled = true;
                    obs.Message(RunMessageLevel.Warning, $"{string.Join(", ", dawNames)} is running: the jobs run throttled (plan Daw.Policy = Throttle).");
                }
                else
                {
                    var why = $"deferred: {string.Join(", ", dawNames)} is running (plan Daw.Policy = Defer); the next scheduled run catches up";
                    var deferredSteps = legs.Select(l => Entry(new PlanJobContext { Plan = plan, PlanRunId = runId }, l, "Defer", DateTime.UtcNow, "Deferred", why)).ToList();
                    foreach (var p in PlanHistoryStore.Append(plan, deferredSteps)) obs.Message(RunMessageLevel.Warning, p);
                    var pub = options.PublishStatus ? await PublishAsync(plan, obs, ct).ConfigureAwait(false) : null;
                    return Done("Deferred", why, deferredSteps, legs, deferred: true, daws: dawNames, publishedTo: pub);
                }
            }

            var steps = new List<PlanHistoryEntry>();
            var ctx = new PlanJobContext { Plan = plan, PlanRunId = runId, Throttled = throttled, Observer = obs };
            bool cancelled = false;
            foreach (var leg in legs)
            {
                if (ct.IsCancellationRequested) { cancelled = true; break; }
                IReadOnlyList<PlanHistoryEntry> legSteps;
                var legStart = DateTime.UtcNow;
                try { legSteps = await PlanLegRegistry.Runner(leg).RunAsync(ctx, ct).ConfigureAwait(false); }
                catch (OperationCanceledException) when (ct.IsCancellationRequested)
                {
                    legSteps = new[] { Entry(ctx, leg, "Run", legStart, "Cancelled", "stopped (Ctrl+C or the scheduler's time limit)") };
                    cancelled = true;
                }
                catch (NekkBackupException ex)
                {
                    legSteps = new[] { Entry(ctx, leg, "Run", legStart, StatusOf(ex), ex.Message) };
                }
                steps.AddRange(legSteps);
                foreach (var p in PlanHistoryStore.Append(plan, legSteps)) obs.Message(RunMessageLevel.Warning, p);
                if (cancelled) break;
            }

            var status = Combine(steps.Select(s => s.Status), cancelled);
            string? reason = status == "Succeeded" ? null
                : string.Join("; ", steps.Where(s => !IsOk(s.Status)).Select(s => $"{s.Job} {s.Step} {s.Status}: {s.Detail}"));
            if (string.IsNullOrEmpty(reason) && status != "Succeeded") reason = status;
            string? published = null;
            if (options.PublishStatus)
            {
                try { published = await PublishAsync(plan, obs, CancellationToken.None).ConfigureAwait(false); }
                catch (Exception ex) when (ex is not OperationCanceledException) { obs.Message(RunMessageLevel.Warning, "Could not publish the host status: " + ex.Message); }
            }
            return Done(status, reason, steps, legs, throttled: throttled, daws: throttled ? dawNames : null, publishedTo: published);
        }

        /// <summary>
        /// A run that stopped before any leg ran (the NAS unreachable, another run holding the plan's lock) is history too,
        /// so Get-NekkBackupHistory, reports and the fleet status show it: one entry per leg it was to run (the job asked
        /// for, or the legs due; the first leg when none was), written to the local copy only — the NAS may be what is
        /// down, and the run holding the lock writes the NAS copy.
        /// </summary>
        private static (IReadOnlyList<PlanHistoryEntry> Steps, IReadOnlyList<PlanLeg> Legs) RecordFailedStart(BackupPlan plan, string job, string runId,
            DateTime startedUtc, string status, string reason, IRunObserver obs)
        {
            List<PlanLeg> legs;
            if (job != "Due") legs = new List<PlanLeg> { (PlanLeg)Enum.Parse(typeof(PlanLeg), job) };
            else
            {
                // Not the NAS copy when the NAS is what is down (a hung share must not hold the run).
                var history = status == "Unreachable"
                    ? PlanHistoryStore.ReadFile(PlanHistoryStore.LocalHistoryPath(plan)).Where(e => string.Equals(e.Plan, plan.Name, StringComparison.OrdinalIgnoreCase)).ToList()
                    : PlanHistoryStore.Read(plan);
                var now = DateTime.Now;
                legs = plan.Legs.Where(l => IsDue(plan, l, history, now)).ToList();
                if (legs.Count == 0) legs = plan.Legs.Take(1).ToList();
            }
            var ctx = new PlanJobContext { Plan = plan, PlanRunId = runId };
            var steps = legs.Select(l => Entry(ctx, l, "Run", startedUtc, status, reason)).ToList();
            foreach (var p in PlanHistoryStore.Append(plan, steps, toNas: false)) obs.Message(RunMessageLevel.Warning, p);
            return (steps, legs);
        }

        /// <summary>A leg is due when no good run of it started since its latest scheduled slot (from the history).</summary>
        public static bool IsDue(BackupPlan plan, PlanLeg leg, IReadOnlyList<PlanHistoryEntry> history, DateTime nowLocal)
        {
            var slot = plan.ScheduleFor(leg).PreviousOccurrence(nowLocal);
            var last = history.Where(e => e.Job == leg.ToString() && e.IsGood && e.Step != "Verify")
                .Select(e => (DateTime?)e.StartedUtc.ToLocalTime()).DefaultIfEmpty(null).Max();
            if (last == null) return true;
            if (slot == null) return false;
            return last.Value < slot.Value - ComplianceEvaluator.EarlyTolerance;
        }

        /// <summary>Null when the NAS destination (or, before the first run, its parent) is reachable.</summary>
        public static string? Unreachable(string destination)
        {
            try
            {
                if (Directory.Exists(destination)) return null;
                var parent = Path.GetDirectoryName(destination.TrimEnd('/', '\\'));
                if (parent != null && Directory.Exists(parent)) return null;
                return $"the NAS destination '{destination}' is not reachable (is the share online and mounted, and does the schedule's account have access? See Set-NekkCredential and Test-NekkBackupPlan)";
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                return $"the NAS destination '{destination}' is not reachable: {ex.Message}";
            }
        }

        public static async Task<string?> PublishAsync(BackupPlan plan, IRunObserver obs, CancellationToken ct)
        {
            var evidence = await PlanLegRegistry.GatherAsync(plan, ct).ConfigureAwait(false);
            var findings = ComplianceEvaluator.Evaluate(plan, evidence, DateTime.Now);
            var history = PlanHistoryStore.Read(plan);
            if (plan.HasCloud)
            {
                try { await PlanLegRegistry.Bucket.PublishStatusAsync(plan, FleetStatus.Build(plan, findings, evidence, history), history, ct).ConfigureAwait(false); }
                catch (NekkBackupException ex) { obs.Message(RunMessageLevel.Warning, "Could not publish the host status to the bucket: " + ex.Message); }
            }
            try { return FleetStatus.Publish(plan, findings, evidence, history); }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is NekkBackupException)
            {
                obs.Message(RunMessageLevel.Warning, $"Could not publish the host status to '{PlanPaths.StatusDirectory(plan)}': {ex.Message}");
                return null;
            }
        }

        private static bool IsOk(string s) => s == "Succeeded" || s == "Passed";

        /// <summary>Worst status wins: Unreachable, Failed, Refused, Cancelled, CompletedWithErrors, Succeeded.</summary>
        public static string Combine(IEnumerable<string> statuses, bool cancelled)
        {
            var list = statuses.ToList();
            if (list.Contains("Unreachable")) return "Unreachable";
            if (list.Contains("Failed")) return "Failed";
            if (list.Contains("Refused")) return "Refused";
            if (cancelled || list.Contains("Cancelled")) return "Cancelled";
            // A drill waiting for a thaw did not prove the copy yet: the run says so (exit 2) and a later run finishes it.
            if (list.Contains("CompletedWithErrors") || list.Contains("Warning") || list.Contains("ThawRequested")) return "CompletedWithErrors";
            return "Succeeded";
        }

        internal static string StatusOf(NekkBackupException ex) =>
            ex.ErrorId is "NekkBackup.DestinationNotFound" or "NekkBackup.RepositoryNotFound" || ex.Kind == FailureKind.ConnectionError ? "Unreachable"
            : ex.Kind == FailureKind.OperationStopped ? "Cancelled"
            : "Failed";

        internal static PlanHistoryEntry Entry(PlanJobContext ctx, PlanLeg leg, string step, DateTime startedUtc, string status, string detail) => new()
        {
            Plan = ctx.Plan.Name, Host = ctx.Plan.Host, PlanRunId = ctx.PlanRunId, Job = leg.ToString(), Step = step,
            StartedUtc = startedUtc, FinishedUtc = DateTime.UtcNow, Status = status, Throttled = ctx.Throttled, Detail = detail,
        };
    }
}
