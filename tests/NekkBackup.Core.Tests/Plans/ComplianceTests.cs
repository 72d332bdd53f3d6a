using System;
using System.Collections.Generic;
using System.Linq;
using NekkBackup.Core.Plans;
using Xunit;

namespace NekkBackup.Core.Tests.Plans
{
    /// <summary>Compliance rules judged at chosen instants (-AsOf), never by sleeping.</summary>
    public class ComplianceTests
    {
        private static BackupPlan Plan(bool image = true, bool cloud = true, string? imageRepo = null)
        {
            var h = PlanTestData.Full();
            h.Remove("Schedules");
            if (!image) h.Remove("Image");
            else if (imageRepo != null) ((System.Collections.Hashtable)h["Image"]!)["Repository"] = imageRepo;
            if (!cloud) h.Remove("Cloud");
            return PlanParser.Parse(h, "/etc/nekk/studio-a.psd1");
        }

        // Distinct volumes for sources (/srv), NAS (/mnt/nas) and image repository (/mnt/nas2) unless a test says otherwise.
        private static VolumeIdentity Vol(string path)
        {
            var root = path.StartsWith("/mnt/nas2", StringComparison.Ordinal) ? "nas2" : path.StartsWith("/mnt/nas", StringComparison.Ordinal) ? "nas" : "local";
            return new VolumeIdentity { Key = root, Description = root };
        }

        private static EvidenceRecord Run(DateTime local, string status = "Succeeded") => new()
        {
            StartedUtc = local.ToUniversalTime(), FinishedUtc = local.ToUniversalTime().AddMinutes(5), Status = status, Id = "r" + local.Ticks, From = "test",
        };

        private static EvidenceSet Evidence(DateTime folder, DateTime? cloud, DateTime? image, DateTime? drill, string checkStatus = "Passed", bool cloudDrill = true)
        {
            var d = new Dictionary<PlanLeg, LegEvidence>
            {
                [PlanLeg.Folder] = new LegEvidence
                {
                    Leg = PlanLeg.Folder, Location = "/mnt/nas/studio-a",
                    Runs = new[] { Run(folder.AddDays(-1)), Run(folder) },
                    Checks = new[] { Run(folder.AddMinutes(6), checkStatus) },
                    Drills = drill != null ? new[] { Run(drill.Value, "Passed") } : Array.Empty<EvidenceRecord>(),
                },
                [PlanLeg.Cloud] = new LegEvidence
                {
                    Leg = PlanLeg.Cloud, Location = "s3://offsite/nekk",
                    Runs = cloud != null ? new[] { Run(cloud.Value) } : Array.Empty<EvidenceRecord>(),
                    Checks = drill != null && cloudDrill ? new[] { Run(drill.Value, "Passed") } : Array.Empty<EvidenceRecord>(),
                    Drills = drill != null && cloudDrill ? new[] { Run(drill.Value, "Passed") } : Array.Empty<EvidenceRecord>(),
                },
                [PlanLeg.Image] = new LegEvidence
                {
                    Leg = PlanLeg.Image, Location = "/mnt/nas2/ghost",
                    Runs = image != null ? new[] { Run(image.Value) } : Array.Empty<EvidenceRecord>(),
                    Checks = drill != null ? new[] { Run(drill.Value, "Passed") } : Array.Empty<EvidenceRecord>(),
                    Drills = drill != null ? new[] { Run(drill.Value, "Passed") } : Array.Empty<EvidenceRecord>(),
                },
            };
            return new EvidenceSet(d);
        }

        private static Dictionary<string, ComplianceFinding> Judge(BackupPlan plan, EvidenceSet e, DateTime asOf) =>
            ComplianceEvaluator.Evaluate(plan, e, asOf, Vol).ToDictionary(f => f.Rule);

        // Wednesday 25 Nov 2026, local time.
        private static readonly DateTime Wed = new(2026, 11, 25);

