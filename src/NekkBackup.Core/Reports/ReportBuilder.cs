using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Plans;

namespace NekkBackup.Core.Reports
{
    /// <summary>
    /// Builds a <see cref="ReportDocument"/> from what Test-NekkBackupCompliance reads: the legs' evidence
    /// (PlanLegRegistry), the findings (ComplianceEvaluator) and the plan history. Fleets: the status documents hosts
    /// publish, plus each host's plan history where it sits beside the status file.
    /// </summary>
    public static class ReportBuilder
    {
        private static readonly string[] RunSteps = { "Backup", "Capture", "Upload", "Run" };

        public static async Task<ReportDocument> ForPlanAsync(BackupPlan plan, int days, DateTime asOfLocal, CancellationToken ct)
        {
            var evidence = await PlanLegRegistry.GatherAsync(plan, ct).ConfigureAwait(false);
            var findings = ComplianceEvaluator.Evaluate(plan, evidence, asOfLocal);
            var history = PlanHistoryStore.Read(plan);
            return new ReportDocument
            {
                Title = $"Backup report: {plan.Host}",
                Source = plan.Path ?? plan.Name,
                GeneratedLocal = asOfLocal,
                Days = days,
                Hosts = new[] { ForHost(plan, evidence, findings, history, days, asOfLocal) },
            };
        }

        /// <summary>One plan's host section from evidence already gathered (the post-run hook passes what it has).</summary>
        public static HostReport ForHost(BackupPlan plan, EvidenceSet evidence, IReadOnlyList<ComplianceFinding> findings,
            IReadOnlyList<PlanHistoryEntry> history, int days, DateTime asOfLocal)
        {
            var asOfUtc = asOfLocal.ToUniversalTime();
            var fromUtc = asOfUtc.AddDays(-days);
            var planRef = plan.Path ?? plan.Name + ".psd1";
            var legs = new List<ReportLeg>();
            foreach (var leg in new[] { PlanLeg.Folder, PlanLeg.Image, PlanLeg.Cloud })
            {
                var e = evidence[leg];
                if (!e.Configured) continue;
                var legHistory = history.Where(h => h.Job == leg.ToString()).ToList();
                var byId = legHistory.Where(h => h.LegRunId != null && RunSteps.Contains(h.Step))
                    .GroupBy(h => h.LegRunId!, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
                var runs = new List<ReportRun>();
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var r in e.Runs.Where(r => r.StartedUtc >= fromUtc && r.StartedUtc <= asOfUtc))
                {
                    seen.Add(r.Id);
                    byId.TryGetValue(r.Id, out var h);
                    var duration = r.FinishedUtc - r.StartedUtc;
                    if (h != null && (duration <= TimeSpan.Zero || h.Duration > duration)) duration = h.Duration;
                    runs.Add(new ReportRun
                    {
                        StartedUtc = r.StartedUtc, Duration = Positive(duration), Status = r.Status, Outcome = Outcome(r.Status),
                        Bytes = h?.Bytes ?? r.Bytes, Detail = r.Detail ?? h?.Detail,
                    });
                }
                // Runs that left no data behind (failed, refused, unreachable, deferred) are known only from the history.
                foreach (var h in legHistory.Where(h => RunSteps.Contains(h.Step) || h.Step == "Defer"))
                {
                    if (h.StartedUtc < fromUtc || h.StartedUtc > asOfUtc) continue;
                    if (h.LegRunId != null && seen.Contains(h.LegRunId)) continue;
                    runs.Add(FromHistory(h));
                }
                runs.Sort((a, b) => a.StartedUtc.CompareTo(b.StartedUtc));
                var schedule = plan.ScheduleFor(leg);
                legs.Add(new ReportLeg
                {
                    Leg = leg, Title = LegTitle(leg), Location = e.Location, Problem = e.Problem, Runs = runs, Growth = Growth(runs),
                    Schedule = schedule.ToString(), NextRunLocal = schedule.NextOccurrence(asOfLocal),
                });
            }
            var drills = plan.CopyLegs.Select(leg => Drill(leg switch
            {
                PlanLeg.Folder => "Full verification of the NAS backup",
                PlanLeg.Image => "Ghost image restore drill",
                _ => "Cloud restore drill",
            }, evidence[leg].Drills)).ToList();
            var drillSchedule = plan.DrillSchedule;
            legs.Add(new ReportLeg
            {
                Leg = PlanLeg.Drill, Title = LegTitle(PlanLeg.Drill), Location = plan.NasDestination, Schedule = drillSchedule.ToString(),
                NextRunLocal = drillSchedule.NextOccurrence(asOfLocal),
                Runs = history.Where(h => h.Job == "Drill" && h.StartedUtc >= fromUtc && h.StartedUtc <= asOfUtc).Select(FromHistory).ToList(),
            });

            bool ever = new[] { PlanLeg.Folder, PlanLeg.Image, PlanLeg.Cloud }.Any(l => evidence[l].Runs.Any(r => r.IsGood && r.StartedUtc <= asOfUtc));
            int copies = 1 + (HasGood(evidence[PlanLeg.Folder], asOfUtc) ? 1 : 0) + (HasGood(evidence[PlanLeg.Cloud], asOfUtc) ? 1 : 0);
            var drillTimes = drills.Select(d => d.Status is "Passed" or "Succeeded" ? d.FinishedUtc : null).ToList();
            DateTime? drillUtc = drillTimes.All(t => t != null) ? drillTimes.Min() : null;
            return new HostReport
            {
                Host = plan.Host, Plan = plan.Name, Findings = findings, Legs = legs, Drills = drills,
                Verdict = Verdict(findings, ever, copies, drillUtc, asOfUtc, planRef, plan.HasCloud, plan.HasImage),
            };
        }

