using System.Collections;
using NekkBackup.Core.Notify;
using NekkBackup.Core.Plans;

namespace NekkBackup.Core.Reports
{
    /// <summary>A plan's Report key: after each run, write the HTML report to a folder (e.g. the NAS) for the studio owner.</summary>
    public sealed class ReportSettings
    {
        private static readonly string[] Keys = { "Path", "Days" };

        /// <summary>Absolute folder the report is written to, as &lt;host&gt;-&lt;plan&gt;.html.</summary>
        public string Path { get; init; } = "";
        /// <summary>Days of history the charts show (default 90).</summary>
        public int Days { get; init; } = 90;

        public static ReportSettings? Parse(IDictionary? table, string? planPath)
        {
            if (table == null) return null;
            var p = new PlanSection(planPath);
            p.CheckKeys(table, Keys, "Report.", "use Set-NekkCredential for the share's account");
            var path = p.String(table, "Path", true, "Report.Path")!;
            if (!PlanParser.IsAbsolute(path))
                throw p.Error("Report.Path", $"'{path}' must be an absolute path (a scheduled run has no current folder; on Windows use a UNC path such as \\\\nas\\reports)");
            return new ReportSettings { Path = path, Days = p.Int(table, "Days", "Report.Days", 1, 400) ?? 90 };
        }

        public override string ToString() => $"{Path} ({Days} days)";
    }
}