        [Fact]
        public void Everything_fresh_is_compliant_with_one_finding_per_rule()
        {
            var e = Evidence(Wed.AddHours(12).AddMinutes(2), Wed.AddDays(-1).AddHours(21), new DateTime(2026, 11, 22, 2, 0, 0), Wed.AddDays(-30));
            var f = ComplianceEvaluator.Evaluate(Plan(), e, Wed.AddHours(13).AddMinutes(30), Vol);
            Assert.Equal(ComplianceEvaluator.Rules, f.Select(x => x.Rule));
            Assert.All(f, x => Assert.True(x.Status == "Pass", x.Rule + ": " + x.Detail));
            Assert.True(ComplianceEvaluator.IsCompliant(f));
            Assert.All(f, x => Assert.Equal(Wed.AddHours(13).AddMinutes(30), x.AsOf));
        }

        [Fact]
        public void Folder_freshness_follows_the_4h_slots_with_1h_grace()
        {
            var plan = Plan();
            var e = Evidence(Wed.AddHours(12).AddMinutes(2), Wed.AddHours(-3), new DateTime(2026, 11, 22, 2, 0, 0), Wed.AddDays(-30));
            // 16:59: the 16:00 slot is still within its hour of grace.
            Assert.Equal("Pass", Judge(plan, e, Wed.AddHours(16).AddMinutes(59))["FolderFresh"].Status);
            // 17:01: the 16:00 run is missing, the 12:00 one is there: one slot missed.
            Assert.Equal("Warn", Judge(plan, e, Wed.AddHours(17).AddMinutes(1))["FolderFresh"].Status);
            // 21:01: 16:00 and 20:00 both missed.
            var late = Judge(plan, e, Wed.AddHours(21).AddMinutes(1));
            Assert.Equal("Fail", late["FolderFresh"].Status);
            Assert.Contains("stale", late["FolderFresh"].Detail);
            Assert.False(ComplianceEvaluator.IsCompliant(late.Values));
        }

        [Fact]
        public void Sunday_has_no_folder_slot_so_Saturday_evening_is_fresh_until_Monday()
        {
            var plan = Plan();
            var sat = new DateTime(2026, 11, 28, 20, 5, 0);
            var e = Evidence(sat, sat, sat, sat.AddDays(-10));
            Assert.Equal("Pass", Judge(plan, e, new DateTime(2026, 11, 29, 18, 0, 0))["FolderFresh"].Status);
            Assert.Equal("Pass", Judge(plan, e, new DateTime(2026, 11, 30, 8, 59, 0))["FolderFresh"].Status);
            Assert.Equal("Warn", Judge(plan, e, new DateTime(2026, 11, 30, 9, 1, 0))["FolderFresh"].Status);
            Assert.Equal("Fail", Judge(plan, e, new DateTime(2026, 11, 30, 13, 1, 0))["FolderFresh"].Status);
        }

        [Fact]
        public void Cloud_and_image_judged_against_their_own_schedules()
        {
            var plan = Plan();
            var e = Evidence(Wed.AddHours(12), Wed.AddDays(-1).AddHours(21).AddMinutes(3), new DateTime(2026, 11, 22, 2, 10, 0), Wed.AddDays(-30));
            var thu = Judge(plan, e, Wed.AddDays(1).AddHours(2)); // Thu 02:00: Wed 21:00 + 6h grace not yet over
            Assert.Equal("Pass", thu["CloudFresh"].Status);
            Assert.Equal("Warn", Judge(plan, e, Wed.AddDays(1).AddHours(3).AddMinutes(1))["CloudFresh"].Status);
            Assert.Equal("Fail", Judge(plan, e, Wed.AddDays(2).AddHours(4))["CloudFresh"].Status);
            // Image weekly Sunday 02:00 with a day of grace.
            Assert.Equal("Pass", Judge(plan, e, new DateTime(2026, 11, 30, 1, 0, 0))["ImageFresh"].Status);
            Assert.Equal("Warn", Judge(plan, e, new DateTime(2026, 11, 30, 3, 0, 0))["ImageFresh"].Status);
            Assert.Equal("Fail", Judge(plan, e, new DateTime(2026, 12, 7, 3, 0, 0))["ImageFresh"].Status);
        }

