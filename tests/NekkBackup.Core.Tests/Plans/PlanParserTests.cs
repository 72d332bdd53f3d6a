using System;
using System.Collections;
using System.Linq;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Plans;
using Xunit;

namespace NekkBackup.Core.Tests.Plans
{
    public class PlanParserTests
    {
        [Fact]
        public void Full_plan_reads_every_key()
        {
            var p = PlanParser.Parse(PlanTestData.Full(), "/etc/nekk/studio-a.psd1");
            Assert.Equal("studio-a", p.Name);
            Assert.Equal(new[] { "/srv/Sessions", "/srv/Samples" }, p.Sources);
            Assert.Equal("None", p.Snapshot);
            Assert.Equal(40, p.MaxChangedPercent);
            Assert.Equal(12, p.Retention!.KeepLast);
            Assert.True(p.HasImage);
            Assert.Equal("UsedBlocks", p.ImageMode); // the plan default (docs/plan-schema.md)
            Assert.True(p.HasCloud);
            Assert.Equal("nekk", p.Prefix);
            Assert.Null(p.CloudRetention);
            var h = PlanTestData.Full();
            h["CloudRetention"] = new Hashtable { ["KeepLast"] = 7, ["Weekly"] = 8, ["Monthly"] = 12 };
            Assert.Equal("KeepLast 7, Weekly 8, Monthly 12", PlanParser.Parse(h, "/etc/nekk/studio-a.psd1").CloudRetention!.Describe());
            Assert.Equal("Throttle", p.DawPolicy);
            Assert.Equal(new[] { PlanLeg.Folder, PlanLeg.Image, PlanLeg.Cloud, PlanLeg.Drill }, p.Legs);
            // Overridden cloud time, defaults elsewhere.
            Assert.Equal(new TimeSpan(23, 30, 0), p.CloudSchedule.At);
            Assert.Equal(ScheduleFrequency.Daily, p.CloudSchedule.Frequency);
            Assert.Equal(4, p.FolderSchedule.EveryHours);
            Assert.Equal(PlanSchedule.MondayToSaturday, p.FolderSchedule.Days);
        }

        [Fact]
        public void Minimal_plan_gets_the_3_2_1_defaults()
        {
            var p = PlanParser.Parse(PlanTestData.Minimal(), "/etc/nekk/edit-1.psd1");
            Assert.Equal("edit-1", p.Name);
            Assert.Equal(new[] { "/srv/Sessions" }, p.Sources);
            Assert.Equal(new[] { PlanLeg.Folder, PlanLeg.Drill }, p.Legs);
            Assert.Null(p.CloudRetention);
            Assert.Equal("Defer", p.DawPolicy);
            Assert.Contains("Pro Tools", p.DawProcesses);
            Assert.Equal(ScheduleFrequency.Quarterly, p.DrillSchedule.Frequency);
        }

