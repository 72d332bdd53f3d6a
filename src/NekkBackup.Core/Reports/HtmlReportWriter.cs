using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using NekkBackup.Core.Plans;

namespace NekkBackup.Core.Reports
{
    /// <summary>
    /// Writes a <see cref="ReportDocument"/> as one self-contained HTML file: inline CSS and SVG only, no script,
    /// font, image or link to anything outside the file (a Content-Security-Policy of default-src 'none' says so to
    /// the browser too). Markup is well-formed XML as well as HTML, so tests can parse it strictly.
    /// </summary>
    public static class HtmlReportWriter
    {
        private static readonly string[] Outcomes = { "Succeeded", "Failed", "Refused", "Other" };

        public static string Render(ReportDocument doc)
        {
            var sb = new StringBuilder(64 * 1024);
            sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>")
              .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>")
              .Append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\"/>")
              .Append("<meta name=\"generator\" content=\"NekkBackup\"/>")
              .Append("<title>").Append(Html.H(doc.Title)).Append("</title><style>").Append(ReportCss.Text).Append("</style></head>\n<body>");
            sb.Append("<header><h1>").Append(Html.H(doc.Title)).Append("</h1><p class=\"meta\">Generated ")
              .Append(Html.H(doc.GeneratedLocal.ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture)))
              .Append(" · runs of the last ").Append(doc.Days).Append(" days · from ").Append(Html.H(doc.Source)).Append("</p></header>\n<main>");
            foreach (var n in doc.Notes) sb.Append("<p class=\"note\">").Append(Html.H(n)).Append("</p>");
            if (doc.Fleet != null) Fleet(sb, doc);
            if (doc.Hosts.Count == 0) sb.Append("<p>No host has published a status here yet.</p>");
            int i = 0;
            foreach (var h in doc.Hosts) Host(sb, doc, h, ++i);
            sb.Append("</main>\n<footer><p>Made by NekkBackup from the backup evidence itself: the run manifests and records on each destination and the plan history. ")
              .Append("This file is self-contained; it loads nothing from anywhere and can be printed or saved as PDF.</p></footer></body></html>\n");
            return sb.ToString();
        }

        /// <summary>Writes the report atomically (temp file, then rename), so a reader never sees half a file.</summary>
        public static string Write(ReportDocument doc, string path)
        {
            var full = Path.GetFullPath(path);
            var dir = Path.GetDirectoryName(full);
            if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
            AtomicFile.Write(full, new UTF8Encoding(false).GetBytes(Render(doc)));
            return full;
        }

        private static void Fleet(StringBuilder sb, ReportDocument doc)
        {
            var fleet = doc.Fleet!;
            int ok = fleet.Count(f => f.Compliant && !f.Stale), bad = fleet.Count(f => !f.Compliant), stale = fleet.Count(f => f.Stale);
            sb.Append("<section aria-labelledby=\"fleet-h\"><h2 id=\"fleet-h\">Fleet</h2><p class=\"verdict-line\">")
              .Append(fleet.Count).Append(fleet.Count == 1 ? " host: " : " hosts: ").Append(ok).Append(" compliant, ").Append(bad).Append(" not compliant, ")
              .Append(stale).Append(" not reporting.</p>");
            sb.Append("<div class=\"scroll\" role=\"region\" aria-labelledby=\"fleet-cap\" tabindex=\"0\"><table><caption id=\"fleet-cap\">Every host's latest published status</caption>")
              .Append("<thead><tr><th scope=\"col\">Host</th><th scope=\"col\">Plan</th><th scope=\"col\">Verdict</th><th scope=\"col\">Failing rules</th><th scope=\"col\">Warnings</th>")
              .Append("<th scope=\"col\">Last NAS backup</th><th scope=\"col\">Last cloud copy</th><th scope=\"col\">Last image</th><th scope=\"col\">Last drill</th><th scope=\"col\">Reported</th></tr></thead><tbody>");
            foreach (var f in fleet)
            {
                var (cls, word) = f.Stale ? ("Warn", "⚠ Not reporting") : f.Compliant ? ("Pass", "✔ Compliant") : ("Fail", "✖ Not compliant");
                sb.Append("<tr><th scope=\"row\">").Append(Html.H(f.Host)).Append("</th><td>").Append(Html.H(f.Plan)).Append("</td><td><span class=\"badge s-").Append(cls).Append("\">")
                  .Append(word).Append("</span></td><td>").Append(Html.H(f.Failing.Length == 0 ? "none" : string.Join(", ", f.Failing)))
                  .Append("</td><td>").Append(Html.H(f.Warnings.Length == 0 ? "none" : string.Join(", ", f.Warnings))).Append("</td>");
                foreach (var t in new[] { f.LastFolder, f.LastCloud, f.LastImage, f.LastDrill })
                    sb.Append("<td>").Append(Html.H(t?.ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture) ?? "never")).Append("</td>");
                sb.Append("<td>").Append(Html.H(f.Generated.ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture))).Append("</td></tr>");
            }
            sb.Append("</tbody></table></div></section>\n");
        }

        private static void Host(StringBuilder sb, ReportDocument doc, HostReport h, int index)
        {
            var id = "h" + index;
            var v = h.Verdict;
            sb.Append("<section class=\"host\" aria-labelledby=\"").Append(id).Append("\"><h2 id=\"").Append(id).Append("\">").Append(Html.H(h.Host))
              .Append(" <span class=\"meta\">plan ").Append(Html.H(h.Plan)).Append("</span></h2>");
            if (h.ReportedLocal != null)
                sb.Append("<p class=\"meta\">As reported by the host at ").Append(Html.H(h.ReportedLocal.Value.ToString("yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture))).Append(".</p>");
            sb.Append("<div class=\"verdict v-").Append(v.Level).Append("\" role=\"status\"><p class=\"headline\"><span class=\"badge b-").Append(v.Level).Append("\">")
              .Append(LevelWord(v.Level)).Append("</span> ").Append(Html.H(v.Headline)).Append("</p>");
            if (v.Problems.Count > 0)
            {
                sb.Append("<h3>What is wrong</h3><ul>");
                foreach (var p in v.Problems) sb.Append("<li>").Append(Html.H(p)).Append("</li>");
                sb.Append("</ul>");
            }
            if (v.NextSteps.Count > 0)
            {
                sb.Append("<h3>What to do next</h3><ol>");
                foreach (var s in v.NextSteps) sb.Append("<li>").Append(Html.H(s)).Append("</li>");
                sb.Append("</ol>");
            }
            sb.Append("</div>");

            sb.Append("<h3>The 3-2-1 rules</h3><div class=\"scroll\"><table><thead><tr><th scope=\"col\">Rule</th><th scope=\"col\">Result</th><th scope=\"col\">Why</th></tr></thead><tbody>");
            foreach (var f in h.Findings)
                sb.Append("<tr><th scope=\"row\">").Append(Html.H(f.Rule)).Append("</th><td><span class=\"badge s-").Append(Html.H(f.Status)).Append("\">")
                  .Append(StatusWord(f.Status)).Append("</span></td><td>").Append(Html.H(f.Detail)).Append("</td></tr>");
            if (h.Findings.Count == 0) sb.Append("<tr><td colspan=\"3\">No findings were published.</td></tr>");
            sb.Append("</tbody></table></div>");

            var toUtc = doc.GeneratedLocal.ToUniversalTime();
            var fromUtc = toUtc.AddDays(-doc.Days);
            var charted = h.Legs.Where(l => l.Leg != PlanLeg.Drill || l.Runs.Count > 0).ToList();
            sb.Append("<h3>Runs over the last ").Append(doc.Days).Append(" days</h3>");
            if (charted.Count == 0) sb.Append("<p>No run history is available for this host here (the plan history lives beside its NAS backups).</p>");
            foreach (var leg in charted) Leg(sb, id + "-" + leg.Leg.ToString().ToLowerInvariant(), leg, fromUtc, toUtc);

            sb.Append("<h3>Restore drills</h3><div class=\"scroll\"><table><thead><tr><th scope=\"col\">Drill</th><th scope=\"col\">Last</th><th scope=\"col\">Result</th><th scope=\"col\">Detail</th></tr></thead><tbody>");
            foreach (var d in h.Drills)
                sb.Append("<tr><th scope=\"row\">").Append(Html.H(d.What)).Append("</th><td>").Append(Html.H(Html.Local(d.FinishedUtc)))
                  .Append(d.FinishedUtc != null ? " (" + Html.H(ReportBuilder.Ago(toUtc - d.FinishedUtc.Value)) + ")" : "").Append("</td><td>")
                  .Append(Html.H(d.Status)).Append("</td><td>").Append(Html.H(d.Detail)).Append("</td></tr>");
            sb.Append("</tbody></table></div>");

            var upcoming = h.Legs.Where(l => l.Schedule.Length > 0).ToList();
            if (upcoming.Count > 0)
            {
                sb.Append("<h3>Upcoming schedule</h3><div class=\"scroll\"><table><thead><tr><th scope=\"col\">Job</th><th scope=\"col\">Schedule</th><th scope=\"col\">Next run</th></tr></thead><tbody>");
                foreach (var l in upcoming)
                    sb.Append("<tr><th scope=\"row\">").Append(Html.H(l.Title)).Append("</th><td>").Append(Html.H(l.Schedule)).Append("</td><td>")
                      .Append(Html.H(l.NextRunLocal?.ToString("ddd yyyy-MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture) ?? "not scheduled")).Append("</td></tr>");
                sb.Append("</tbody></table></div>");
            }
            sb.Append("</section>\n");
        }

        private static void Leg(StringBuilder sb, string id, ReportLeg leg, DateTime fromUtc, DateTime toUtc)
        {
            sb.Append("<h4>").Append(Html.H(leg.Title)).Append("</h4>");
            if (leg.Location.Length > 0) sb.Append("<p class=\"note\">Destination: ").Append(Html.H(leg.Location)).Append("</p>");
            if (leg.Problem != null) sb.Append("<p><span class=\"badge s-Fail\">✖ Unreadable</span> ").Append(Html.H(leg.Problem)).Append("</p>");
            sb.Append("<div class=\"legs\"><figure><figcaption>Runs and how long they took</figcaption>");
            SvgCharts.Runs(sb, id + "-runs", $"{leg.Title}: runs and their duration, last {(toUtc - fromUtc).TotalDays:0} days", leg.Runs, fromUtc, toUtc);
            sb.Append("<ul class=\"legend\">");
            foreach (var o in Outcomes)
            {
                var n = leg.Runs.Count(r => r.Outcome == o);
                if (n == 0 && o == "Other") continue;
                sb.Append("<li>").Append(SvgCharts.LegendShape(o)).Append(Html.H($"{(o == "Other" ? "Cancelled / deferred" : o)}: {n}")).Append("</li>");
            }
            sb.Append("</ul><p class=\"note\">").Append(Html.H(SvgCharts.RunSummary(leg.Runs))).Append("</p></figure>");
            if (leg.Leg != PlanLeg.Drill)
            {
                sb.Append("<figure><figcaption>Stored data growth (bytes the runs added)</figcaption>");
                SvgCharts.Growth(sb, id + "-growth", $"{leg.Title}: cumulative bytes added", leg.Growth, fromUtc, toUtc);
                sb.Append("<p class=\"note\">").Append(Html.H(leg.Growth.Count == 0 ? "No run recorded the bytes it added in this period."
                    : $"{Html.Bytes(leg.Growth[leg.Growth.Count - 1].Bytes)} added in this period (what retention pruned is not subtracted).")).Append("</p></figure>");
            }
            sb.Append("</div>");
            var recent = leg.Runs.Reverse().Take(8).ToList();
            if (recent.Count == 0) return;
            sb.Append("<div class=\"scroll\"><table><caption>").Append(Html.H($"Latest runs of the {leg.Title.ToLowerInvariant()}")).Append("</caption>")
              .Append("<thead><tr><th scope=\"col\">Started</th><th scope=\"col\">Result</th><th scope=\"col\">Duration</th><th scope=\"col\">Data added</th><th scope=\"col\">Detail</th></tr></thead><tbody>");
            foreach (var r in recent)
            {
                var cls = r.Outcome == "Succeeded" ? "Pass" : r.Outcome == "Other" ? "Warn" : "Fail";
                sb.Append("<tr><td>").Append(Html.H(Html.Local(r.StartedUtc))).Append("</td><td><span class=\"badge s-").Append(cls).Append("\">")
                  .Append(cls == "Pass" ? "✔ " : cls == "Warn" ? "⚠ " : "✖ ").Append(Html.H(r.Status)).Append("</span></td><td class=\"num\">").Append(Html.H(Html.Duration(r.Duration)))
                  .Append("</td><td class=\"num\">").Append(Html.H(r.Bytes != null ? Html.Bytes(r.Bytes.Value) : "—")).Append("</td><td>").Append(Html.H(r.Detail)).Append("</td></tr>");
            }
            sb.Append("</tbody></table></div>");
        }

        private static string LevelWord(string level) => level switch
        {
            "Safe" => "✔ Safe",
            "Attention" => "⚠ Attention",
            "AtRisk" => "✖ At risk",
            _ => "✖ Not protected",
        };

        private static string StatusWord(string status) => status switch
        {
            "Pass" => "✔ Pass",
            "Warn" => "⚠ Warn",
            "Fail" => "✖ Fail",
            _ => Html.H(status),
        };
    }
}
