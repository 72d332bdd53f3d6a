using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace NekkBackup.Core.Plans
{
    /// <summary>Writes a plan as a readable, commented .psd1 (docs/plan-schema.md) that <see cref="PlanParser"/> reads back.</summary>
    public static class PlanWriter
    {
        public static string ToPsd1(BackupPlan p)
        {
            var sb = new StringBuilder();
            void L(string line = "") => sb.Append(line).Append("\r\n");
            L("# NekkBackup backup plan (docs/plan-schema.md). Edit freely; push with Intune/RMM.");
            L("# No secret ever goes in this file: store NAS and bucket credentials with Set-NekkCredential.");
            L("# Check it with: Test-NekkBackupPlan -Path <this file>");
            L("@{");
            L($"    SchemaVersion   = {BackupPlan.CurrentSchemaVersion}");
            L($"    Name            = {Q(p.Name)}");
            L();
            L("    # Copy 2 (other media): versioned folder backup of the working data to a NAS.");
            L($"    Sources         = {Arr(p.Sources)}");
            L($"    NasDestination  = {Q(p.NasDestination)}");
            L("    Folder          = @{");
            L($"        Snapshot          = {Q(p.Snapshot)}   # Auto | Required | None");
            L("        # Exclude/Include: globs the folder and cloud legs both apply (a name without '/' matches a file or folder name at any depth).");
            L($"        Exclude           = {Arr(p.Exclude)}");
            L($"        Include           = {Arr(p.Include)}");
            L($"        MaxChangedPercent = {p.MaxChangedPercent.ToString(CultureInfo.InvariantCulture)}   # ransomware guard");
            L("    }");
            if (p.Retention != null)
            {
                L("    # Same shape as Backup-NekkFolder -Retention (GFS counts).");
                L($"    Retention       = {Retention(p.Retention)}");
            }
            else
            {
                L("    # Retention     = @{ KeepLast = 12; Daily = 14; Weekly = 8; Monthly = 12 }");
            }
            L();
            L("    # System layer: Ghost image of the system volume, on a share SEPARATE from the folder backups.");
            if (p.HasImage)
            {
                L("    # Mode: UsedBlocks reads only what the NTFS/ext4 bitmap marks used (free space as zeros); AllBlocks is bit for bit.");
                L("    # ChangeDetection (UsedBlocks): FileSystem compares file-system metadata with the last image and reads only what");
                L("    # changed; Contents reads every used block (volumes with databases or mail files held open and written for weeks).");
                L($"    Image           = @{{ Source = {Q(p.ImageSource!)}; Repository = {Q(p.ImageRepository!)}; Mode = {Q(p.ImageMode)}; ChangeDetection = {Q(p.ImageChangeDetection)} }}");
            }
            else
                L("    # Image         = @{ Source = '\\\\.\\C:'; Repository = '\\\\nas2\\ghost\\studio-a'; Mode = 'UsedBlocks' }");
            L("    # Images this host keeps after each capture (Remove-NekkGhostImage -Retention); unused chunks are freed.");
            if (p.ImageRetention != null)
                L($"    ImageRetention  = {Retention(p.ImageRetention)}");
            else
                L("    # ImageRetention = @{ KeepLast = 4; Weekly = 8; Monthly = 12 }");
            L();
            L("    # Copy 3 (off-site): S3 or S3-compatible bucket. Keys come from Set-NekkCredential or the AWS profile.");
            if (p.HasCloud)
            {
                L("    Cloud           = @{");
                L($"        Bucket             = {Q(p.Bucket!)}");
                if (!string.IsNullOrEmpty(p.Endpoint)) L($"        Endpoint           = {Q(p.Endpoint!)}");
                L($"        Prefix             = {Q(p.Prefix)}");
                if (!string.IsNullOrEmpty(p.Region)) L($"        Region             = {Q(p.Region!)}");
                if (!string.IsNullOrEmpty(p.ProfileName)) L($"        ProfileName        = {Q(p.ProfileName!)}");
                L($"        ModifiedWithinDays = {p.CloudModifiedWithinDays}");
                L("    }");
            }
            else
            {
                L("    # Cloud         = @{ Bucket = 'studio-offsite'; Endpoint = 'https://s3.eu-central-003.backblazeb2.com'; Prefix = 'nekk'; Region = 'eu-central-003' }");
            }
            L("    # Runs this host keeps in the bucket after each upload (Remove-NekkCloudBackup -Retention; Object Lock is honoured).");
            if (p.CloudRetention != null)
                L($"    CloudRetention  = {Retention(p.CloudRetention)}");
            else
                L("    # CloudRetention = @{ KeepLast = 7; Daily = 14; Weekly = 8; Monthly = 12 }");
            L("    # The quarterly restore drill's cloud part: a seeded sample (at least 5 % and 1 GB) or all of the latest run.");
            L(p.Drill == DrillSettings.Default ? "    # Drill         = @{ Cloud = 'Sample'; SamplePercent = 5; SampleGB = 1 }" : $"    Drill           = {DrillTable(p.Drill)}");
            L();
            L("    # Local wall-clock times. Frequency: Interval (EveryHours from At to Until) | Daily | Weekly | Quarterly (1 Jan/Apr/Jul/Oct).");
            L("    # Grace: how late a run may be before Test-NekkBackupCompliance calls the leg stale.");
            L("    Schedules       = @{");
            foreach (var leg in new[] { PlanLeg.Folder, PlanLeg.Cloud, PlanLeg.Image, PlanLeg.Drill })
                L($"        {leg,-6} = {Schedule(p.ScheduleFor(leg))}");
            L("    }");
            L();
            L("    # Never drop a take: while one of these runs (case-insensitive wildcards on the executable name");
            L("    # without extension), jobs Defer (skip until the next slot) or Throttle (low I/O and bandwidth).");
            L("    Daw             = @{");
            L($"        Processes = {Arr(p.DawProcesses)}");
            L($"        Policy    = {Q(p.DawPolicy)}");
            L("    }");
            if (!string.IsNullOrEmpty(p.FleetStatusPath))
                L($"    FleetStatusPath = {Q(p.FleetStatusPath!)}");
            else
                L("    # FleetStatusPath = '\\\\nas\\backup\\_fleet'   # default: <NasDestination>/.nekkbackup/status/");
            L();
            L("    # The owner's HTML report after each run, and alerts (docs/plan-schema.md). The webhook URL and the SMTP password");
            L("    # are secrets: Set-NekkCredential -Target webhook:<Name> -Secret ... / -Target smtp:<Server> -Credential ...");
            if (p.Report != null) L($"    Report          = @{{ Path = {Q(p.Report.Path)}; Days = {p.Report.Days} }}");
            else L("    # Report        = @{ Path = '\\\\nas\\reports'; Days = 90 }");
            if (p.Notify != null)
            {
                L("    Notify          = @{");
                L($"        When    = {Q(p.Notify.When)}");
                if (p.Notify.Webhooks.Count > 0)
                    L("        Webhook = @(" + string.Join(", ", p.Notify.Webhooks.Select(w => $"@{{ Name = {Q(w.Name)}; Format = {Q(w.Format)} }}")) + ")");
                if (p.Notify.Smtp is { } m)
                    L($"        Smtp    = @{{ Server = {Q(m.Server)}; Port = {m.Port}; From = {Q(m.From)}; To = {Arr(m.To)} }}");
                L("    }");
            }
            else L("    # Notify        = @{ When = 'Failure'; Webhook = @{ Name = 'studio-teams'; Format = 'Teams' } }");
            L("}");
            return sb.ToString();
        }

        private static string DrillTable(DrillSettings d)
        {
            var parts = new List<string> { $"Cloud = {Q(d.Cloud)}", $"SamplePercent = {d.SamplePercent.ToString(CultureInfo.InvariantCulture)}",
                $"SampleGB = {(d.SampleMinBytes / DrillSettings.GiB).ToString(CultureInfo.InvariantCulture)}" };
            if (d.Seed != null) parts.Add($"Seed = {d.Seed.Value.ToString(CultureInfo.InvariantCulture)}");
            if (d.Scratch != null) parts.Add($"Scratch = {Q(d.Scratch)}");
            if (d.ThawTier != DrillSettings.Default.ThawTier) parts.Add($"ThawTier = {Q(d.ThawTier)}");
            return "@{ " + string.Join("; ", parts) + " }";
        }

        private static string Retention(Folder.RetentionPolicy r)
        {
            var parts = new List<string>();
            if (r.KeepLast != null) parts.Add($"KeepLast = {r.KeepLast}");
            if (r.Hourly != null) parts.Add($"Hourly = {r.Hourly}");
            if (r.Daily != null) parts.Add($"Daily = {r.Daily}");
            if (r.Weekly != null) parts.Add($"Weekly = {r.Weekly}");
            if (r.Monthly != null) parts.Add($"Monthly = {r.Monthly}");
            return "@{ " + string.Join("; ", parts) + " }";
        }

        public static string Schedule(PlanSchedule s)
        {
            var parts = new List<string> { $"Frequency = {Q(s.Frequency.ToString())}", $"At = {Q(Time(s.At))}" };
            if (s.Frequency == ScheduleFrequency.Interval)
            {
                parts.Add($"Until = {Q(Time(s.Until))}");
                parts.Add($"EveryHours = {s.EveryHours}");
            }
            if (s.Frequency != ScheduleFrequency.Quarterly)
                parts.Add($"Days = {Arr(s.Days.Select(PlanSchedule.DayName))}");
            parts.Add($"Grace = {Q(Duration(s.Grace))}");
            return "@{ " + string.Join("; ", parts) + " }";
        }

        public static string Time(TimeSpan t) => t.ToString(@"hh\:mm", CultureInfo.InvariantCulture);

        public static string Duration(TimeSpan t)
        {
            if (t.TotalDays >= 1 && t.TotalDays == Math.Floor(t.TotalDays)) return ((int)t.TotalDays).ToString(CultureInfo.InvariantCulture) + "d";
            if (t.TotalHours >= 1 && t.TotalHours == Math.Floor(t.TotalHours)) return ((int)t.TotalHours).ToString(CultureInfo.InvariantCulture) + "h";
            return ((long)Math.Ceiling(t.TotalMinutes)).ToString(CultureInfo.InvariantCulture) + "m";
        }

        /// <summary>A PowerShell single-quoted string literal.</summary>
        public static string Q(string s) => "'" + (s ?? "").Replace("'", "''").Replace("\u2018", "\u2018\u2018").Replace("\u2019", "\u2019\u2019") + "'";

        private static string Arr(IEnumerable<string> items) => "@(" + string.Join(", ", items.Select(Q)) + ")";
    }
}
