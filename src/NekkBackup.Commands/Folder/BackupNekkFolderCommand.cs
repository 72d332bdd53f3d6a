using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using NekkBackup.Commands.Infrastructure;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Folder;
using NekkBackup.Core.Snapshots;

namespace NekkBackup.Commands.Folder
{
    /// <summary>Backup-NekkFolder: incremental, versioned copy of folders to a NAS path (PRODUCT.md §3.1).</summary>
    [Cmdlet(VerbsData.Backup, "NekkFolder", SupportsShouldProcess = true)]
    [OutputType(typeof(FolderBackupRun))]
    [OutputType(typeof(FolderBackupPreview))]
    public sealed class BackupNekkFolderCommand : NekkCmdlet
    {
        private readonly List<string> _sources = new();

        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [Alias("FullName")]
        [ValidateNotNullOrEmpty]
        public string[] Path { get; set; } = null!;

        [Parameter(Mandatory = true, Position = 1)]
        [ValidateNotNullOrEmpty]
        public string Destination { get; set; } = null!;

        [Parameter]
        public SnapshotMode Snapshot { get; set; } = SnapshotMode.Auto;

        [Parameter]
        public string[]? Exclude { get; set; }

        [Parameter]
        public string[]? Include { get; set; }

        [Parameter]
        public SwitchParameter Checksum { get; set; }

        [Parameter]
        [ValidateRange(1, 64)]
        public int ThrottleLimit { get; set; } = Math.Max(1, Environment.ProcessorCount * 2);

        [Parameter]
        [ValidateRange(0.0, 100.0)]
        public double MaxChangedPercent { get; set; } = 30;

        [Parameter]
        public Hashtable? Retention { get; set; }

        [Parameter]
        public SwitchParameter Force { get; set; }

        protected override void ProcessRecord()
        {
            foreach (var p in Path) _sources.Add(ResolvePath(p));
        }

        protected override void EndProcessing()
        {
            string destination = ResolveStorePath(Destination);
            RetentionPolicy? retention = null;
            try
            {
                retention = RetentionParser.Parse(Retention);
                Options(destination, retention, Core.Observability.NullRunObserver.Instance).Validate();
            }
            catch (NekkBackupException ex)
            {
                Terminate(ex);
            }

            // -Snapshot Required that cannot be met fails here, before anything exists (the destination folder included).
            if (Snapshot == SnapshotMode.Required)
                Run(async (observer, ct) =>
                {
                    await SnapshotSources.CheckRequiredAsync(_sources, observer, ct).ConfigureAwait(false);
                    return true;
                }, _sources.FirstOrDefault());

            if (!ShouldProcess(destination, $"Back up {string.Join(", ", _sources)}"))
            {
                // -WhatIf is a real preview (PRODUCT.md §3.1): worked out from the live sources, nothing written.
                if (WhatIfRequested)
                {
                    var preview = Run((observer, ct) => FolderBackupEngine.PreviewAsync(Options(destination, retention, observer), observer, ct), destination);
                    WritePreview(preview, preview.Items);
                }
                return;
            }

            FolderBackupException? failure = null;
            var run = Run(async (observer, ct) =>
            {
                try
                {
                    return await FolderBackupEngine.BackupAsync(Options(destination, retention, observer), observer, ct).ConfigureAwait(false);
                }
                catch (FolderBackupException ex)
                {
                    failure = ex;   // e.g. NekkBackup.DestinationFull: the Failed run is written, then the error
                    return ex.Run;
                }
            }, destination);

            // The run object first, then the error (PRODUCT.md §3.1): $? turns false and -ErrorAction Stop stops a script.
            WriteObject(run);
            if (failure != null)
                Terminate(failure, run);
            else if (run.Status == "Refused")
                WriteError(new ErrorRecord(
                    new NekkBackupException("BackupRefused", FailureKind.SecurityError,
                        $"Backup refused by the ransomware guard; nothing was written to '{run.Destination}'. {run.Reason}", run),
                    "NekkBackup.BackupRefused", ErrorCategory.SecurityError, run));
        }

        private FolderBackupOptions Options(string destination, RetentionPolicy? retention, Core.Observability.IRunObserver observer) => new()
        {
            Sources = _sources.ToArray(),
            Destination = destination,
            Include = Include,
            Exclude = Exclude,
            Checksum = Checksum.IsPresent,
            ThrottleLimit = ThrottleLimit,
            MaxChangedPercent = MaxChangedPercent,
            Force = Force.IsPresent,
            Retention = retention,
            SourceResolver = SnapshotSources.ForMode(Snapshot, observer),
        };
    }

    /// <summary>Turns -Retention @{ KeepLast; Hourly; Daily; Weekly; Monthly } into the engine's policy.</summary>
    internal static class RetentionParser
    {
        private static readonly string[] Keys = { "KeepLast", "Hourly", "Daily", "Weekly", "Monthly" };

        public static RetentionPolicy? Parse(IDictionary? table)
        {
            if (table == null) return null;
            var values = new Dictionary<string, int?>(StringComparer.OrdinalIgnoreCase);
            foreach (DictionaryEntry e in table)
            {
                var key = Convert.ToString(e.Key, System.Globalization.CultureInfo.InvariantCulture) ?? "";
                var known = Keys.FirstOrDefault(k => string.Equals(k, key, StringComparison.OrdinalIgnoreCase));
                if (known == null)
                    throw Fail.Argument("InvalidRetention", $"Unknown retention key '{key}'. Use {string.Join(", ", Keys)}.", table);
                var raw = e.Value is PSObject pso ? pso.BaseObject : e.Value;
                if (raw is null || !(raw is int || raw is long || raw is short || raw is byte || (raw is string s && int.TryParse(s, out _))))
                    throw Fail.Argument("InvalidRetention", $"Retention '{known}' must be a whole number, not '{raw}'.", table);
                values[known] = Convert.ToInt32(raw, System.Globalization.CultureInfo.InvariantCulture);
            }
            return new RetentionPolicy
            {
                KeepLast = values.TryGetValue("KeepLast", out var k) ? k : null,
                Hourly = values.TryGetValue("Hourly", out var h) ? h : null,
                Daily = values.TryGetValue("Daily", out var d) ? d : null,
                Weekly = values.TryGetValue("Weekly", out var w) ? w : null,
                Monthly = values.TryGetValue("Monthly", out var m) ? m : null,
            };
        }
    }
}
