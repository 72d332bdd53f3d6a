using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using NekkBackup.Core.Plans;
using NekkBackup.Core.Reports;

namespace NekkBackup.Core.Notify
{
    /// <summary>One alert: what happened, to which host, plan and leg, why, and what to do next. Holds no secret.</summary>
    public sealed class NotificationMessage
    {
        /// <summary>Failure, Change, Run (When = Always), Test or Status.</summary>
        public string Kind { get; init; } = "";
        public string Host { get; init; } = "";
        public string Plan { get; init; } = "";
        /// <summary>The run's status (Failed, Refused, Unreachable, Succeeded…), or Test / Compliant / NotCompliant.</summary>
        public string Status { get; init; } = "";
        public string Title { get; init; } = "";
        public string Reason { get; init; } = "";
        public string NextStep { get; init; } = "";
        public IReadOnlyList<NotificationLeg> Legs { get; init; } = Array.Empty<NotificationLeg>();
        public bool? Compliant { get; init; }
        public IReadOnlyList<string> FailingRules { get; init; } = Array.Empty<string>();
        public DateTime TimeUtc { get; init; }
        public string? RunId { get; init; }

        /// <summary>The message as plain text (e-mail body, chat fallback).</summary>
        public string Text()
        {
            var sb = new StringBuilder();
            sb.Append(Title).Append("\n\n");
            sb.Append("Host: ").Append(Host).Append('\n');
            sb.Append("Plan: ").Append(Plan).Append('\n');
            sb.Append("Status: ").Append(Status).Append('\n');
            foreach (var l in Legs) sb.Append("Leg: ").Append(l.Leg).Append(' ').Append(l.Step).Append(" — ").Append(l.Status).Append(l.Detail != null ? ": " + l.Detail : "").Append('\n');
            if (Reason.Length > 0) sb.Append("Reason: ").Append(Reason).Append('\n');
            if (Compliant != null)
                sb.Append("3-2-1 compliance: ").Append(Compliant.Value ? "compliant" : "NOT compliant (failing: " + string.Join(", ", FailingRules) + ")").Append('\n');
            if (NextStep.Length > 0) sb.Append("\nNext step: ").Append(NextStep).Append('\n');
            sb.Append("\nTime: ").Append(TimeUtc.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss zzz", CultureInfo.InvariantCulture));
            if (RunId != null) sb.Append(" · run ").Append(RunId);
            sb.Append("\nSent by NekkBackup.\n");
            return sb.ToString();
        }

        public static NotificationMessage ForRun(BackupPlan plan, PlanRunResult run, IReadOnlyList<ComplianceFinding>? findings, string kind)
        {
            var planRef = plan.Path ?? plan.Name;
            var bad = run.Jobs.Where(j => !j.IsGood && j.Status != "Deferred" || j.Status == "Deferred" && run.Status == "Deferred").ToList();
            var legs = (bad.Count > 0 ? bad : run.Jobs).Select(j => new NotificationLeg { Leg = j.Job, Step = j.Step, Status = j.Status, Detail = OneLine(j.Detail) }).ToList();
            if (legs.Count == 0 && IsFailure(run.Status))
                legs.Add(new NotificationLeg
                {
                    Leg = run.Requested == "Due" || run.Requested.Length == 0 ? string.Join(", ", plan.Legs) : run.Requested,
                    Step = "Run", Status = run.Status, Detail = OneLine(run.Reason),
                });
            var failing = findings?.Where(f => f.Status == "Fail").Select(f => f.Rule).ToList() ?? new List<string>();
            bool failed = IsFailure(run.Status);
            string next;
            if (failed || run.Status is "CompletedWithErrors" or "Cancelled" or "Deferred")
                next = NextSteps.ForRun(run.Status, bad.FirstOrDefault()?.Job, planRef);
            else if (failing.Count > 0)
                next = NextSteps.ForRule(failing[0], planRef, plan.HasCloud, plan.HasImage);
            else next = "Nothing to do: the backups meet 3-2-1.";
            var what = kind == "Change" && !failed
                ? (findings != null && ComplianceEvaluator.IsCompliant(findings) ? "is compliant again" : "is no longer 3-2-1 compliant")
                : run.Status switch
                {
                    "Failed" => "backup failed",
                    "Refused" => "backup refused",
                    "Unreachable" => "backup destination unreachable",
                    _ => "backup " + run.Status.ToLowerInvariant(),
                };
            var legText = bad.Count > 0 ? " (" + string.Join(", ", bad.Select(b => b.Job).Distinct()) + ")" : "";
            return new NotificationMessage
            {
                Kind = kind, Host = plan.Host, Plan = plan.Name, Status = run.Status, RunId = run.RunId, TimeUtc = DateTime.UtcNow,
                Title = $"NekkBackup: {plan.Host} {what}{legText} — plan {plan.Name}",
                Reason = OneLine(run.Reason) ?? (failed ? run.Status : ""),
                NextStep = next, Legs = legs,
                Compliant = findings != null ? ComplianceEvaluator.IsCompliant(findings) : null, FailingRules = failing,
            };
        }

        public static NotificationMessage ForTest(BackupPlan plan) => new()
        {
            Kind = "Test", Host = plan.Host, Plan = plan.Name, Status = "Test", TimeUtc = DateTime.UtcNow,
            Title = $"NekkBackup: test message from {plan.Host} — plan {plan.Name}",
            Reason = "Send-NekkBackupNotification -Test: this channel works.",
            NextStep = "Nothing to do: alerts for this plan will arrive here.",
        };

        public static NotificationMessage ForStatus(BackupPlan plan, IReadOnlyList<ComplianceFinding> findings)
        {
            var failing = findings.Where(f => f.Status == "Fail").ToList();
            bool ok = failing.Count == 0;
            return new NotificationMessage
            {
                Kind = "Status", Host = plan.Host, Plan = plan.Name, Status = ok ? "Compliant" : "NotCompliant", TimeUtc = DateTime.UtcNow,
                Title = $"NekkBackup: {plan.Host} is {(ok ? "" : "NOT ")}3-2-1 compliant — plan {plan.Name}",
                Reason = ok ? "Every rule passes." : string.Join("; ", failing.Select(f => $"{f.Rule}: {f.Detail}")),
                NextStep = ok ? "Nothing to do: the backups meet 3-2-1." : NextSteps.ForRule(failing[0].Rule, plan.Path ?? plan.Name, plan.HasCloud, plan.HasImage),
                Compliant = ok, FailingRules = failing.Select(f => f.Rule).ToList(),
            };
        }

        public static bool IsFailure(string status) => status is "Failed" or "Refused" or "Unreachable";

        private static string? OneLine(string? s) => s?.Replace("\r", " ").Replace('\n', ' ');
    }

    public sealed class NotificationLeg
    {
        public string Leg { get; init; } = "";
        public string Step { get; init; } = "";
        public string Status { get; init; } = "";
        public string? Detail { get; init; }
    }
}
