using System;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Imaging;
using NekkBackup.Core.Plans;
using NekkBackup.Core.Tests.TestKit;
using Xunit;
using static NekkBackup.Core.Tests.Imaging.GhostTestSupport;

namespace NekkBackup.Core.Tests.Imaging
{
    /// <summary>
    /// What the validation layer checks in a manifest's capture mode and allocation record, how every Ghost document's
    /// formatVersion is read (a newer major refused with the leg's id, a minor accepted), and that the plan's image
    /// evidence comes only from what the repository's own readers accept.
    /// </summary>
    public class GhostManifestRulesTests
    {
        /// <summary>A used-block image of a fresh 4 MiB ext4 (mkfs on a file: no root needed).</summary>
        private static (string Repo, GhostImage Image, string Volume) UsedBlocksImage(TempDir dir)
        {
            var vol = Path.Combine(dir.Path, "ext4.img");
            File.WriteAllBytes(vol, new byte[4 << 20]);
            ProcessHelper.Check("mkfs.ext4", $"-q -F \"{vol}\"");
            var repo = Path.Combine(dir.Path, "repo");
            Capture(vol, repo, chunkSize: 64 << 10, mode: GhostCaptureMode.UsedBlocks);
            // The second capture compares the file system's metadata with the first: its manifest records "compared".
            var img = Capture(vol, repo, chunkSize: 64 << 10, mode: GhostCaptureMode.UsedBlocks, volumeDigest: false);
            Assert.Equal(GhostCaptureMode.UsedBlocks, img.Mode);
            Assert.NotNull(JsonNode.Parse(File.ReadAllText(Path.Combine(repo, "images", img.ImageId + ".json")))!["compared"]);
            return (repo, img, vol);
        }

        private static string Edit(string repo, string id, Action<JsonObject> edit)
        {
            var f = Path.Combine(repo, "images", id + ".json");
            var original = File.ReadAllText(f);
            var o = JsonNode.Parse(original)!.AsObject();
            edit(o);
            File.WriteAllText(f, o.ToJsonString());
            return original;
        }

        public static TheoryData<string, string> BadAllocations => new()
        {
            { "mode=SparseBlocks", "mode" },
            { "mode=usedblocks", "mode" },
            { "allocation=null", "allocation" },
            { "mode=AllBlocks", "allocation" },
            { "allocation.fileSystem=xfs", "allocation.fileSystem" },
            { "allocation.fileSystem=", "allocation.fileSystem" },
            { "allocation.blockSize=3000", "allocation.blockSize" },
            { "allocation.blockSize=0", "allocation.blockSize" },
            { "allocation.usedBytes=-1", "allocation.usedBytes" },
            { "allocation.usedBytes=4194305", "allocation.usedBytes" },
            { "allocation.runs=0", "allocation.runs" },
            { "allocation.runs=99999999", "allocation.runs" },
            { "allocation.runsSha256=abc", "allocation.runsSha256" },
            { "compared.imageId=../../x", "compared.imageId" },
            { "compared.imageId=", "compared.imageId" },
            { "compared.unchangedChunks=-1", "compared.unchangedChunks" },
            { "compared.unchangedChunks=65", "compared.unchangedChunks" },
            { "compared.chain=0", "compared.chain" },
            { "compared.chain=1001", "compared.chain" },
        };

        [ToolTheory("mkfs.ext4")]
        [MemberData(nameof(BadAllocations))]
        public void AModeOrAllocationOutOfRange_IsManifestCorrupt_NamingTheField(string edit, string field)
        {
            using var dir = new TempDir("ghost-alloc");
            var (repo, img, _) = UsedBlocksImage(dir);
            var (path, value) = (edit.Substring(0, edit.IndexOf('=')), edit.Substring(edit.IndexOf('=') + 1));
            Edit(repo, img.ImageId, o =>
            {
                var parts = path.Split('.');
                var parent = parts.Length == 1 ? o : o[parts[0]]!.AsObject();
                parent[parts[^1]] = value == "null" ? null : long.TryParse(value, out var n) ? JsonValue.Create(n) : JsonValue.Create(value);
            });
            var ex = Assert.Throws<NekkBackupException>(() => Restore(repo, img.ImageId, Path.Combine(dir.Path, "r.img")));
            Assert.Equal("NekkBackup.ManifestCorrupt", ex.ErrorId);
            Assert.Contains($"'{field}'", ex.Message);
            Assert.Contains(Test(repo, false).Problems, p => p.Problem == "ManifestCorrupt" && p.ImageId == img.ImageId);
        }

