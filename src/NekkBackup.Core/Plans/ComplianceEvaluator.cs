using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace NekkBackup.Core.Plans
{
    /// <summary>
    /// Judges 3-2-1 from evidence at an instant (docs/compliance.md). Pure: the same plan, evidence and AsOf give
    /// the same findings, so rules are tested at any instant without waiting.
    /// </summary>
    public static class ComplianceEvaluator
    {
        public static readonly string[] Rules =
        {
            "ThreeCopies", "TwoMedia", "OneOffsite", "FolderFresh", "CloudFresh", "ImageFresh", "DrillWithin92Days",
            "ImageRepositorySeparate", "IntegrityCheckPassed",
        };

        /// <summary>A drill counts for 92 days (PRODUCT.md §1); Warn from 12 days before it expires.</summary>
        public static readonly TimeSpan DrillValidity = TimeSpan.FromDays(92);
        public static readonly TimeSpan DrillWarnBefore = TimeSpan.FromDays(12);

        /// <summary>A run that starts up to this much before its slot (a manual run, clock skew) still covers the slot.</summary>
        public static readonly TimeSpan EarlyTolerance = TimeSpan.FromMinutes(15);

        public static IReadOnlyList<ComplianceFinding> Evaluate(BackupPlan plan, EvidenceSet evidence, DateTime asOf, Func<string, VolumeIdentity>? volumeOf = null)
        {
            volumeOf ??= VolumeIdentity.Of;
            var local = asOf.Kind == DateTimeKind.Utc ? asOf.ToLocalTime() : asOf;
            var asOfUtc = local.ToUniversalTime();
            var folder = Upto(evidence[PlanLeg.Folder], asOfUtc);
            var image = Upto(evidence[PlanLeg.Image], asOfUtc);
            var cloud = Upto(evidence[PlanLeg.Cloud], asOfUtc);
            var list = new List<ComplianceFinding>();
            void Add(string rule, string status, string detail, string ev) => list.Add(new ComplianceFinding
            {
                Host = plan.Host, Plan = plan.Name, Rule = rule, Status = status, Detail = detail, Evidence = ev, AsOf = local,
            });

            var lastFolder = LastGood(folder.Runs);
            var lastCloud = LastGood(cloud.Runs);
            var lastImage = LastGood(image.Runs);

            // ThreeCopies: the working data + a NAS backup + an off-site copy, each with at least one good run.
            var copies = new List<string> { "working data" };
            if (lastFolder != null) copies.Add($"NAS backup (last {Stamp(lastFolder.StartedUtc)})");
            if (lastCloud != null) copies.Add($"cloud copy (last {Stamp(lastCloud.StartedUtc)})");
            Add("ThreeCopies", copies.Count >= 3 ? "Pass" : "Fail",
                $"{copies.Count} of 3 copies: {string.Join(", ", copies)}" + (copies.Count < 3 ? MissingCopies(plan, lastFolder, lastCloud, folder, cloud) : ""),
                Ev(folder, lastFolder) + "; " + Ev(cloud, lastCloud));

            // TwoMedia: the copies sit on at least two different kinds of storage.
            var media = new List<string>();
            var sourceVolumes = plan.Sources.Select(s => volumeOf(s).Key).Distinct().ToList();
            var nasVolume = volumeOf(plan.NasDestination);
            media.Add("working disk");
            bool nasSeparate = !sourceVolumes.Contains(nasVolume.Key);
            if (lastFolder != null && nasSeparate) media.Add($"NAS ({nasVolume.Description})");
            if (lastCloud != null) media.Add("cloud object storage");
            var mediaDetail = $"{media.Count} media: {string.Join(", ", media)}";
            if (lastFolder != null && !nasSeparate) mediaDetail += $"; the NAS destination is on the same volume as the sources ({nasVolume.Description})";
            Add("TwoMedia", media.Count >= 2 ? "Pass" : "Fail", mediaDetail, $"sources on {string.Join(", ", plan.Sources.Select(s => volumeOf(s).Description).Distinct())}; NAS on {nasVolume.Description}");

            // OneOffsite.
            Add("OneOffsite", lastCloud != null ? "Pass" : "Fail",
                lastCloud != null ? $"off-site copy in s3://{plan.Bucket}/{plan.Prefix} (last {Stamp(lastCloud.StartedUtc)})"
                    : !plan.HasCloud ? "no off-site copy: the plan has no Cloud leg" : $"no good cloud run found{Why(cloud)}",
                Ev(cloud, lastCloud));

            void AddFresh(string rule, (string s, string d) r, LegEvidence e, EvidenceRecord? last) => Add(rule, r.s, r.d, Ev(e, last));
            AddFresh("FolderFresh", Fresh(plan.FolderSchedule, folder, local, "folder backup"), folder, lastFolder);
            AddFresh("CloudFresh", Fresh(plan.CloudSchedule, cloud, local, "cloud upload"), cloud, lastCloud);
            AddFresh("ImageFresh", Fresh(plan.ImageSchedule, image, local, "Ghost image"), image, lastImage);

            // DrillWithin92Days: a full folder verification and, with those legs, a Ghost restore drill and a cloud restore drill, all passed.
            var drillParts = new List<(string what, EvidenceRecord? last, LegEvidence e)>();
            foreach (var leg in plan.CopyLegs)
            {
                var (what, e) = leg switch { PlanLeg.Folder => ("folder full verification", folder), PlanLeg.Image => ("Ghost restore drill", image), _ => ("cloud restore drill", cloud) };
                drillParts.Add((what, LastGood(e.Drills), e));
            }
            string drillStatus = "Pass";
            var drillDetail = new List<string>();
            foreach (var (what, last, e) in drillParts)
            {
                // A drill that waits for a thaw is named, so the admin knows it is under way (it does not count until it passes).
                var waiting = e.Drills.Where(d => d.Status == "ThawRequested" && (last == null || d.StartedUtc > last.StartedUtc)).OrderBy(d => d.StartedUtc).LastOrDefault();
                var wait = waiting != null ? $"; drill {waiting.Id} waits for a thaw of cold objects since {Stamp(waiting.StartedUtc)}" : "";
                if (last == null)
                {
                    drillStatus = "Fail";
                    drillDetail.Add($"no passed {what} on record{Why(e)}{wait}");
                    continue;
                }
                var age = asOfUtc - last.FinishedUtc;
                var expires = last.FinishedUtc + DrillValidity;
                if (age > DrillValidity) { drillStatus = "Fail"; drillDetail.Add($"last passed {what} {Stamp(last.FinishedUtc)} is {age.TotalDays:0} days old (a drill counts for 92 days){wait}"); }
                else
                {
                    if (expires - asOfUtc <= DrillWarnBefore && drillStatus == "Pass") drillStatus = "Warn";
                    drillDetail.Add($"{what} passed {Stamp(last.FinishedUtc)}, valid until {Stamp(expires)}");
                }
            }
            Add("DrillWithin92Days", drillStatus, string.Join("; ", drillDetail),
                string.Join("; ", drillParts.Select(p => p.last != null ? $"{p.last.Id} in {p.last.From}" : p.e.Location)));

            // ImageRepositorySeparate.
            if (!plan.HasImage)
                Add("ImageRepositorySeparate", "Fail", "no Ghost image repository in the plan (the system layer is not backed up)", "");
            else
            {
                var iv = volumeOf(plan.ImageRepository!);
                bool same = iv.Key == nasVolume.Key;
                Add("ImageRepositorySeparate", same ? "Fail" : "Pass",
                    same ? $"the image repository and the folder backups share one volume/share ({iv.Description}): one failure loses both"
                         : $"image repository on {iv.Description}, folder backups on {nasVolume.Description}",
                    $"{plan.ImageRepository} vs {plan.NasDestination}");
            }

            // IntegrityCheckPassed: the latest check of each leg that has checks did not fail.
            var checkParts = new List<string>();
            string integrity = "Pass";
            foreach (var e in new[] { folder, image, cloud })
            {
                if (!e.Configured) continue;
                var latest = e.Checks.OrderBy(c => c.FinishedUtc).LastOrDefault();
                var name = e.Leg == PlanLeg.Folder ? "folder backup check" : e.Leg == PlanLeg.Image ? "Ghost image drill" : "cloud restore drill";
                if (latest == null)
                {
                    if (integrity == "Pass") integrity = "Warn";
                    checkParts.Add($"no {name} on record yet");
                }
                else if (!latest.IsGood)
                {
                    integrity = "Fail";
                    checkParts.Add($"latest {name} {Stamp(latest.FinishedUtc)} {latest.Status}{(latest.Detail != null ? ": " + latest.Detail : "")}");
                }
                else checkParts.Add($"latest {name} {Stamp(latest.FinishedUtc)} {latest.Status}");
            }
            Add("IntegrityCheckPassed", integrity, string.Join("; ", checkParts), string.Join("; ", new[] { folder, image, cloud }.Where(e => e.Configured).Select(e => e.Location)));
            return list;
        }

        /// <summary>
        /// Slot rule: S1 = the latest scheduled start at or before (AsOf − Grace). Pass when the last good run started at or
        /// after S1 − 15 min; Warn when it covers the slot before S1 (one slot missed); Fail otherwise or when never run.
        /// </summary>
        public static (string Status, string Detail) Fresh(PlanSchedule schedule, LegEvidence e, DateTime asOfLocal, string what)
        {
            if (!e.Configured) return ("Fail", $"the plan has no {what} leg");
            var last = LastGood(e.Runs);
            var s1 = schedule.PreviousOccurrence(asOfLocal - schedule.Grace);
            if (last == null)
                return ("Fail", $"no good {what} on record{Why(e)}");
            var lastLocal = last.StartedUtc.ToLocalTime();
            if (s1 == null) return ("Pass", $"last {what} {Stamp(last.StartedUtc)}; nothing was due yet");
            if (lastLocal >= s1.Value - EarlyTolerance)
                return ("Pass", $"last {what} {Stamp(last.StartedUtc)} covers the {Local(s1.Value)} slot ({schedule}, grace {PlanWriter.Duration(schedule.Grace)})");
            var s0 = schedule.PreviousOccurrence(s1.Value.AddTicks(-1));
            if (s0 != null && lastLocal >= s0.Value - EarlyTolerance)
                return ("Warn", $"missed the {Local(s1.Value)} slot; last {what} {Stamp(last.StartedUtc)} ({schedule})");
            return ("Fail", $"stale: last {what} {Stamp(last.StartedUtc)}, missed the slots since {Local(s0 ?? s1.Value)} ({schedule}, grace {PlanWriter.Duration(schedule.Grace)})");
        }

        public static bool IsCompliant(IEnumerable<ComplianceFinding> findings) => findings.All(f => f.Status != "Fail");

        /// <summary>One line ≤ 2048 characters for Intune/RMM: NEKK COMPLIANT|NONCOMPLIANT host=… then each rule not passing.</summary>
        public static string RmmLine(BackupPlan plan, IReadOnlyList<ComplianceFinding> findings)
        {
            bool ok = IsCompliant(findings);
            var sb = new StringBuilder();
            sb.Append("NEKK ").Append(ok ? "COMPLIANT" : "NONCOMPLIANT").Append(" host=").Append(plan.Host).Append(" plan=").Append(plan.Name);
            sb.Append(" pass=").Append(findings.Count(f => f.Status == "Pass")).Append('/').Append(findings.Count);
            foreach (var f in findings.Where(f => f.Status != "Pass").OrderBy(f => f.Status == "Fail" ? 0 : 1))
                sb.Append(' ').Append(f.Rule).Append(':').Append(f.Status).Append('(').Append(Short(f.Detail)).Append(')');
            var line = sb.ToString().Replace('\r', ' ').Replace('\n', ' ');
            return line.Length <= 2048 ? line : line.Substring(0, 2045) + "...";
        }

        private static string Short(string s) => s.Length <= 120 ? s : s.Substring(0, 117) + "...";

        private static LegEvidence Upto(LegEvidence e, DateTime asOfUtc) => new()
        {
            Leg = e.Leg, Location = e.Location, Configured = e.Configured, Problem = e.Problem,
            Runs = e.Runs.Where(r => r.StartedUtc <= asOfUtc).ToList(),
            Checks = e.Checks.Where(r => r.FinishedUtc <= asOfUtc).ToList(),
            Drills = e.Drills.Where(r => r.FinishedUtc <= asOfUtc).ToList(),
        };

        private static EvidenceRecord? LastGood(IEnumerable<EvidenceRecord> runs) => runs.Where(r => r.IsGood).OrderBy(r => r.StartedUtc).LastOrDefault();

        private static string Why(LegEvidence e) => e.Problem != null ? $" ({e.Problem})" : "";

        private static string MissingCopies(BackupPlan plan, EvidenceRecord? f, EvidenceRecord? c, LegEvidence fe, LegEvidence ce)
        {
            var m = new List<string>();
            if (f == null) m.Add($"no good NAS backup{Why(fe)}");
            if (c == null) m.Add(plan.HasCloud ? $"no good cloud copy{Why(ce)}" : "no Cloud leg in the plan");
            return "; missing: " + string.Join(", ", m);
        }

        private static string Ev(LegEvidence e, EvidenceRecord? last) =>
            !e.Configured ? $"{e.Leg}: not in plan" : last != null ? $"{e.Leg}: {last.Id} ({last.From})" : $"{e.Leg}: {e.Location}{Why(e)}";

        public static string Stamp(DateTime utc) => utc.ToLocalTime().ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);

        private static string Local(DateTime local) => local.ToString("ddd yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);
    }
}
