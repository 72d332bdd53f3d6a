using System.Management.Automation;
using NekkBackup.Commands.Infrastructure;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Imaging;

namespace NekkBackup.Commands.Ghost
{
    /// <summary>
    /// Compare-NekkPluginInventory: an image's plugin and licence-tool inventory against this machine's (or another
    /// image's): what to reinstall before restoring to new hardware.
    /// </summary>
    [Cmdlet(VerbsData.Compare, "NekkPluginInventory")]
    [OutputType(typeof(PluginComparison))]
    public sealed class CompareNekkPluginInventoryCommand : NekkCmdlet
    {
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string Repository { get; set; } = null!;

        [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(GhostImageIdCompleter))]
        public string ImageId { get; set; } = null!;

        [Parameter]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(GhostImageIdCompleter))]
        public string? ReferenceImageId { get; set; }

        /// <summary>Plugin folders to scan on this machine instead of the platform's (also NEKKBACKUP_PLUGIN_PATHS).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string[]? PluginPath { get; set; }

        /// <summary>A folder laid out like a system drive to look for licence tools in (also NEKKBACKUP_TOOL_ROOT).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? ToolRoot { get; set; }

        protected override void ProcessRecord()
        {
            var repository = ResolveStorePath(Repository);
            var paths = PluginPath == null ? null : System.Array.ConvertAll(PluginPath, ResolvePath);
            var root = ToolRoot == null ? null : ResolvePath(ToolRoot);
            try
            {
                foreach (var row in PluginInventoryComparer.Compare(repository, ImageId, ReferenceImageId, paths, root)) WriteObject(row);
            }
            catch (NekkBackupException ex)
            {
                Terminate(ex, ImageId);
            }
        }
    }
}
