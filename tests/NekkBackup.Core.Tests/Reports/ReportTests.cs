using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Xml;
using NekkBackup.Core.Plans;
using NekkBackup.Core.Reports;
using NekkBackup.Core.Tests.Plans;
using Xunit;

namespace NekkBackup.Core.Tests.Reports
{
    /// <summary>The report model and HTML: verdict wording, evidence + history merge, and escaping of hostile input.</summary>
    public class ReportTests
    {
        private static readonly DateTime AsOf = new(2026, 11, 20, 12, 0, 0, DateTimeKind.Local);
        private const string Hostile = "<script>alert('x')</script>&\"\u0001<img src=http://evil.example/x>";

        private static List<ComplianceFinding> Findings(params (string rule, string status)[] overrides)
        {
            var list = ComplianceEvaluator.Rules.Select(r => new ComplianceFinding { Rule = r, Status = "Pass", Detail = r == "TwoMedia" ? "3 media: working disk, NAS, cloud" : r + " ok" }).ToList();
            foreach (var (rule, status) in overrides)
            {
                var i = list.FindIndex(f => f.Rule == rule);
                list[i] = new ComplianceFinding { Rule = rule, Status = status, Detail = rule + " detail " + Hostile };
            }
            return list;
        }

        [Fact]
        public void Safe_verdict_says_copies_media_offsite_and_drill_age_in_plain_words()
        {
            var v = ReportBuilder.Verdict(Findings(), true, 3, AsOf.ToUniversalTime().AddDays(-12).AddHours(-1), AsOf.ToUniversalTime(), "plan.psd1", true, true);
            Assert.Equal("Safe", v.Level);
            Assert.Equal("Your sessions are safe: 3 copies, 3 media, 1 off-site, restore tested 12 days ago.", v.Headline);
            Assert.Empty(v.NextSteps);
        }

        [Fact]
        public void Never_ran_is_not_protected_yet_with_the_first_run_as_next_step()
        {
            var v = ReportBuilder.Verdict(Findings(("ThreeCopies", "Fail"), ("FolderFresh", "Fail")), false, 1, null, AsOf.ToUniversalTime(), "C:\\p.psd1", true, true);
            Assert.Equal("NotProtected", v.Level);
            Assert.StartsWith("Not protected yet", v.Headline);
            Assert.StartsWith("Run the first backup now: Invoke-NekkBackupPlan -Path C:\\p.psd1", v.NextSteps[0]);
            Assert.Equal(2, v.Problems.Count);
        }

        [Fact]
        public void Failing_and_warning_rules_give_at_risk_and_attention_with_one_step_each()
        {
            var risk = ReportBuilder.Verdict(Findings(("CloudFresh", "Fail"), ("DrillWithin92Days", "Warn")), true, 3, null, AsOf.ToUniversalTime(), "p.psd1", true, true);
            Assert.Equal("AtRisk", risk.Level);
            Assert.Contains("1 rule fails", risk.Headline);
            Assert.Contains(risk.NextSteps, s => s.Contains("-Job Cloud"));
            Assert.Contains(risk.NextSteps, s => s.Contains("-Job Drill"));
            var warn = ReportBuilder.Verdict(Findings(("DrillWithin92Days", "Warn")), true, 3, null, AsOf.ToUniversalTime(), "p.psd1", true, true);
            Assert.Equal("Attention", warn.Level);
            Assert.Contains("1 thing needs attention", warn.Headline);
        }

        [Fact]
        public void Host_section_merges_evidence_runs_with_failures_only_the_history_knows()
        {
            var plan = PlanParser.Parse(PlanTestData.Full(), "/plans/studio-a.psd1");
            var t0 = AsOf.ToUniversalTime().AddDays(-3);
            var folder = new LegEvidence
            {
                Leg = PlanLeg.Folder, Location = "/mnt/nas/studio-a",
                Runs = new[]
                {
                    new EvidenceRecord { StartedUtc = t0, FinishedUtc = t0.AddMinutes(4), Status = "Succeeded", Id = "r1", Bytes = 1000 },
                    new EvidenceRecord { StartedUtc = t0.AddHours(8), FinishedUtc = t0.AddHours(8).AddMinutes(2), Status = "Succeeded", Id = "r2", Bytes = 500 },
                    new EvidenceRecord { StartedUtc = t0.AddDays(-200), FinishedUtc = t0.AddDays(-200), Status = "Succeeded", Id = "old", Bytes = 9 },
                },
            };
            var evidence = new EvidenceSet(new Dictionary<PlanLeg, LegEvidence> { [PlanLeg.Folder] = folder, [PlanLeg.Image] = new() { Leg = PlanLeg.Image, Problem = "unreachable " + Hostile }, [PlanLeg.Cloud] = new() { Leg = PlanLeg.Cloud } });
            var history = new List<PlanHistoryEntry>
            {
                new() { Plan = "studio-a", Job = "Folder", Step = "Backup", StartedUtc = t0, FinishedUtc = t0.AddMinutes(4), Status = "Succeeded", LegRunId = "r1", Bytes = 1000 },
                new() { Plan = "studio-a", Job = "Folder", Step = "Backup", StartedUtc = t0.AddHours(4), FinishedUtc = t0.AddHours(4).AddMinutes(1), Status = "Refused", Detail = "ransomware guard " + Hostile },
                new() { Plan = "studio-a", Job = "Cloud", Step = "Upload", StartedUtc = t0.AddHours(5), FinishedUtc = t0.AddHours(5).AddMinutes(9), Status = "Failed", Detail = "timeout" },
                new() { Plan = "studio-a", Job = "Drill", Step = "FullVerify", StartedUtc = t0, FinishedUtc = t0.AddMinutes(30), Status = "Passed" },
            };
            var h = ReportBuilder.ForHost(plan, evidence, Findings(("ImageFresh", "Fail")), history, 90, AsOf);
            var f = h.Legs.Single(l => l.Leg == PlanLeg.Folder);
            Assert.Equal(new[] { "Succeeded", "Refused", "Succeeded" }, f.Runs.Select(r => r.Outcome));
            Assert.Equal(TimeSpan.FromMinutes(4), f.Runs[0].Duration);
            Assert.Equal(new long[] { 1000, 1500 }, f.Growth.Select(g => g.Bytes));
            Assert.Equal("Failed", h.Legs.Single(l => l.Leg == PlanLeg.Cloud).Runs.Single().Outcome);
            Assert.StartsWith("unreachable", h.Legs.Single(l => l.Leg == PlanLeg.Image).Problem);
            Assert.NotNull(h.Legs.Single(l => l.Leg == PlanLeg.Folder).NextRunLocal);
            Assert.Equal("AtRisk", h.Verdict.Level);

            var html = HtmlReportWriter.Render(new ReportDocument { Title = "Backup report: " + Hostile, Source = Hostile, GeneratedLocal = AsOf, Days = 90, Hosts = new[] { h } });
            AssertSafe(html);
            Assert.Contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;", html);
            Assert.Contains("class=\"mark refused\"", html);
            Assert.Contains("class=\"mark fail\"", html);
            Assert.Equal(3, CountOf(html, "class=\"mark ok\"")); // two folder successes + one drill
        }

