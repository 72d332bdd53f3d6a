using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Plans;

namespace NekkBackup.Core.Reports
{
    /// <summary>Export-NekkBackupReport's engine: build the report from a plan, a fleet folder or a bucket, and write it.</summary>
    public static class ReportExporter
    {
        private static readonly string[] Severity = { "Safe", "Attention", "AtRisk", "NotProtected" };

        public static async Task<ReportFile> ForPlanAsync(BackupPlan plan, string outFile, int days, DateTime asOfLocal, CancellationToken ct)
        {
            var sw = Stopwatch.StartNew();
            var doc = await ReportBuilder.ForPlanAsync(plan, days, asOfLocal, ct).ConfigureAwait(false);
            return Write(doc, outFile, sw);
        }

        public static ReportFile ForFleetFolder(string folder, string outFile, int days, DateTime asOfLocal)
        {
            var sw = Stopwatch.StartNew();
            var notes = new List<string>();
            var docs = FleetReportSource.ReadFolder(folder, (f, ex) => notes.Add($"Could not read '{f}': {ex.Message}"));
            return Write(ReportBuilder.ForFleet(folder, docs, days, asOfLocal, notes), outFile, sw);
        }

        public static async Task<ReportFile> ForBucketAsync(FleetBucketTarget target, string outFile, int days, DateTime asOfLocal, CancellationToken ct)
        {
            var sw = Stopwatch.StartNew();
            var docs = await FleetReportSource.ReadBucketAsync(target, ct).ConfigureAwait(false);
            var source = $"s3://{target.Bucket}/{target.Prefix}".TrimEnd('/');
            var notes = new[] { "Each host's verdict is the status it published to the bucket; run charts come from the plan history beside each host's NAS backups (use -FleetPath or -Path for them)." };
            return Write(ReportBuilder.ForFleet(source, docs, days, asOfLocal, notes), outFile, sw);
        }

        private static ReportFile Write(ReportDocument doc, string outFile, Stopwatch sw)
        {
            var path = HtmlReportWriter.Write(doc, outFile);
            sw.Stop();
            var worst = doc.Hosts.Select(h => h.Verdict.Level).OrderByDescending(l => Array.IndexOf(Severity, l)).FirstOrDefault() ?? "NotProtected";
            return new ReportFile
            {
                Path = path, Hosts = doc.Hosts.Count, Verdict = worst, Headline = doc.Hosts.FirstOrDefault()?.Verdict.Headline ?? "No host has published a status here yet.",
                Days = doc.Days, SizeBytes = new FileInfo(path).Length, Duration = sw.Elapsed, Generated = doc.GeneratedLocal,
            };
        }
    }
}
