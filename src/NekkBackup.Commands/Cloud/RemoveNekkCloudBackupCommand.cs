using System.Collections;
using System.Linq;
using System.Management.Automation;
using NekkBackup.Commands.Folder;
using NekkBackup.Commands.Infrastructure;
using NekkBackup.Core.Cloud;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Folder;

namespace NekkBackup.Commands.Cloud
{
    /// <summary>
    /// Remove-NekkCloudBackup -Retention: drops the run manifests a GFS policy does not keep, then the data objects no
    /// kept manifest names (BucketPrune: mark-then-sweep under the bucket lock, with the safety rules of PRODUCT.md
    /// §3.4). -WhatIf computes the same plan without the lock and lists every manifest and object it would remove,
    /// and returns the preview (Status WhatIf).
    /// </summary>
    [Cmdlet(VerbsCommon.Remove, "NekkCloudBackup", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
    [OutputType(typeof(NekkBackup.CloudPruneResult))]
    public sealed class RemoveNekkCloudBackupCommand : CloudCmdletBase
    {
        /// <summary>@{ KeepLast; Daily; Weekly; Monthly } (Hourly too) — the same shape as Backup-NekkFolder -Retention.</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNull]
        public Hashtable Retention { get; set; } = null!;

        /// <summary>Also delete objects still inside their storage class's minimum storage duration (never one under Object Lock, never a young one).</summary>
        [Parameter]
        public SwitchParameter Force { get; set; }

        /// <summary>Prune another host's runs (default this machine's).</summary>
        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? HostName { get; set; }

        protected override string? HostNameValue => HostName;

        protected override void ProcessRecord()
        {
            var target = BuildTarget();
            RetentionPolicy policy;
            BucketPruneOptions options;
            try
            {
                policy = RetentionParser.Parse(Retention)!;
                options = new BucketPruneOptions { Retention = policy, Force = Force };
                options.Validate();
            }
            catch (NekkBackupException ex)
            {
                Terminate(ex, Retention);
                return;
            }
            if (!ShouldProcess($"Removing the runs retention ({policy.Describe()}) drops from {Where(target)}, then the data objects no kept run names.",
                    $"Remove the runs retention ({policy.Describe()}) drops from {Where(target)}, and the data objects no kept run names?",
                    "Remove-NekkCloudBackup", out var reason))
            {
                if (reason == ShouldProcessReason.WhatIf) Preview(target, options);
                return;
            }
            var result = Run((observer, ct) => new BucketPrune(target, observer).RunAsync(options, ct), Bucket);
            Report(result);
            WriteObject(result);
        }

        /// <summary>-WhatIf: the same plan, read without the lock; one What-if line per manifest and object, and the preview object.</summary>
        private void Preview(CloudTarget target, BucketPruneOptions options)
        {
            var preview = Run((observer, ct) => new BucketPrune(target, observer).PreviewAsync(options, ct), Bucket);
            foreach (var id in preview.RunsRemoved) ShouldProcess(target.ManifestKey(id), "Remove run manifest");
            foreach (var o in preview.Objects) ShouldProcess($"{o.Key} ({Format.Bytes(o.SizeBytes)})", "Remove data object");
            if (preview.Status == "WhatIf")
                ShouldProcess($"{Where(target)}: {preview.RunsRemoved.Length} run manifest(s) and {preview.ObjectsRemoved:N0} data object(s), {Format.Bytes(preview.BytesFreed)} freed; "
                    + $"{preview.RunsKept.Length} run(s) kept, {preview.Held.Length} item(s) held back", "Prune");
            Report(preview);
            WriteObject(preview);
        }

        private void Report(NekkBackup.CloudPruneResult r)
        {
            if (r.CompletedPruneId != null) WriteVerbose($"Completed the interrupted prune {r.CompletedPruneId}.");
            foreach (var h in r.Held) WriteVerbose($"Kept {h.Key}: {h.Detail}.");
            var locked = r.Held.Count(h => h.Reason is PruneSafety.ObjectLock or PruneSafety.LegalHold or PruneSafety.MinimumStorageDuration);
            if (locked > 0)
                WriteWarning($"{locked} item(s) retention drops stay under Object Lock or inside their minimum storage duration (see -Verbose or the result's Held).");
            if (r.Status == "Refused")
                WriteNekkError(Fail.InvalidData("PruneRefused", "Nothing was removed: " + r.Reason, r.Prefix), r.Prefix);
        }
    }
}
