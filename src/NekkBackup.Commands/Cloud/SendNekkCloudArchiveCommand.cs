using System.Management.Automation;
using NekkBackup.Core.Cloud;

namespace NekkBackup.Commands.Cloud
{
    /// <summary>Send-NekkCloudArchive: a completed project as one tar object (cold storage) plus a manifest.</summary>
    [Cmdlet(VerbsCommunications.Send, "NekkCloudArchive", SupportsShouldProcess = true)]
    [OutputType(typeof(NekkBackup.CloudArchive))]
    public sealed class SendNekkCloudArchiveCommand : CloudCmdletBase
    {
        protected override bool HandsMemoryBack => true;

        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [Alias("FullName")]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; } = null!;

        [Parameter]
        [ValidateSet("STANDARD", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE", IgnoreCase = true)]
        public string StorageClass { get; set; } = "DEEP_ARCHIVE";

        [Parameter]
        [ValidatePattern("^[A-Za-z0-9._-]+$")]
        public string? ArchiveId { get; set; }

        [Parameter]
        [ValidateRange(1, 64)]
        public int ThrottleLimit { get; set; } = 4;

        [Parameter]
        [ValidateRange(0.0, 100000.0)]
        public double MaxMBps { get; set; }

        [Parameter]
        [ValidateRange(1, 36500)]
        public int ObjectLockDays { get; set; }

        [Parameter]
        [ValidateSet("GOVERNANCE", "COMPLIANCE", IgnoreCase = true)]
        public string ObjectLockMode { get; set; } = "GOVERNANCE";

        protected override void ProcessRecord()
        {
            var target = BuildTarget();
            var path = ResolvePath(Path);
            // Warn before anything goes to cold storage (PRODUCT.md §3.7), also under -WhatIf.
            if (System.IO.Directory.Exists(path))
                foreach (var w in CloudArchiveEngine.CheckMedia(path)) WriteWarning(w);
            var options = new CloudArchiveOptions
            {
                Path = path, StorageClass = StorageClass.ToUpperInvariant(), ArchiveId = ArchiveId, ThrottleLimit = ThrottleLimit, MaxMBps = MaxMBps,
                ObjectLockDays = MyInvocation.BoundParameters.ContainsKey(nameof(ObjectLockDays)) ? ObjectLockDays : null,
                ObjectLockMode = ObjectLockMode.ToUpperInvariant(),
            };
            if (!ShouldProcess(Where(target), $"Archive {path} as one {options.StorageClass} object"))
                return;
            WriteObject(Run((observer, ct) => new CloudArchiveEngine(target, new QuietMediaObserver(observer)).RunAsync(options, ct), path));
        }

        /// <summary>The media warnings were already written before ShouldProcess: don't repeat them.</summary>
        private sealed class QuietMediaObserver : NekkBackup.Core.Observability.IRunObserver
        {
            private readonly NekkBackup.Core.Observability.IRunObserver _inner;
            public QuietMediaObserver(NekkBackup.Core.Observability.IRunObserver inner) => _inner = inner;
            public void Progress(NekkBackup.Core.Observability.RunProgress progress) => _inner.Progress(progress);
            public void ItemFailed(string item, NekkBackup.Core.Errors.NekkBackupException error) => _inner.ItemFailed(item, error);
            public void Message(NekkBackup.Core.Observability.RunMessageLevel level, string text)
            {
                if (level == NekkBackup.Core.Observability.RunMessageLevel.Warning && text.StartsWith("Session '", System.StringComparison.Ordinal)) return;
                _inner.Message(level, text);
            }
        }
    }
}
