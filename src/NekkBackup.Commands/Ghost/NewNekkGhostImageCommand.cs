using System;
using System.Management.Automation;
using NekkBackup.Commands.Infrastructure;
using NekkBackup.Core;
using NekkBackup.Core.Imaging;
using NekkBackup.Core.Snapshots;

namespace NekkBackup.Commands.Ghost
{
    /// <summary>New-NekkGhostImage: block-level capture of a volume, device or image file into a deduplicating repository.</summary>
    [Cmdlet(VerbsCommon.New, "NekkGhostImage", SupportsShouldProcess = true)]
    [OutputType(typeof(GhostImage))]
    public sealed class NewNekkGhostImageCommand : NekkCmdlet
    {
        protected override bool HandsMemoryBack => true;

        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string Source { get; set; } = null!;

        [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string Repository { get; set; } = null!;

        [Parameter]
        public SnapshotMode Snapshot { get; set; } = SnapshotMode.Auto;

        [Parameter]
        public GhostCompression Compression { get; set; } = GhostCompression.Zstd;

        /// <summary>AllBlocks (default: every byte, bit for bit) or UsedBlocks (only what the ext2/3/4 or NTFS bitmap marks used).</summary>
        [Parameter]
        public GhostCaptureMode Mode { get; set; } = GhostCaptureMode.AllBlocks;

        /// <summary>UsedBlocks only: FileSystem (default: files whose metadata is unchanged since the previous image are not read again) or Contents (every used block is read and hashed).</summary>
        [Parameter]
        public GhostChangeDetection ChangeDetection { get; set; } = GhostChangeDetection.FileSystem;

        [Parameter]
        public string[]? Tag { get; set; }

        /// <summary>Plugin folders to record instead of the platform's (also NEKKBACKUP_PLUGIN_PATHS).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string[]? PluginPath { get; set; }

        /// <summary>A folder laid out like a system drive to look for licence tools in (also NEKKBACKUP_TOOL_ROOT).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? ToolRoot { get; set; }

        protected override void ProcessRecord()
        {
            var source = ResolveSource(Source);
            var repository = ResolveStorePath(Repository);
            if (!ShouldProcess(repository, $"Capture a Ghost image of {source} ({Mode})")) return;
            var image = Run((observer, ct) => GhostRepository.CaptureAsync(new GhostCaptureOptions
            {
                Source = source,
                Repository = repository,
                Compression = Compression,
                Mode = Mode,
                ChangeDetection = ChangeDetection,
                Tags = Tag ?? Array.Empty<string>(),
                PluginPaths = PluginPath == null ? null : Array.ConvertAll(PluginPath, ResolvePath),
                ToolRoot = ToolRoot == null ? null : ResolvePath(ToolRoot),
                Snapshot = GhostSnapshots.ForMode(Snapshot, observer),
            }, observer, ct), source);
            WriteObject(image);
        }

        /// <summary>Devices pass through as given (\\.\C:, C:, /dev/sda2); anything else is a file path.</summary>
        private string ResolveSource(string source)
        {
            if (OperatingSystemInfo.IsWindows && WindowsDevicePath.ToDevicePath(source) != null) return source;
            if (source.StartsWith("/dev/", StringComparison.Ordinal)) return source;
            return ResolvePath(source);
        }
    }
}