        [Fact]
        public void Drill_counts_for_92_days_and_warns_12_days_before()
        {
            var plan = Plan();
            var drill = new DateTime(2026, 10, 1, 3, 0, 0);
            var e = Evidence(Wed.AddHours(12), Wed, Wed, drill);
            Assert.Equal("Pass", Judge(plan, e, drill.AddDays(60))["DrillWithin92Days"].Status);
            Assert.Equal("Warn", Judge(plan, e, drill.AddDays(85))["DrillWithin92Days"].Status);
            var expired = Judge(plan, e, drill.AddDays(93));
            Assert.Equal("Fail", expired["DrillWithin92Days"].Status);
            Assert.Contains("92 days", expired["DrillWithin92Days"].Detail);
            // Runs after AsOf do not count: judged before the drill, there was none.
            Assert.Equal("Fail", Judge(plan, e, drill.AddDays(-1))["DrillWithin92Days"].Status);
        }

        [Fact]
        public void Drill_rule_needs_the_cloud_drill_too_and_names_one_waiting_for_a_thaw()
        {
            var plan = Plan();
            var drill = Wed.AddDays(-20);
            var without = Evidence(Wed.AddHours(12), Wed.AddDays(-1).AddHours(21), new DateTime(2026, 11, 22, 2, 0, 0), drill, cloudDrill: false);
            var f = Judge(plan, without, Wed.AddHours(13));
            Assert.Equal("Fail", f["DrillWithin92Days"].Status);
            Assert.Contains("no passed cloud restore drill", f["DrillWithin92Days"].Detail);
            Assert.Contains("Ghost restore drill passed", f["DrillWithin92Days"].Detail);
            Assert.Equal("Warn", f["IntegrityCheckPassed"].Status);
            Assert.Contains("no cloud restore drill on record yet", f["IntegrityCheckPassed"].Detail);

            // A drill waiting for a thaw is named but does not count; a failed cloud drill fails the integrity rule.
            var cloud = without[PlanLeg.Cloud];
            var waiting = new EvidenceSet(new Dictionary<PlanLeg, LegEvidence>
            {
                [PlanLeg.Folder] = without[PlanLeg.Folder], [PlanLeg.Image] = without[PlanLeg.Image],
                [PlanLeg.Cloud] = new LegEvidence
                {
                    Leg = PlanLeg.Cloud, Location = cloud.Location, Runs = cloud.Runs,
                    Drills = new[] { Run(drill.AddDays(1), "ThawRequested") }, Checks = new[] { Run(drill, "Failed") },
                },
            });
            var w = Judge(plan, waiting, Wed.AddHours(13));
            Assert.Equal("Fail", w["DrillWithin92Days"].Status);
            Assert.Contains("waits for a thaw", w["DrillWithin92Days"].Detail);
            Assert.Equal("Fail", w["IntegrityCheckPassed"].Status);
            Assert.Contains("latest cloud restore drill", w["IntegrityCheckPassed"].Detail);

            // Without a Cloud leg no cloud drill is asked for.
            Assert.Equal("Pass", Judge(Plan(cloud: false), without, Wed.AddHours(13))["DrillWithin92Days"].Status);
        }

        [Fact]
        public void Missing_off_site_leg_fails_copies_offsite_and_cloud_freshness()
        {
            var f = Judge(Plan(cloud: false), Evidence(Wed.AddHours(12), null, Wed.AddDays(-3), Wed.AddDays(-3)), Wed.AddHours(13));
            Assert.Equal("Fail", f["ThreeCopies"].Status);
            Assert.Equal("Fail", f["OneOffsite"].Status);
            Assert.Equal("Fail", f["CloudFresh"].Status);
            Assert.Equal("Pass", f["TwoMedia"].Status); // NAS is on another volume than the sources
            Assert.Contains("2 of 3 copies", f["ThreeCopies"].Detail);
        }

        [Fact]
        public void Image_repository_on_the_folder_backup_volume_fails()
        {
            var e = Evidence(Wed.AddHours(12), Wed, Wed, Wed);
            Assert.Equal("Pass", Judge(Plan(), e, Wed.AddHours(13))["ImageRepositorySeparate"].Status);
            var same = Judge(Plan(imageRepo: "/mnt/nas/ghost"), e, Wed.AddHours(13));
            Assert.Equal("Fail", same["ImageRepositorySeparate"].Status);
            Assert.Contains("share one volume", same["ImageRepositorySeparate"].Detail);
        }

        [Fact]
        public void A_failed_latest_integrity_check_fails_the_rule()
        {
            var f = Judge(Plan(), Evidence(Wed.AddHours(12), Wed, Wed, Wed, checkStatus: "Failed"), Wed.AddHours(13));
            Assert.Equal("Fail", f["IntegrityCheckPassed"].Status);
        }