        public static TheoryData<string, Action<Hashtable>, string> BadPlans => new()
        {
            { "missing Sources", h => h.Remove("Sources"), "'Sources' is missing" },
            { "missing NasDestination", h => h.Remove("NasDestination"), "'NasDestination' is missing" },
            { "missing SchemaVersion", h => h.Remove("SchemaVersion"), "'SchemaVersion' is missing" },
            { "newer schema", h => h["SchemaVersion"] = 2, "'SchemaVersion' 2 is not supported" },
            { "Sources a number", h => h["Sources"] = 5, "'Sources' must be a string or a list of strings" },
            { "NasDestination a list", h => h["NasDestination"] = new object[] { "/a", "/b" }, "'NasDestination' must be a string" },
            { "relative NAS", h => h["NasDestination"] = "nas/backup", "'NasDestination' 'nas/backup' must be an absolute path" },
            { "unknown top-level key", h => h["Tape"] = new Hashtable(), "'Tape' is not a plan key" },
            { "unknown leg in Schedules", h => h["Schedules"] = new Hashtable { ["Tape"] = new Hashtable() }, "'Schedules.Tape' unknown leg 'Tape'" },
            { "schedule not a hashtable", h => h["Schedules"] = new Hashtable { ["Folder"] = "often" }, "'Schedules.Folder' must be a hashtable" },
            { "bad time", h => h["Schedules"] = new Hashtable { ["Cloud"] = new Hashtable { ["At"] = "25:00" } }, "'Schedules.Cloud.At' is '25:00'" },
            { "bad weekday", h => h["Schedules"] = new Hashtable { ["Folder"] = new Hashtable { ["Days"] = new object[] { "Mon", "Funday" } } }, "'Schedules.Folder.Days' holds 'Funday'" },
            { "bad frequency", h => h["Schedules"] = new Hashtable { ["Image"] = new Hashtable { ["Frequency"] = "Hourly" } }, "'Schedules.Image.Frequency' is 'Hourly'" },
            { "retention string", h => h["Retention"] = new Hashtable { ["Daily"] = "lots" }, "'Retention.Daily' must be a whole number" },
            { "retention keeps nothing", h => h["Retention"] = new Hashtable { ["Daily"] = 0 }, "'Retention' The retention policy keeps nothing" },
            { "unknown retention key", h => h["Retention"] = new Hashtable { ["Yearly"] = 2 }, "'Retention.Yearly' is not a known key" },
            { "image without repository", h => h["Image"] = new Hashtable { ["Source"] = "/dev/sda2" }, "'Image.Repository' is missing" },
            { "bad image mode", h => h["Image"] = new Hashtable { ["Source"] = "/dev/sda2", ["Repository"] = "/mnt/g", ["Mode"] = "Sparse" }, "'Image.Mode' is 'Sparse'; use one of UsedBlocks, AllBlocks" },
            { "cloud without bucket", h => h["Cloud"] = new Hashtable { ["Prefix"] = "x" }, "'Cloud.Bucket' is missing" },
            { "secret in cloud", h => h["Cloud"] = new Hashtable { ["Bucket"] = "b", ["SecretKey"] = "abc" }, "'Cloud.SecretKey' looks like a secret" },
            { "bad DAW policy", h => h["Daw"] = new Hashtable { ["Policy"] = "Pause" }, "'Daw.Policy' is 'Pause'" },
            { "cloud retention without cloud", h => { h.Remove("Cloud"); h["CloudRetention"] = new Hashtable { ["KeepLast"] = 3 }; }, "'CloudRetention' applies to the plan's bucket, but the plan has no Cloud key" },
            { "cloud retention keeps nothing", h => h["CloudRetention"] = new Hashtable { ["Weekly"] = 0 }, "'CloudRetention' The retention policy keeps nothing" },
            { "cloud retention negative", h => h["CloudRetention"] = new Hashtable { ["KeepLast"] = 2, ["Monthly"] = -1 }, "'CloudRetention' Retention counts cannot be negative" },
            { "unknown cloud retention key", h => h["CloudRetention"] = new Hashtable { ["Yearly"] = 2 }, "'CloudRetention.Yearly' is not a known key" },
            { "bad endpoint", h => h["Cloud"] = new Hashtable { ["Bucket"] = "b", ["Endpoint"] = "not a url" }, "'Cloud.Endpoint' 'not a url' is not an absolute URL" },
            { "drill sample under 5 %", h => h["Drill"] = new Hashtable { ["SamplePercent"] = 2 }, "'Drill.SamplePercent' must be between 5 and 100 (was 2)" },
            { "drill sample under 1 GiB", h => h["Drill"] = new Hashtable { ["SampleGB"] = 0 }, "'Drill.SampleGB' must be between 1 and" },
            { "drill scope unknown", h => h["Drill"] = new Hashtable { ["Cloud"] = "Some" }, "'Drill.Cloud' is 'Some'; use one of Sample, Full" },
            { "drill scratch relative", h => h["Drill"] = new Hashtable { ["Scratch"] = "tmp" }, "'Drill.Scratch' 'tmp' must be an absolute path" },
            { "drill unknown key", h => h["Drill"] = new Hashtable { ["Files"] = 3 }, "'Drill.Files' is not a known key" },
        };