        [Fact]
        public void Fleet_report_escapes_what_hosts_published_and_never_builds_a_path_from_a_host_name()
        {
            var dir = Path.Combine(Path.GetTempPath(), "nekk-fleet-" + Guid.NewGuid().ToString("N"));
            try
            {
                var status = Path.Combine(dir, "h1", ".nekkbackup", "status");
                Directory.CreateDirectory(status);
                Directory.CreateDirectory(Path.Combine(dir, "h1", ".nekkbackup", "plan-history"));
                var doc = new HostStatusDocument
                {
                    Host = "studio-a", Plan = Hostile, GeneratedUtc = DateTime.UtcNow.AddDays(-3), Compliant = false,
                    Findings = new() { new() { Rule = "CloudFresh" + Hostile, Status = "Fail", Detail = Hostile } },
                    LastGood = new() { ["Folder"] = DateTime.UtcNow.AddDays(-3) },
                };
                FleetStatus.Write(status, doc);
                // A host name that is a path is not a host name: the validation layer refuses that document by name.
                var pathHost = new HostStatusDocument { Host = "../../" + Hostile, Plan = "p", GeneratedUtc = DateTime.UtcNow, Compliant = true, Findings = new(), LastGood = new() };
                FleetStatus.Write(status, pathHost);
                var refused = new List<string>();
                var docs = FleetReportSource.ReadFolder(dir, (f, e) => refused.Add(e.Message));
                Assert.Single(docs);
                Assert.Equal("studio-a", docs[0].Document.Host);
                Assert.Single(refused);
                Assert.Empty(docs[0].History);
                var report = ReportBuilder.ForFleet(dir, docs, 30, DateTime.Now);
                Assert.True(report.Fleet![0].Stale);
                Assert.Equal("AtRisk", report.Hosts[0].Verdict.Level);
                Assert.Contains(report.Hosts[0].Verdict.Problems, p => p.StartsWith("This host has not reported since"));
                AssertSafe(HtmlReportWriter.Render(report), charts: false);
            }
            finally { Directory.Delete(dir, true); }
        }

        private static void AssertSafe(string html, bool charts = true)
        {
            Assert.DoesNotContain("\u0001", html, StringComparison.Ordinal);
            // Well-formed XML as well as HTML (an unescaped name anywhere would break this), and nothing in the markup
            // that could load or run anything: no such element, no src/href/on* attribute, no url() in a style.
            using var reader = XmlReader.Create(new StringReader(html), new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore });
            int svg = 0, styles = 0;
            var forbidden = new[] { "script", "img", "link", "iframe", "object", "embed", "image", "use", "foreignObject", "a" };
            while (reader.Read())
            {
                if (reader.NodeType != XmlNodeType.Element) continue;
                Assert.DoesNotContain(reader.LocalName, forbidden);
                if (reader.Name == "svg" && reader.GetAttribute("class") == "chart") svg++;
                if (reader.Name == "style") { styles++; Assert.DoesNotContain("url(", reader.ReadElementContentAsString()); continue; }
                if (!reader.HasAttributes) continue;
                while (reader.MoveToNextAttribute())
                {
                    var name = reader.LocalName.ToLowerInvariant();
                    Assert.False(name == "src" || name == "href" || name.StartsWith("on", StringComparison.Ordinal) || name == "style", "attribute " + reader.Name);
                }
                reader.MoveToElement();
            }
            Assert.True(!charts || svg > 0);
            Assert.Equal(1, styles);
        }

        private static int CountOf(string s, string what)
        {
            int n = 0, i = 0;
            while ((i = s.IndexOf(what, i, StringComparison.Ordinal)) >= 0) { n++; i += what.Length; }
            return n;
        }
    }
}