        /// <summary>A fleet report from published status documents (and each host's history where it is beside them).</summary>
        public static ReportDocument ForFleet(string source, IReadOnlyList<FleetDocument> docs, int days, DateTime asOfLocal, IReadOnlyList<string>? notes = null)
        {
            var asOfUtc = asOfLocal.ToUniversalTime();
            var fromUtc = asOfUtc.AddDays(-days);
            var statuses = FleetStatus.FromDocuments(docs.Select(d => (d.Source, d.Document)), asOfUtc);
            var hosts = new List<HostReport>();
            foreach (var s in statuses)
            {
                var d = docs.Where(x => string.Equals(x.Document.Host, s.Host, StringComparison.OrdinalIgnoreCase) && string.Equals(x.Document.Plan, s.Plan, StringComparison.OrdinalIgnoreCase))
                    .OrderBy(x => x.Document.GeneratedUtc).Last();
                var findings = d.Document.Findings.Select(f => new ComplianceFinding
                {
                    Host = d.Document.Host, Plan = d.Document.Plan, Rule = f.Rule, Status = f.Status, Detail = f.Detail, AsOf = d.Document.GeneratedUtc.ToLocalTime(),
                }).ToList();
                var history = d.History.Where(h => string.Equals(h.Plan, s.Plan, StringComparison.OrdinalIgnoreCase)).ToList();
                var legs = history.Where(h => RunSteps.Contains(h.Step) || h.Step == "Defer").GroupBy(h => h.Job)
                    .Select(g =>
                    {
                        var runs = g.Where(h => h.StartedUtc >= fromUtc && h.StartedUtc <= asOfUtc).OrderBy(h => h.StartedUtc).Select(FromHistory).ToList();
                        return new ReportLeg
                        {
                            Leg = Enum.TryParse<PlanLeg>(g.Key, out var l) ? l : PlanLeg.Folder, Title = LegTitle(g.Key), Location = d.HistorySource ?? "",
                            Runs = runs, Growth = Growth(runs),
                        };
                    })
                    .OrderBy(l => l.Leg).ToList();
                DateTime? U(string k) => d.Document.LastGood.TryGetValue(k, out var v) ? v : null;
                bool ever = U("Folder") != null || U("Cloud") != null || U("Image") != null;
                int copies = 1 + (U("Folder") != null ? 1 : 0) + (U("Cloud") != null ? 1 : 0);
                var drills = new List<ReportDrill> { new() { What = "Restore drill (last passed)", FinishedUtc = U("Drill"), Status = U("Drill") != null ? "Passed" : "None on record" } };
                var staleNote = s.Stale ? new[] { $"This host has not reported since {s.Generated:yyyy-MM-dd HH:mm}: its schedule may have stopped." } : Array.Empty<string>();
                var v = Verdict(findings, ever, copies, U("Drill"), asOfUtc, $"<{s.Plan}.psd1>", true, true);
                hosts.Add(new HostReport
                {
                    Host = s.Host, Plan = s.Plan, Findings = findings, Legs = legs, Drills = drills, ReportedLocal = s.Generated,
                    Verdict = s.Stale ? new ReportVerdict { Level = v.Level == "Safe" ? "Attention" : v.Level, Headline = v.Headline, Problems = staleNote.Concat(v.Problems).ToList(), NextSteps = v.NextSteps } : v,
                });
            }
            return new ReportDocument
            {
                Title = "Backup report: fleet", Source = source, GeneratedLocal = asOfLocal, Days = days, Hosts = hosts, Fleet = statuses,
                Notes = notes ?? Array.Empty<string>(),
            };
        }

