using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using NekkBackup.Core.Cloud;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Snapshots;

namespace NekkBackup.Commands.Cloud
{
    /// <summary>Send-NekkCloudBackup: incremental, content-addressed upload to S3 or an S3-compatible store.</summary>
    [Cmdlet(VerbsCommunications.Send, "NekkCloudBackup", SupportsShouldProcess = true)]
    [OutputType(typeof(NekkBackup.CloudRun))]
    [OutputType(typeof(NekkBackup.CloudBackupPreview))]
    public sealed class SendNekkCloudBackupCommand : CloudCmdletBase
    {
        protected override bool HandsMemoryBack => true;

        private readonly List<string> _paths = new();

        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("FullName")]
        [ValidateNotNullOrEmpty]
        public string[] Path { get; set; } = null!;

        /// <summary>Auto (a snapshot where the volume supports one, else live with a warning), Required, or None.</summary>
        [Parameter]
        public SnapshotMode Snapshot { get; set; } = SnapshotMode.Auto;

        [Parameter]
        public string[]? Exclude { get; set; }

        [Parameter]
        public string[]? Include { get; set; }

        /// <summary>TimeSpan, '12h', '30d', or a number of days.</summary>
        [Parameter]
        public object? ModifiedWithin { get; set; }

        [Parameter]
        [ValidateSet("STANDARD", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE", IgnoreCase = true)]
        public string? StorageClass { get; set; }

        [Parameter]
        [ValidateRange(1, 64)]
        public int ThrottleLimit { get; set; } = 4;

        [Parameter]
        [ValidateRange(0.0, 100000.0)]
        public double MaxMBps { get; set; }

        [Parameter]
        public object? EncryptionKey { get; set; }

        [Parameter]
        [ValidateRange(1, 36500)]
        public int ObjectLockDays { get; set; }

        [Parameter]
        [ValidateSet("GOVERNANCE", "COMPLIANCE", IgnoreCase = true)]
        public string ObjectLockMode { get; set; } = "GOVERNANCE";

        protected override void ProcessRecord()
        {
            foreach (var p in Path) _paths.Add(ResolvePath(p));
        }

        protected override void EndProcessing()
        {
            var target = BuildTarget();
            TimeSpan? window = null;
            if (ModifiedWithin != null)
            {
                try { window = NekkBackup.Core.Cloud.ModifiedWithin.Parse(ModifiedWithin is PSObject p ? p.BaseObject : ModifiedWithin); }
                catch (NekkBackupException ex) { Terminate(ex, ModifiedWithin); }
            }
            var cipher = CipherFrom(EncryptionKey);
            CloudBackupOptions Options(Core.Observability.IRunObserver observer) => new()
            {
                Paths = _paths.ToArray(), ModifiedWithin = window, StorageClass = StorageClass?.ToUpperInvariant(), ThrottleLimit = ThrottleLimit,
                MaxMBps = MaxMBps, Cipher = cipher, Include = Include, Exclude = Exclude,
                SourceResolver = SnapshotSources.ForMode(Snapshot, observer),
                ObjectLockDays = MyInvocation.BoundParameters.ContainsKey(nameof(ObjectLockDays)) ? ObjectLockDays : null,
                ObjectLockMode = ObjectLockMode.ToUpperInvariant(),
            };
            var filters = (Include is { Length: > 0 } ? $" including {string.Join(", ", Include)}" : "") + (Exclude is { Length: > 0 } ? $" excluding {string.Join(", ", Exclude)}" : "");
            if (!ShouldProcess(Where(target), $"Upload {string.Join(", ", _paths)}{filters} (snapshot: {Snapshot})"))
            {
                // -WhatIf is a real preview: what would be sent against what the bucket holds; nothing is written there.
                if (WhatIfRequested)
                {
                    var preview = Run((observer, ct) => new CloudBackupEngine(target, observer).PreviewAsync(Options(observer), ct), _paths.FirstOrDefault());
                    WritePreview(preview, preview.Items);
                }
                return;
            }
            WriteObject(Run((observer, ct) => new CloudBackupEngine(target, observer).RunAsync(Options(observer), ct), _paths.FirstOrDefault()));
        }
    }
}
