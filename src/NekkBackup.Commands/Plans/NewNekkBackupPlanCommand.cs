using System.Collections;
using System.IO;
using System.Management.Automation;
using System.Text;
using NekkBackup.Commands.Infrastructure;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Plans;

namespace NekkBackup.Commands.Plans
{
    /// <summary>New-NekkBackupPlan: writes a readable, commented plan .psd1 (docs/plan-schema.md). Never a secret.</summary>
    [Cmdlet(VerbsCommon.New, "NekkBackupPlan", SupportsShouldProcess = true)]
    [OutputType(typeof(BackupPlan))]
    public sealed class NewNekkBackupPlanCommand : NekkCmdlet
    {
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; } = null!;

        [Parameter(Mandatory = true)]
        [ValidateNotNullOrEmpty]
        public string[] Source { get; set; } = null!;

        [Parameter(Mandatory = true)]
        [ValidateNotNullOrEmpty]
        public string NasDestination { get; set; } = null!;

        [Parameter] public string? Name { get; set; }
        [Parameter] public string? ImageSource { get; set; }
        [Parameter] public string? ImageRepository { get; set; }

        /// <summary>Image.Mode: UsedBlocks (default for plans) or AllBlocks.</summary>
        [Parameter]
        [ValidateSet("UsedBlocks", "AllBlocks")]
        public string? ImageMode { get; set; }

        /// <summary>Image.ChangeDetection: FileSystem (default) or Contents.</summary>
        [Parameter]
        [ValidateSet("FileSystem", "Contents")]
        public string? ImageChangeDetection { get; set; }
        [Parameter] public string? Bucket { get; set; }
        [Parameter] public string? Endpoint { get; set; }
        [Parameter] public string? Prefix { get; set; }
        [Parameter] public string? Region { get; set; }
        [Parameter] [ArgumentCompleter(typeof(AwsProfileCompleter))] public string? ProfileName { get; set; }
        [Parameter] public Hashtable? Retention { get; set; }
        [Parameter] public Hashtable? ImageRetention { get; set; }
        /// <summary>The bucket's GFS retention (Remove-NekkCloudBackup -Retention after each upload); needs -Bucket.</summary>
        [Parameter] public Hashtable? CloudRetention { get; set; }
        /// <summary>How the drill restores the cloud copy: @{ Cloud = 'Sample'|'Full'; SamplePercent; SampleGB; Seed; Scratch; ThawTier }.</summary>
        [Parameter] public Hashtable? Drill { get; set; }
        [Parameter] public Hashtable? Schedules { get; set; }
        [Parameter] public string[]? DawProcess { get; set; }

        [Parameter]
        [ValidateSet("Defer", "Throttle")]
        public string? DawPolicy { get; set; }

        [Parameter] public string? FleetStatusPath { get; set; }

        /// <summary>Folder.Exclude: globs (as Backup-NekkFolder -Exclude) the folder and cloud legs leave out.</summary>
        [Parameter] public string[]? Exclude { get; set; }

        /// <summary>Folder.Include: globs (as Backup-NekkFolder -Include); only matching files are backed up by the folder and cloud legs.</summary>
        [Parameter] public string[]? Include { get; set; }

        /// <summary>Overwrite an existing plan file.</summary>
        [Parameter] public SwitchParameter Force { get; set; }

        protected override void EndProcessing()
        {
            var path = ResolvePath(Path);
            var data = new Hashtable(System.StringComparer.OrdinalIgnoreCase)
            {
                ["SchemaVersion"] = BackupPlan.CurrentSchemaVersion,
                ["Sources"] = System.Array.ConvertAll(Source, s => (object)ResolveNas(s)),
                ["NasDestination"] = ResolveNas(NasDestination),
            };
            if (Name != null) data["Name"] = Name;
            if (Exclude != null || Include != null)
            {
                var f = new Hashtable();
                if (Exclude != null) f["Exclude"] = Exclude;
                if (Include != null) f["Include"] = Include;
                data["Folder"] = f;
            }
            if (ImageSource != null || ImageRepository != null || ImageMode != null || ImageChangeDetection != null)
            {
                data["Image"] = new Hashtable { ["Source"] = ImageSource, ["Repository"] = ImageRepository != null ? ResolveNas(ImageRepository) : null };
                if (ImageMode != null) ((Hashtable)data["Image"]!)["Mode"] = ImageMode;
                if (ImageChangeDetection != null) ((Hashtable)data["Image"]!)["ChangeDetection"] = ImageChangeDetection;
            }
            if (Bucket != null || Endpoint != null || Prefix != null || Region != null || ProfileName != null)
            {
                var c = new Hashtable { ["Bucket"] = Bucket };
                if (Endpoint != null) c["Endpoint"] = Endpoint;
                if (Prefix != null) c["Prefix"] = Prefix;
                if (Region != null) c["Region"] = Region;
                if (ProfileName != null) c["ProfileName"] = ProfileName;
                data["Cloud"] = c;
            }
            if (Retention != null) data["Retention"] = PlanFile.Plain(Retention);
            if (ImageRetention != null) data["ImageRetention"] = PlanFile.Plain(ImageRetention);
            if (CloudRetention != null) data["CloudRetention"] = PlanFile.Plain(CloudRetention);
            if (Drill != null) data["Drill"] = PlanFile.Plain(Drill);
            if (Schedules != null) data["Schedules"] = PlanFile.Plain(Schedules);
            if (DawProcess != null || DawPolicy != null)
            {
                var d = new Hashtable();
                if (DawProcess != null) d["Processes"] = DawProcess;
                if (DawPolicy != null) d["Policy"] = DawPolicy;
                data["Daw"] = d;
            }
            if (FleetStatusPath != null) data["FleetStatusPath"] = ResolveNas(FleetStatusPath);

            BackupPlan plan;
            string text;
            try
            {
                if (Name == null) data["Name"] = System.IO.Path.GetFileNameWithoutExtension(path);
                plan = PlanParser.Parse(data, path);
                text = PlanWriter.ToPsd1(plan);
                if (File.Exists(path) && !Force)
                    throw new NekkBackupException("PlanExists", FailureKind.ResourceExists, $"The plan file '{path}' exists; use -Force to overwrite it.", path);
            }
            catch (NekkBackupException ex)
            {
                Terminate(ex, path);
                return;
            }
            if (!ShouldProcess(path, "Write backup plan")) return;
            var dir = System.IO.Path.GetDirectoryName(path);
            if (dir != null && !Directory.Exists(dir))
                Terminate(Fail.NotFound("PathNotFound", $"The folder '{dir}' for the plan file does not exist.", dir), path);
            File.WriteAllText(path, text, new UTF8Encoding(true));
            WriteObject(PlanFile.Load(path));
        }

        // UNC paths are kept as typed (ResolvePath would treat \\nas\share as relative on Linux).
        private string ResolveNas(string p) => PlanParser.IsAbsolute(p) ? p : ResolvePath(p);
    }
}