        /// <summary>The verdict in plain words from the findings.</summary>
        public static ReportVerdict Verdict(IReadOnlyList<ComplianceFinding> findings, bool everProtected, int copies, DateTime? drillUtc, DateTime asOfUtc,
            string planRef, bool hasCloud, bool hasImage)
        {
            var failing = findings.Where(f => f.Status == "Fail").ToList();
            var warning = findings.Where(f => f.Status == "Warn").ToList();
            var steps = failing.Concat(warning).Select(f => NextSteps.ForRule(f.Rule, planRef, hasCloud, hasImage)).Distinct().ToList();
            var problems = failing.Concat(warning).Select(f => $"{f.Rule} ({(f.Status == "Fail" ? "failing" : "warning")}): {f.Detail}").ToList();
            if (!everProtected)
            {
                steps.Insert(0, $"Run the first backup now: Invoke-NekkBackupPlan -Path {planRef}, and register the schedule with Register-NekkBackupPlan -Path {planRef}.");
                return new ReportVerdict
                {
                    Level = "NotProtected",
                    Headline = "Not protected yet: no backup of this computer has completed, so nothing could be restored today.",
                    Problems = problems, NextSteps = steps.Distinct().ToList(),
                };
            }
            var mediaFinding = findings.FirstOrDefault(f => f.Rule == "TwoMedia");
            var m = mediaFinding != null ? Regex.Match(mediaFinding.Detail, @"^(\d+) media") : Match.Empty;
            var media = m.Success ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture) : (mediaFinding?.Status == "Pass" ? 2 : 1);
            var offsite = findings.Any(f => f.Rule == "OneOffsite" && f.Status == "Pass") ? 1 : 0;
            var tested = drillUtc == null ? "restore not tested yet" : "restore tested " + Ago(asOfUtc - drillUtc.Value);
            var facts = $"{copies} {(copies == 1 ? "copy" : "copies")}, {media} media, {offsite} off-site, {tested}";
            if (failing.Count == 0 && warning.Count == 0)
                return new ReportVerdict { Level = "Safe", Headline = $"Your sessions are safe: {facts}." };
            if (failing.Count == 0)
                return new ReportVerdict
                {
                    Level = "Attention", Headline = $"Your sessions are safe for now ({facts}), but {Count(warning.Count, "thing needs", "things need")} attention soon.",
                    Problems = problems, NextSteps = steps,
                };
            return new ReportVerdict
            {
                Level = "AtRisk", Headline = $"Action needed: the backups do not meet 3-2-1 ({Count(failing.Count, "rule fails", "rules fail")}; now {facts}).",
                Problems = problems, NextSteps = steps,
            };
        }

        public static string Ago(TimeSpan t)
        {
            var d = (int)Math.Floor(t.TotalDays);
            if (t < TimeSpan.Zero || d == 0) return "today";
            return d == 1 ? "1 day ago" : $"{d} days ago";
        }

        public static string LegTitle(PlanLeg leg) => LegTitle(leg.ToString());

        public static string LegTitle(string leg) => leg switch
        {
            "Folder" => "NAS folder backup",
            "Image" => "Ghost system image",
            "Cloud" => "Off-site cloud copy",
            "Drill" => "Restore drills",
            _ => leg,
        };

        /// <summary>Succeeded (with errors too), Refused, Failed (also unreachable), or Other (cancelled, deferred).</summary>
        public static string Outcome(string status) => status switch
        {
            "Succeeded" or "CompletedWithErrors" or "Passed" or "Warning" => "Succeeded",
            "Refused" => "Refused",
            "Failed" or "Unreachable" => "Failed",
            _ => "Other",
        };

        private static ReportRun FromHistory(PlanHistoryEntry h) => new()
        {
            StartedUtc = h.StartedUtc, Duration = Positive(h.Duration), Status = h.Status, Outcome = Outcome(h.Status),
            Bytes = h.IsGood && h.Step != "Verify" && h.Job != "Drill" ? h.Bytes : null, Detail = h.Detail,
        };

        private static TimeSpan Positive(TimeSpan t) => t < TimeSpan.Zero ? TimeSpan.Zero : t;

        private static bool HasGood(LegEvidence e, DateTime asOfUtc) => e.Configured && e.Runs.Any(r => r.IsGood && r.StartedUtc <= asOfUtc);

        private static IReadOnlyList<GrowthPoint> Growth(IReadOnlyList<ReportRun> runs)
        {
            long total = 0;
            var list = new List<GrowthPoint>();
            foreach (var r in runs.Where(r => r.Outcome == "Succeeded" && r.Bytes != null))
            {
                total += Math.Max(0, r.Bytes!.Value);
                list.Add(new GrowthPoint { Utc = r.StartedUtc, Bytes = total });
            }
            return list;
        }

        private static ReportDrill Drill(string what, IReadOnlyList<EvidenceRecord> drills)
        {
            var last = drills.OrderBy(d => d.FinishedUtc).LastOrDefault();
            return last == null
                ? new ReportDrill { What = what, Status = "None on record" }
                : new ReportDrill { What = what, FinishedUtc = last.FinishedUtc, Status = last.Status, Detail = last.Detail };
        }

        private static string Count(int n, string one, string many) => n == 1 ? $"1 {one}" : $"{n} {many}";
    }

    /// <summary>A host status document, where it was read, and the plan history found beside it (if any).</summary>
    public sealed class FleetDocument
    {
        public string Source { get; init; } = "";
        public HostStatusDocument Document { get; init; } = new();
        public IReadOnlyList<PlanHistoryEntry> History { get; init; } = Array.Empty<PlanHistoryEntry>();
        public string? HistorySource { get; init; }
    }
}
