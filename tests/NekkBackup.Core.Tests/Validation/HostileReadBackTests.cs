using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using NekkBackup.Core.Cloud;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Plans;
using NekkBackup.Core.Snapshots;
using NekkBackup.Core.Tests.Fuzz;
using NekkBackup.Core.Tests.TestKit;
using Xunit;

namespace NekkBackup.Core.Tests.Validation
{
    /// <summary>The plans', fleet's, snapshot state's and upload journal's read-back files through the validation layer.</summary>
    public sealed class HostileReadBackTests
    {
        private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

        private static T Call<T>(TempDir tmp, Func<T> body)
        {
            var o = Watchdog.Run(body, Deadline, tmp.Path);
            Assert.False(o.Hung, "the call hung");
            if (o.Error != null) throw o.Error;
            return o.Value!;
        }

        private static HostStatusDocument Doc(string host) => new()
        {
            Host = host, Plan = "p", GeneratedUtc = DateTime.UtcNow, Compliant = true, LastRunStatus = "Succeeded",
            Findings = new List<HostStatusDocument.StatusFinding> { new() { Rule = "r", Status = "Pass", Detail = "d" } },
            LastGood = new Dictionary<string, DateTime?> { ["Folder"] = DateTime.UtcNow },
        };

        [Fact]
        public void FleetStatus_FifosLinksAndDamagedDocuments_AreReportedNotFollowed()
        {
            using var tmp = new TempDir("rb-fleet");
            var fleet = tmp.Sub("fleet");
            FleetStatus.Write(fleet, Doc("good"));
            HostileFs.MakeFifo(Path.Combine(fleet, "fifo.json"));
            File.WriteAllText(Path.Combine(fleet, "nulls.json"), "{\"format\":\"nekkbackup-status/1\",\"host\":\"h\",\"findings\":[null],\"lastGood\":{}}");
            File.WriteAllText(Path.Combine(fleet, "pathhost.json"), "{\"format\":\"nekkbackup-status/1\",\"host\":\"../../x\",\"findings\":[],\"lastGood\":{}}");
            var outside = tmp.Sub("outside");
            FleetStatus.Write(outside, Doc("stranger"));
            HostileFs.MakeDirLink(Path.Combine(fleet, "linked-host"), outside);
            var errors = new List<(string, Exception)>();
            var hosts = Call(tmp, () => FleetStatus.Read(fleet, null, (f, e) => errors.Add((f, e))));
            Assert.Equal(new[] { "good" }, hosts.Select(h => h.Host).ToArray());
            Assert.Contains(errors, e => e.Item1.EndsWith("fifo.json") && e.Item2.Message.Contains("FIFO"));
            Assert.Contains(errors, e => e.Item1.EndsWith("nulls.json") && ((NekkBackupException)e.Item2).ErrorId == "NekkBackup.StatusCorrupt");
            Assert.Contains(errors, e => e.Item1.EndsWith("pathhost.json") && e.Item2.Message.Contains("'host'"));
        }

        [Fact]
        public void PlanHistory_FifoOrLinkInsteadOfTheFile_NeitherHangsNorWritesThrough()
        {
            using var tmp = new TempDir("rb-hist");
            var nas = tmp.Sub("nas");
            var plan = new BackupPlan { Name = "p", Host = "studio", Sources = new[] { tmp.Sub("src") }, NasDestination = nas };
            var entry = new PlanHistoryEntry { Plan = "p", Host = "studio", Job = "Folder", Step = "Backup", Status = "Succeeded", StartedUtc = DateTime.UtcNow };
            var path = PlanHistoryStore.NasHistoryPath(plan);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            HostileFs.MakeFifo(path);
            Assert.Empty(Call(tmp, () => PlanHistoryStore.ReadFile(path)));
            var problems = Call(tmp, () => PlanHistoryStore.Append(plan, new[] { entry }, toNas: true));
            Assert.Contains(problems, p => p.Contains("FIFO"));

            var outside = Path.Combine(tmp.Sub("outside"), "victim.jsonl");
            File.WriteAllText(outside, "keep\n");
            HostileFs.Replace(path, p => HostileFs.MakeFileLink(p, outside));
            problems = Call(tmp, () => PlanHistoryStore.Append(plan, new[] { entry }, toNas: true));
            Assert.Equal("keep\n", File.ReadAllText(outside));
            Assert.Contains(problems, p => p.Contains("link"));

            HostileFs.Remove(path);
            File.WriteAllText(path, "{\"Plan\":null,\"Job\":\"Folder\"}\n{\"Plan\":\"p\",\"Job\":\"Folder\",\"Step\":\"Backup\",\"Status\":\"Succeeded\",\"Files\":-5}\n"
                + System.Text.Json.JsonSerializer.Serialize(entry) + "\n");
            Assert.Single(PlanHistoryStore.ReadFile(path));
        }

        [Fact]
        public void SnapshotState_DamagedRecord_IsSnapshotStateCorruptNamingTheField()
        {
            using var tmp = new TempDir("rb-snap");
            var file = Path.Combine(tmp.Path, "snapshots.json");
            File.WriteAllText(file, "{\"Version\":1,\"Snapshots\":[{\"SnapshotId\":\"a\",\"Provider\":\"Btrfs\",\"Volume\":\"/\",\"SourcePath\":\"/\",\"SnapshotPath\":\"/\",\"State\":\"Ready\",\"OwnerHost\":\"h\",\"Data\":null}]}");
            var e = Assert.Throws<NekkBackupException>(() => new SnapshotStateStore(file).Load());
            Assert.Equal("NekkBackup.SnapshotStateCorrupt", e.ErrorId);
            Assert.Contains("Snapshots[0].Data", e.Message);
            HostileFs.Replace(file, HostileFs.MakeFifo);
            var e2 = Call(tmp, () => Assert.Throws<NekkBackupException>(() => new SnapshotStateStore(file).Load()));
            Assert.Contains("FIFO", e2.Message);
        }

        [Fact]
        public void UploadJournal_DamagedEntries_StartOver_NeverThrow()
        {
            using var tmp = new TempDir("rb-journal");
            var j = new MultipartJournal(tmp.Path);
            var good = new JournalEntry { Scope = "s", Key = "k", UploadId = "u", TotalSize = 10, PartSize = 5, Parts = new List<JournalPart> { new() { PartNumber = 1, ETag = "e", Size = 5 } } };
            j.Save(good);
            Assert.NotNull(j.Load("s", "k"));
            File.WriteAllText(j.PathFor("s", "k"), "{\"Scope\":\"s\",\"Key\":\"k\",\"UploadId\":\"u\",\"PartSize\":5,\"Parts\":null}");
            Assert.Null(j.Load("s", "k"));
            File.WriteAllText(j.PathFor("s", "k"), "{\"Scope\":\"s\",\"Key\":\"k\",\"UploadId\":\"u\",\"PartSize\":5,\"CipherSalt\":\"zz\",\"Parts\":[]}");
            Assert.Null(j.Load("s", "k"));
            HostileFs.Replace(j.PathFor("s", "k"), HostileFs.MakeFifo);
            Assert.Null(Call(tmp, () => j.Load("s", "k")));
            Assert.Empty(Call(tmp, () => j.All("s")));
        }
    }
}
