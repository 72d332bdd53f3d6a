using System;
using System.Collections.Generic;
using System.Linq;
using NekkBackup.Core.Plans;
using Xunit;

namespace NekkBackup.Core.Tests.Plans
{
    /// <summary>Get-NekkFleetStatus -Summary (issue 13 item 9): each host in exactly one state, stale first.</summary>
    public class FleetSummaryTests
    {
        private static (string, HostStatusDocument) Doc(string host, bool compliant, DateTime generated, params string[] statuses) =>
            ($"/srv/status/{host}.json", new HostStatusDocument
            {
                Host = host, Plan = "room", Compliant = compliant, GeneratedUtc = generated,
                Findings = statuses.Select((s, i) => new HostStatusDocument.StatusFinding { Rule = "R" + i, Status = s, Detail = "" }).ToList(),
            });

        [Fact]
        public void EachHostCountsOnce_StaleBeforeFailingBeforeWarning()
        {
            var now = new DateTime(2026, 12, 6, 9, 0, 0, DateTimeKind.Utc);
            var hosts = FleetStatus.FromDocuments(new List<(string, HostStatusDocument)>
            {
                Doc("a-ok", true, now.AddHours(-1), "Pass", "Pass"),
                Doc("b-warn", true, now.AddHours(-2), "Pass", "Warn"),
                Doc("c-fail", false, now.AddHours(-3), "Fail", "Warn"),
                Doc("d-stale", true, now.AddHours(-27), "Pass"),
                Doc("e-stale-failing", false, now.AddDays(-9), "Fail"),
                Doc("f-fresh-at-limit", true, now - FleetStatus.StaleAfter, "Pass"),
            }, now);
            Assert.Equal(new[] { "Compliant", "Warning", "Failing", "Stale", "Stale", "Compliant" }, hosts.Select(h => h.State).ToArray());
            var s = FleetSummary.Of(hosts, "s3://fleet/studio");
            Assert.Equal((6, 2, 1, 1, 2), (s.Hosts, s.Compliant, s.Warning, s.Failing, s.Stale));
            Assert.Equal(s.Hosts, s.Compliant + s.Warning + s.Failing + s.Stale);
            Assert.Equal(new[] { "b-warn", "c-fail", "d-stale", "e-stale-failing" }, s.Attention);
            Assert.Equal("6 hosts: 2 compliant, 1 warning, 1 failing, 2 stale", s.ToString());
        }

        [Fact]
        public void LastDrill_IsWhenEveryLegOfThePlanHadLastPassed_NotOnlyTheFolders()
        {
            var now = new DateTime(2026, 12, 6, 9, 0, 0, DateTimeKind.Utc);
            var plan = PlanParser.Parse(PlanTestData.Full(), "/etc/nekk/studio-a.psd1"); // folder, image and cloud legs
            Assert.True(plan.HasImage && plan.HasCloud);
            EvidenceRecord Drill(int daysAgo, string status = "Passed") => new() { StartedUtc = now.AddDays(-daysAgo).AddHours(-1), FinishedUtc = now.AddDays(-daysAgo), Status = status, Id = "d" + daysAgo };
            LegEvidence Leg(PlanLeg leg, params EvidenceRecord[] drills) => new() { Leg = leg, Drills = drills };
            DateTime? LastDrill(EvidenceSet e) => FleetStatus.Build(plan, Array.Empty<ComplianceFinding>(), e, Array.Empty<PlanHistoryEntry>(), now).LastGood["Drill"];

            var all = new EvidenceSet(new Dictionary<PlanLeg, LegEvidence>
            {
                [PlanLeg.Folder] = Leg(PlanLeg.Folder, Drill(3), Drill(40)),
                [PlanLeg.Image] = Leg(PlanLeg.Image, Drill(10), Drill(2, "Failed")),
                [PlanLeg.Cloud] = Leg(PlanLeg.Cloud, Drill(5)),
            });
            Assert.Equal(now.AddDays(-10), LastDrill(all)); // the image leg's last good drill is the oldest of the three

            var cloudNever = new EvidenceSet(new Dictionary<PlanLeg, LegEvidence>
            {
                [PlanLeg.Folder] = Leg(PlanLeg.Folder, Drill(3)),
                [PlanLeg.Image] = Leg(PlanLeg.Image, Drill(4)),
                [PlanLeg.Cloud] = Leg(PlanLeg.Cloud, Drill(1, "Failed")),
            });
            Assert.Null(LastDrill(cloudNever)); // the folder drill alone is not a drill compliance counts

            var folderOnly = PlanParser.Parse(PlanTestData.Minimal(), "/etc/nekk/small.psd1");
            Assert.False(folderOnly.HasImage || folderOnly.HasCloud);
            var e = new EvidenceSet(new Dictionary<PlanLeg, LegEvidence> { [PlanLeg.Folder] = Leg(PlanLeg.Folder, Drill(7)) });
            Assert.Equal(now.AddDays(-7), FleetStatus.Build(folderOnly, Array.Empty<ComplianceFinding>(), e, Array.Empty<PlanHistoryEntry>(), now).LastGood["Drill"]);
        }
    }
}