        [Fact]
        public void Drill_key_defaults_to_a_5_percent_1_GiB_sample_and_reads_its_settings()
        {
            Assert.Equal("Sample", PlanParser.Parse(PlanTestData.Full(), "/etc/nekk/p.psd1").Drill.Cloud);
            Assert.Equal(1L << 30, PlanParser.Parse(PlanTestData.Full(), "/etc/nekk/p.psd1").Drill.SampleMinBytes);
            var h = PlanTestData.Full();
            h["Drill"] = new Hashtable { ["Cloud"] = "full", ["SamplePercent"] = 10, ["SampleGB"] = 4, ["Seed"] = 17, ["Scratch"] = "/srv/scratch", ["ThawTier"] = "bulk" };
            var d = PlanParser.Parse(h, "/etc/nekk/p.psd1").Drill;
            Assert.True(d.Full);
            Assert.Equal(10, d.SamplePercent);
            Assert.Equal(4L << 30, d.SampleMinBytes);
            Assert.Equal(17, d.Seed);
            Assert.Equal("/srv/scratch", d.Scratch);
            Assert.Equal("Bulk", d.ThawTier);
        }

        [Theory]
        [MemberData(nameof(BadPlans))]
        public void Bad_plan_gives_one_clear_error_naming_the_key(string why, Action<Hashtable> breakIt, string expected)
        {
            var h = PlanTestData.Full();
            breakIt(h);
            var ex = Assert.Throws<NekkBackupException>(() => PlanParser.Parse(h, "/etc/nekk/p.psd1"));
            Assert.Equal("NekkBackup.InvalidPlan", ex.ErrorId);
            Assert.Equal(FailureKind.InvalidArgument, ex.Kind);
            Assert.Contains(expected, ex.Message);
            Assert.StartsWith("Plan '/etc/nekk/p.psd1': key ", ex.Message);
            Assert.False(string.IsNullOrEmpty(why));
        }

        [Fact]
        public void Windows_paths_are_absolute_on_any_platform()
        {
            Assert.True(PlanParser.IsAbsolute(@"\\nas\backup\studio-a"));
            Assert.True(PlanParser.IsAbsolute(@"D:\Sessions"));
            Assert.False(PlanParser.IsAbsolute(@"Sessions"));
            Assert.False(PlanParser.IsAbsolute(@"Z:"));
        }

        [Fact]
        public void Durations_and_times_parse()
        {
            Assert.True(PlanParser.TryParseDuration("90m", out var a) && a == TimeSpan.FromMinutes(90));
            Assert.True(PlanParser.TryParseDuration("2d", out var b) && b == TimeSpan.FromDays(2));
            Assert.True(PlanParser.TryParseDuration(45, out var c) && c == TimeSpan.FromMinutes(45));
            Assert.False(PlanParser.TryParseDuration("soon", out _));
            Assert.True(PlanParser.TryParseTime("8:05", out var t) && t == new TimeSpan(8, 5, 0));
            Assert.False(PlanParser.TryParseTime("24:00", out _));
        }

        [Fact]
        public void Writer_output_names_every_leg_and_no_secret()
        {
            var p = PlanParser.Parse(PlanTestData.Full(), "/etc/nekk/studio-a.psd1");
            var text = PlanWriter.ToPsd1(p);
            foreach (var key in new[] { "SchemaVersion", "Sources", "NasDestination", "Image", "Cloud", "Schedules", "Daw", "Retention" })
                Assert.Contains(key, text);
            Assert.Contains("Frequency = 'Interval'; At = '08:00'; Until = '20:00'; EveryHours = 4", text);
            Assert.DoesNotContain("SecretKey =", text);
            Assert.Contains("Mode = 'UsedBlocks'; ChangeDetection = 'FileSystem' }", text);
            Assert.Equal("FileSystem", p.ImageChangeDetection);
            var h = PlanTestData.Full();
            ((Hashtable)h["Image"]!)["Mode"] = "allblocks";
            ((Hashtable)h["Image"]!)["ChangeDetection"] = "contents";
            var all = PlanParser.Parse(h, "/etc/nekk/studio-a.psd1");
            Assert.Equal("AllBlocks", all.ImageMode);
            Assert.Equal("Contents", all.ImageChangeDetection);
            Assert.Contains("Mode = 'AllBlocks'; ChangeDetection = 'Contents' }", PlanWriter.ToPsd1(all));
            ((Hashtable)h["Image"]!)["ChangeDetection"] = "Sometimes";
            var bad = Assert.Throws<NekkBackupException>(() => PlanParser.Parse(h, "/etc/nekk/studio-a.psd1"));
            Assert.Contains("Image.ChangeDetection", bad.Message);
            Assert.Equal("'it''s'", PlanWriter.Q("it's"));
        }
    }
}