        [Fact]
        public void Unc_share_roots_decide_separate_shares()
        {
            Assert.Equal(@"\\nas\backup", VolumeIdentity.UncRoot(@"\\nas\backup\studio-a\x"));
            Assert.Equal(@"\\nas\backup", VolumeIdentity.UncRoot("//nas/backup/studio-a"));
            Assert.Null(VolumeIdentity.UncRoot(@"\\.\C:"));
            Assert.Equal(VolumeIdentity.Of(@"\\NAS\Backup\a").Key, VolumeIdentity.Of(@"\\nas\backup\b").Key);
            Assert.NotEqual(VolumeIdentity.Of(@"\\nas\backup\a").Key, VolumeIdentity.Of(@"\\nas\ghost\a").Key);
        }

        [Fact]
        public void Mountinfo_gives_the_device_of_the_longest_mount()
        {
            var mounts = VolumeIdentity.ParseMountInfo(new[]
            {
                "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda1 rw",
                "30 22 7:0 / /mnt/nas rw,relatime shared:2 - ext4 /dev/loop0 rw",
                "31 22 7:1 / /mnt/nas\\040two rw,relatime shared:3 - btrfs /dev/loop1 rw",
            });
            Assert.Equal("7:0", VolumeIdentity.MountOf("/mnt/nas/studio-a", mounts)!.Value.Device);
            Assert.Equal("7:1", VolumeIdentity.MountOf("/mnt/nas two/ghost", mounts)!.Value.Device);
            Assert.Equal("254:0", VolumeIdentity.MountOf("/mnt/nasx", mounts)!.Value.Device);
            // Live: /proc is its own mount, /tmp's folder is on some other.
            if (OperatingSystemInfo.IsLinux)
                Assert.NotEqual(VolumeIdentity.Of("/proc/self").Key, VolumeIdentity.Of(System.IO.Path.GetTempPath()).Key);
        }

        [Fact]
        public void Rmm_line_is_one_line_of_at_most_2048_characters()
        {
            var plan = Plan();
            var findings = ComplianceEvaluator.Rules.Select(r => new ComplianceFinding { Rule = r, Status = "Fail", Detail = new string('x', 600) + "\nsecond line" }).ToList();
            var line = ComplianceEvaluator.RmmLine(plan, findings);
            Assert.StartsWith("NEKK NONCOMPLIANT host=", line);
            Assert.True(line.Length <= 2048, line.Length.ToString());
            Assert.DoesNotContain("\n", line);
            var ok = ComplianceEvaluator.RmmLine(plan, ComplianceEvaluator.Rules.Select(r => new ComplianceFinding { Rule = r, Status = "Pass" }).ToList());
            Assert.Equal($"NEKK COMPLIANT host={plan.Host} plan=studio-a pass=9/9", ok);
        }

        [Fact]
        public void Due_follows_the_same_slots()
        {
            var plan = Plan();
            var h = new List<PlanHistoryEntry>
            {
                new() { Plan = "studio-a", Job = "Folder", Step = "Backup", Status = "Succeeded", StartedUtc = Wed.AddHours(12).AddMinutes(1).ToUniversalTime() },
                new() { Plan = "studio-a", Job = "Cloud", Step = "Upload", Status = "Deferred", StartedUtc = Wed.AddHours(21).ToUniversalTime() },
            };
            Assert.False(PlanRunner.IsDue(plan, PlanLeg.Folder, h, Wed.AddHours(15)));
            Assert.True(PlanRunner.IsDue(plan, PlanLeg.Folder, h, Wed.AddHours(16)));
            Assert.True(PlanRunner.IsDue(plan, PlanLeg.Cloud, h, Wed.AddHours(22))); // deferred is not done
            Assert.True(PlanRunner.IsDue(plan, PlanLeg.Drill, h, Wed.AddHours(22)));  // never drilled
            Assert.Equal(0, PlanExitCodes.For("Deferred"));
            Assert.Equal(1, PlanExitCodes.For("Refused"));
            Assert.Equal(2, PlanExitCodes.For("CompletedWithErrors"));
            Assert.Equal(4, PlanExitCodes.For("Unreachable"));
            Assert.Equal(1002, PlanExitCodes.EventId("Failed"));
        }
    }
}