        [ToolFact("mkfs.ext4")]
        public void ASoundUsedBlocksImage_ListsRestoresAndDrills_AndAnOldAllBlocksImageNeedsNoMode()
        {
            using var dir = new TempDir("ghost-alloc-ok");
            var (repo, img, vol) = UsedBlocksImage(dir);
            var r = Path.Combine(dir.Path, "r.img");
            Restore(repo, img.ImageId, r);
            Assert.Equal(Sha256(vol), Sha256(r)); // a fresh file system: its free space was zeros already
            var drill = Test(repo, true, img.ImageId);
            Assert.Equal("Passed", drill.Status);
            Assert.Equal("stream-verify+allocation", (string?)JsonNode.Parse(File.ReadAllText(Assert.Single(drill.DrillRecords)))!["method"]);

            // An image from before used-block mode: neither "mode" nor "allocation".
            var all = Capture(vol, repo);
            Edit(repo, all.ImageId, o => { o.Remove("mode"); o.Remove("allocation"); });
            Assert.Equal(GhostCaptureMode.AllBlocks, GhostRepository.List(repo).Single(i => i.ImageId == all.ImageId).Mode);
        }

        [Fact]
        public void FormatVersions_AMinorIsRead_ANewerMajorIsRefusedWithTheLegsId()
        {
            using var dir = new TempDir("ghost-versions");
            var vol = Path.Combine(dir.Path, "vol.img");
            WriteVolumeFile(vol, 1 << 20, seed: 70);
            var repo = Path.Combine(dir.Path, "repo");
            var img = Capture(vol, repo);
            Edit(repo, img.ImageId, o => o["formatVersion"] = "1.4");
            Assert.Single(GhostRepository.List(repo));
            var r = Path.Combine(dir.Path, "r.img");
            Restore(repo, img.ImageId, r);
            Assert.Equal(Sha256(vol), Sha256(r));

            Edit(repo, img.ImageId, o => o.Remove("formatVersion"));
            var missing = Assert.Throws<NekkBackupException>(() => Restore(repo, img.ImageId, Path.Combine(dir.Path, "r2.img")));
            Assert.Equal("NekkBackup.ManifestCorrupt", missing.ErrorId);
            Assert.Contains("formatVersion", missing.Message);

            var config = Path.Combine(repo, "config.json");
            var cfg = JsonNode.Parse(File.ReadAllText(config))!.AsObject();
            cfg["formatVersion"] = "2.0";
            File.WriteAllText(config, cfg.ToJsonString());
            var newer = Assert.Throws<NekkBackupException>(() => GhostRepository.List(repo));
            Assert.Equal("NekkBackup.UnsupportedRepositoryVersion", newer.ErrorId);
            Assert.Contains("Update NekkBackup", newer.Message);
        }

        [Fact]
        public void ImageEvidence_ComesOnlyFromManifestsAndDrillRecordsTheRepositoryAccepts()
        {
            using var dir = new TempDir("ghost-evidence");
            var vol = Path.Combine(dir.Path, "vol.img");
            WriteVolumeFile(vol, 1 << 20, seed: 71);
            var repo = Path.Combine(dir.Path, "repo");
            var a = Capture(vol, repo);
            var b = Capture(vol, repo);
            var drills = Test(repo, true).DrillRecords;
            Assert.Equal(2, drills.Length);
            var plan = new BackupPlan { Name = "p", Host = OperatingSystemInfo.HostName, Sources = new[] { dir.Path }, NasDestination = dir.Path, ImageSource = vol, ImageRepository = repo };
            LegEvidence Read() => new ImageEvidenceSource().ReadAsync(plan, default).GetAwaiter().GetResult();
            var ev = Read();
            Assert.Null(ev.Problem);
            Assert.Equal(new[] { a.ImageId, b.ImageId }, ev.Runs.Select(x => x.Id).ToArray());
            Assert.Equal(2, ev.Drills.Count);
            Assert.All(ev.Drills, d => Assert.Equal("Passed", d.Status));

            // A manifest whose chunk list digest is not a SHA-256 is not an image, so it is no evidence either
            // (the reader before this one took any JSON with an id, a host and a time).
            Edit(repo, b.ImageId, o => o["indexSha256"] = "not a digest");
            // A drill record from before records were versioned counts; one written by a newer major does not.
            var legacy = JsonNode.Parse(File.ReadAllText(drills[0]))!.AsObject();
            legacy.Remove("formatVersion");
            File.WriteAllText(drills[0], legacy.ToJsonString());
            var newer = JsonNode.Parse(File.ReadAllText(drills[1]))!.AsObject();
            newer["formatVersion"] = 2;
            File.WriteAllText(drills[1], newer.ToJsonString());
            ev = Read();
            Assert.Equal(new[] { a.ImageId }, ev.Runs.Select(x => x.Id).ToArray());
            Assert.Single(ev.Drills);
        }
    }
}
