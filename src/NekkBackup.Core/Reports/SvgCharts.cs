using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace NekkBackup.Core.Reports
{
    /// <summary>
    /// Inline SVG charts for the report: runs over time (duration on the vertical axis, outcome as shape AND colour)
    /// and the cumulative bytes a leg added. Every text is escaped; every chart has a title and a description.
    /// </summary>
    internal static class SvgCharts
    {
        private const int Width = 720, Height = 230, Left = 92, Right = 700, Top = 16, Bottom = 190;

        public static void Runs(StringBuilder sb, string id, string title, IReadOnlyList<ReportRun> runs, DateTime fromUtc, DateTime toUtc)
        {
            var max = NiceMax(runs.Count == 0 ? 60 : runs.Max(r => r.Duration.TotalSeconds));
            var desc = RunSummary(runs);
            Open(sb, id, title, desc);
            Axes(sb, fromUtc, toUtc, new[] { 0.0, max / 2, max }.Select(v => (v / max, Html.Duration(TimeSpan.FromSeconds(v)))));
            foreach (var r in runs)
            {
                var x = X(r.StartedUtc, fromUtc, toUtc);
                var y = Bottom - r.Duration.TotalSeconds / max * (Bottom - Top);
                var tip = Html.H($"{Html.Local(r.StartedUtc)} · {r.Status} · {Html.Duration(r.Duration)}");
                sb.Append("<g class=\"mark ").Append(OutcomeClass(r.Outcome)).Append("\"><title>").Append(tip).Append("</title>");
                Shape(sb, r.Outcome, x, y);
                sb.Append("</g>");
            }
            sb.Append("</svg>");
        }

        public static void Growth(StringBuilder sb, string id, string title, IReadOnlyList<GrowthPoint> points, DateTime fromUtc, DateTime toUtc)
        {
            var top = points.Count == 0 ? 0 : points[points.Count - 1].Bytes;
            var max = NiceBytes(top);
            var desc = points.Count == 0 ? "No data was added in this period."
                : $"{Html.Bytes(top)} added over {points.Count} runs, from {Html.Local(points[0].Utc)} to {Html.Local(points[points.Count - 1].Utc)}.";
            Open(sb, id, title, desc);
            Axes(sb, fromUtc, toUtc, new[] { 0.0, max / 2.0, max }.Select(v => (v / max, Html.Bytes((long)v))));
            if (points.Count > 0)
            {
                var path = new StringBuilder();
                double prevY = Bottom;
                path.Append("M").Append(N(X(points[0].Utc, fromUtc, toUtc))).Append(' ').Append(N(Bottom));
                foreach (var p in points)
                {
                    var x = X(p.Utc, fromUtc, toUtc);
                    var y = Bottom - p.Bytes / max * (Bottom - Top);
                    path.Append(" L").Append(N(x)).Append(' ').Append(N(prevY)).Append(" L").Append(N(x)).Append(' ').Append(N(y));
                    prevY = y;
                }
                path.Append(" L").Append(N(Right)).Append(' ').Append(N(prevY));
                var line = path.ToString();
                sb.Append("<path class=\"area\" d=\"").Append(line).Append(" L").Append(N(Right)).Append(' ').Append(N(Bottom)).Append(" Z\"/>");
                sb.Append("<path class=\"mark growth\" d=\"").Append(line).Append("\"><title>").Append(Html.H(desc)).Append("</title></path>");
            }
            sb.Append("</svg>");
        }

        /// <summary>A legend item's shape (the same as in the chart), for HTML next to the counts.</summary>
        public static string LegendShape(string outcome)
        {
            var sb = new StringBuilder("<svg class=\"key\" viewBox=\"0 0 16 16\" width=\"16\" height=\"16\" aria-hidden=\"true\" focusable=\"false\"><g class=\"");
            sb.Append(OutcomeClass(outcome)).Append("\">");
            Shape(sb, outcome, 8, 8);
            return sb.Append("</g></svg>").ToString();
        }

        public static string RunSummary(IReadOnlyList<ReportRun> runs)
        {
            if (runs.Count == 0) return "No runs in this period.";
            var parts = new[] { "Succeeded", "Failed", "Refused", "Other" }
                .Select(o => (o, n: runs.Count(r => r.Outcome == o))).Where(x => x.n > 0)
                .Select(x => $"{x.n} {(x.o == "Other" ? "cancelled or deferred" : x.o.ToLowerInvariant())}");
            var ok = runs.Where(r => r.Outcome == "Succeeded").Select(r => r.Duration).OrderBy(d => d).ToList();
            var median = ok.Count > 0 ? $"; typical run {Html.Duration(ok[ok.Count / 2])}" : "";
            return $"{runs.Count} {(runs.Count == 1 ? "run" : "runs")}: {string.Join(", ", parts)}{median}.";
        }

        private static void Open(StringBuilder sb, string id, string title, string desc)
        {
            sb.Append("<svg class=\"chart\" viewBox=\"0 0 ").Append(Width).Append(' ').Append(Height)
              .Append("\" role=\"img\" aria-labelledby=\"").Append(id).Append("-t ").Append(id).Append("-d\" preserveAspectRatio=\"xMidYMid meet\">")
              .Append("<title id=\"").Append(id).Append("-t\">").Append(Html.H(title)).Append("</title>")
              .Append("<desc id=\"").Append(id).Append("-d\">").Append(Html.H(desc)).Append("</desc>");
        }

        private static void Axes(StringBuilder sb, DateTime fromUtc, DateTime toUtc, IEnumerable<(double frac, string label)> yTicks)
        {
            foreach (var (frac, label) in yTicks)
            {
                var y = Bottom - frac * (Bottom - Top);
                sb.Append("<line class=\"grid\" x1=\"").Append(Left).Append("\" x2=\"").Append(Right).Append("\" y1=\"").Append(N(y)).Append("\" y2=\"").Append(N(y)).Append("\"/>");
                sb.Append("<text class=\"ylab\" x=\"").Append(Left - 8).Append("\" y=\"").Append(N(y + 6)).Append("\">").Append(Html.H(label)).Append("</text>");
            }
            sb.Append("<line class=\"axis\" x1=\"").Append(Left).Append("\" x2=\"").Append(Right).Append("\" y1=\"").Append(Bottom).Append("\" y2=\"").Append(Bottom).Append("\"/>");
            for (int i = 0; i <= 3; i++)
            {
                var t = fromUtc + TimeSpan.FromTicks((toUtc - fromUtc).Ticks / 3 * i);
                var x = X(t, fromUtc, toUtc);
                var anchor = i == 0 ? "start" : i == 3 ? "end" : "middle";
                sb.Append("<text class=\"xlab\" text-anchor=\"").Append(anchor).Append("\" x=\"").Append(N(x)).Append("\" y=\"").Append(Bottom + 30).Append("\">")
                  .Append(Html.H(t.ToLocalTime().ToString("d MMM", CultureInfo.InvariantCulture))).Append("</text>");
            }
        }

        private static void Shape(StringBuilder sb, string outcome, double x, double y)
        {
            switch (outcome)
            {
                case "Succeeded":
                    sb.Append("<circle cx=\"").Append(N(x)).Append("\" cy=\"").Append(N(y)).Append("\" r=\"4.5\"/>");
                    break;
                case "Failed":
                    sb.Append("<path d=\"M").Append(N(x - 5)).Append(' ').Append(N(y - 5)).Append(" L").Append(N(x + 5)).Append(' ').Append(N(y + 5))
                      .Append(" M").Append(N(x - 5)).Append(' ').Append(N(y + 5)).Append(" L").Append(N(x + 5)).Append(' ').Append(N(y - 5)).Append("\"/>");
                    break;
                case "Refused":
                    sb.Append("<path d=\"M").Append(N(x)).Append(' ').Append(N(y - 6)).Append(" L").Append(N(x + 6)).Append(' ').Append(N(y + 5))
                      .Append(" L").Append(N(x - 6)).Append(' ').Append(N(y + 5)).Append(" Z\"/>");
                    break;
                default:
                    sb.Append("<rect x=\"").Append(N(x - 4)).Append("\" y=\"").Append(N(y - 4)).Append("\" width=\"8\" height=\"8\"/>");
                    break;
            }
        }

        private static string OutcomeClass(string outcome) => outcome switch
        {
            "Succeeded" => "ok",
            "Failed" => "fail",
            "Refused" => "refused",
            _ => "other",
        };

        private static double X(DateTime t, DateTime from, DateTime to)
        {
            var span = Math.Max(1, (to - from).Ticks);
            var f = Math.Min(1, Math.Max(0, (double)(t - from).Ticks / span));
            return Left + f * (Right - Left);
        }

        private static double NiceMax(double seconds)
        {
            double[] steps = { 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400 };
            foreach (var s in steps) if (seconds <= s) return s;
            return Math.Ceiling(seconds / 86400) * 86400;
        }

        private static double NiceBytes(long bytes)
        {
            double v = 1024;
            while (v < bytes) v *= 2;
            return v;
        }

        private static string N(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);
    }
}
