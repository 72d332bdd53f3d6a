using System;
using System.Management.Automation;
using NekkBackup.Commands.Cloud;
using NekkBackup.Commands.Infrastructure;
using NekkBackup.Commands.Plans;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Plans;
using NekkBackup.Core.Reports;

namespace NekkBackup.Commands.Reports
{
    /// <summary>
    /// Export-NekkBackupReport: one self-contained HTML file for the studio owner (PRODUCT.md §3.5.1) — the 3-2-1 verdict
    /// in plain words, runs and stored-data growth per leg as SVG charts, the last drill, the schedule, and the fleet
    /// table for a fleet. Built from the evidence Test-NekkBackupCompliance reads.
    /// </summary>
    [Cmdlet(VerbsData.Export, "NekkBackupReport", DefaultParameterSetName = PlanSet, SupportsShouldProcess = true)]
    [OutputType(typeof(ReportFile))]
    public sealed class ExportNekkBackupReportCommand : NekkCmdlet
    {
        private const string PlanSet = "Plan", FleetSet = "Fleet", BucketSet = "Bucket";

        [Parameter(Mandatory = true, Position = 0, ParameterSetName = PlanSet, ValueFromPipelineByPropertyName = true)]
        [Alias("FullName")]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; } = null!;

        /// <summary>A folder of published host statuses (FleetStatusPath, or a share holding one NAS destination per host).</summary>
        [Parameter(Mandatory = true, ParameterSetName = FleetSet)]
        [ValidateNotNullOrEmpty]
        public string FleetPath { get; set; } = null!;

        [Parameter(Mandatory = true, ParameterSetName = BucketSet)]
        [ValidateNotNullOrEmpty]
        public string Bucket { get; set; } = null!;

        [Parameter(ParameterSetName = BucketSet)] public string? Prefix { get; set; }
        [Parameter(ParameterSetName = BucketSet)] [ValidateNotNullOrEmpty] public string? Endpoint { get; set; }
        [Parameter(ParameterSetName = BucketSet)] [ValidateNotNullOrEmpty] public string? Region { get; set; }
        [Parameter(ParameterSetName = BucketSet)] [ValidateNotNullOrEmpty] [ArgumentCompleter(typeof(AwsProfileCompleter))] public string? ProfileName { get; set; }
        [Parameter(ParameterSetName = BucketSet)] [Credential] public PSCredential? Credential { get; set; }

        [Parameter(Mandatory = true)]
        [ValidateNotNullOrEmpty]
        public string OutFile { get; set; } = null!;

        /// <summary>Days of runs the charts show (default 90).</summary>
        [Parameter]
        [ValidateRange(1, 400)]
        public int Days { get; set; } = 90;

        /// <summary>Judge and draw as of another instant (default now).</summary>
        [Parameter]
        public DateTime? AsOf { get; set; }

        protected override void ProcessRecord()
        {
            var outFile = ResolvePath(OutFile);
            var asOf = AsOf ?? DateTime.Now;
            if (System.IO.Directory.Exists(outFile))
                Terminate(Fail.Argument("InvalidOutFile", $"-OutFile '{outFile}' is a folder; give a file name such as report.html.", outFile));
            ReportFile result;
            switch (ParameterSetName)
            {
                case FleetSet:
                    var folder = PlanParser.IsAbsolute(FleetPath) ? FleetPath : ResolvePath(FleetPath);
                    if (!System.IO.Directory.Exists(folder))
                        Terminate(Fail.NotFound("PathNotFound", $"The fleet status folder '{folder}' does not exist (or the share is unreachable).", folder));
                    if (!ShouldProcess(outFile, $"Write the backup report of the fleet in '{folder}'")) return;
                    result = Run((o, ct) => System.Threading.Tasks.Task.FromResult(ReportExporter.ForFleetFolder(folder, outFile, Days, asOf)), folder);
                    break;
                case BucketSet:
                    FleetBucketTarget target;
                    try { target = CloudCmdletBase.FleetTargetFor(Bucket, Prefix, Endpoint, Region, ProfileName, Credential, out _); }
                    catch (NekkBackupException ex) { Terminate(ex, Bucket); return; }
                    if (!ShouldProcess(outFile, $"Write the backup report of the fleet in bucket '{Bucket}'")) return;
                    result = Run((o, ct) => ReportExporter.ForBucketAsync(target, outFile, Days, asOf, ct), Bucket);
                    break;
                default:
                    BackupPlan plan;
                    try { plan = PlanFile.Load(ResolvePath(Path)); }
                    catch (NekkBackupException ex) { Terminate(ex, Path); return; }
                    if (!ShouldProcess(outFile, $"Write the backup report of plan '{plan.Name}'")) return;
                    result = Run((o, ct) => ReportExporter.ForPlanAsync(plan, outFile, Days, asOf, ct), plan.Path);
                    break;
            }
            WriteObject(result);
        }
    }
}
