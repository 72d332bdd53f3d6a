using System;
using System.Collections.Generic;
using NekkBackup.Core.Folder;
using NekkBackup.Core.Plans;

namespace NekkBackup
{
    /// <summary>A backup plan read from a .psd1 file (docs/plan-schema.md). Never holds a secret.</summary>
    public sealed class BackupPlan
    {
        public const int CurrentSchemaVersion = 1;

        /// <summary>The plan file this plan was read from (absolute), or null when built in memory.</summary>
        public string? Path { get; init; }
        public int SchemaVersion { get; init; } = CurrentSchemaVersion;
        public string Name { get; init; } = "";
        /// <summary>Host name the plan's records use; defaults to this machine's.</summary>
        public string Host { get; init; } = NekkBackup.Core.OperatingSystemInfo.HostName;

        // Folder leg (always present: the plan's anchor).
        public string[] Sources { get; init; } = Array.Empty<string>();
        public string NasDestination { get; init; } = "";
        public string[] Exclude { get; init; } = Array.Empty<string>();
        public string[] Include { get; init; } = Array.Empty<string>();
        /// <summary>Auto, Required or None (as Backup-NekkFolder -Snapshot).</summary>
        public string Snapshot { get; init; } = "Auto";
        public double MaxChangedPercent { get; init; } = 30;
        public RetentionPolicy? Retention { get; init; }

        // Image leg (optional).
        public string? ImageSource { get; init; }
        public string? ImageRepository { get; init; }
        /// <summary>GFS retention applied to this host's images after each capture (Remove-NekkGhostImage -Retention).</summary>
        public RetentionPolicy? ImageRetention { get; init; }
        /// <summary>UsedBlocks (the plan default: allocated blocks only, free space as zeros) or AllBlocks (bit for bit); see docs/plan-schema.md.</summary>
        public string ImageMode { get; init; } = "UsedBlocks";
        /// <summary>UsedBlocks images: FileSystem (the default: compare file-system metadata with the previous image) or Contents (read every used block).</summary>
        public string ImageChangeDetection { get; init; } = "FileSystem";

        // Cloud leg (optional; no secrets: credentials come from Set-NekkCredential or the AWS profile).
        public string? Bucket { get; init; }
        public string? Endpoint { get; init; }
        public string Prefix { get; init; } = "";
        public string? Region { get; init; }
        public string? ProfileName { get; init; }
        /// <summary>Days of changes the daily cloud sync re-reads (Send-NekkCloudBackup -ModifiedWithin).</summary>
        public int CloudModifiedWithinDays { get; init; } = 30;
        /// <summary>GFS retention applied to this host's runs in the bucket after each upload (Remove-NekkCloudBackup -Retention).</summary>
        public RetentionPolicy? CloudRetention { get; init; }

        /// <summary>How the drill restores the cloud copy (a sample or all of the latest run; the Drill key).</summary>
        public DrillSettings Drill { get; init; } = DrillSettings.Default;

        /// <summary>Where the host's status JSON is published for Get-NekkFleetStatus; default under the NAS destination.</summary>
        public string? FleetStatusPath { get; init; }

        /// <summary>Alerts after a run (webhook and/or e-mail); null when the plan has no Notify key.</summary>
        public NekkBackup.Core.Notify.NotifySettings? Notify { get; init; }
        /// <summary>Write the HTML report after each run; null when the plan has no Report key.</summary>
        public NekkBackup.Core.Reports.ReportSettings? Report { get; init; }

        // Studio awareness.
        public string[] DawProcesses { get; init; } = DefaultDawProcesses;
        /// <summary>Defer (skip the job while a DAW runs) or Throttle (run it at a low I/O and bandwidth budget).</summary>
        public string DawPolicy { get; init; } = "Defer";

        public PlanSchedule FolderSchedule { get; init; } = PlanSchedule.DefaultFolder;
        public PlanSchedule CloudSchedule { get; init; } = PlanSchedule.DefaultCloud;
        public PlanSchedule ImageSchedule { get; init; } = PlanSchedule.DefaultImage;
        public PlanSchedule DrillSchedule { get; init; } = PlanSchedule.DefaultDrill;

        public bool HasImage => !string.IsNullOrEmpty(ImageRepository) && !string.IsNullOrEmpty(ImageSource);
        public bool HasCloud => !string.IsNullOrEmpty(Bucket);

        /// <summary>The legs that hold a copy (Folder, and Image and Cloud when configured), in order: the ones the drill proves.</summary>
        public IReadOnlyList<PlanLeg> CopyLegs
        {
            get
            {
                var l = new List<PlanLeg> { PlanLeg.Folder };
                if (HasImage) l.Add(PlanLeg.Image);
                if (HasCloud) l.Add(PlanLeg.Cloud);
                return l;
            }
        }

        /// <summary>The legs this plan runs, in order: its copy legs, then the drill.</summary>
        public IReadOnlyList<PlanLeg> Legs => new List<PlanLeg>(CopyLegs) { PlanLeg.Drill };

        public PlanSchedule ScheduleFor(PlanLeg leg) => leg switch
        {
            PlanLeg.Folder => FolderSchedule,
            PlanLeg.Cloud => CloudSchedule,
            PlanLeg.Image => ImageSchedule,
            _ => DrillSchedule,
        };

        /// <summary>
        /// Executable names (without extension) of the DAWs PRODUCT.md §3.7 names, as case-insensitive wildcards:
        /// Pro Tools, Logic, Ableton Live, Cubase/Nuendo, Studio One, REAPER, FL Studio.
        /// </summary>
        public static readonly string[] DefaultDawProcesses =
        {
            "Pro Tools", "ProTools*", "Logic Pro*", "Ableton Live*", "Cubase*", "Nuendo*", "Studio One*", "reaper", "FL", "FL64", "FL Studio*",
        };

        public override string ToString() => Name;
    }
}
