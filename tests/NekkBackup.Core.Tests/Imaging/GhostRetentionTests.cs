using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using System.Threading;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Folder;
using NekkBackup.Core.Imaging;
using NekkBackup.Core.Tests.TestKit;
using Xunit;
using static NekkBackup.Core.Tests.Imaging.GhostTestSupport;

namespace NekkBackup.Core.Tests.Imaging
{
    /// <summary>Remove-NekkGhostImage -Retention: GFS per host over real captures, then garbage collection.</summary>
    public sealed class GhostRetentionTests
    {
        /// <summary>Moves an image's capture time (and host) in its manifest, as if it had been captured then (docs/ghost-repository.md).</summary>
        internal static void Backdate(string repo, string imageId, DateTime localTime, string? host = null)
        {
            var path = Path.Combine(repo, "images", imageId + ".json");
            var json = JsonNode.Parse(File.ReadAllText(path))!;
            json["created"] = localTime.ToUniversalTime().ToString("O");
            json["finished"] = localTime.ToUniversalTime().AddMinutes(1).ToString("O");
            if (host != null) json["host"] = host;
            File.WriteAllText(path, json.ToJsonString());
        }

        [Fact]
        public void Retention_KeepsExactlyTheGfsSet_PerHost_FreesTheRest_AndTheNewestRestoresBitIdentical()
        {
            using var tmp = new TempDir("ghost-ret");
            var vol = Path.Combine(tmp.Path, "vol.img");
            var repo = Path.Combine(tmp.Path, "repo");
            WriteVolumeFile(vol, 3L << 20, 1);
            // Seven images of this host, each after a change, then backdated over three months (local time).
            var dates = new[]
            {
                new DateTime(2026, 1, 5, 2, 0, 0), new DateTime(2026, 1, 20, 2, 0, 0), new DateTime(2026, 2, 10, 2, 0, 0),
                new DateTime(2026, 2, 24, 2, 0, 0), new DateTime(2026, 3, 2, 2, 0, 0), new DateTime(2026, 3, 4, 2, 0, 0),
                new DateTime(2026, 3, 9, 2, 0, 0),
            };
            var ids = new List<string>();
            var digests = new List<string>();
            for (int i = 0; i < dates.Length; i++)
            {
                Scribble(vol, (i * 300_000L) % (3L << 20), 200_000, 100 + i); // each image holds chunks of its own
                digests.Add(Sha256(vol));
                var img = Capture(vol, repo);
                Backdate(repo, img.ImageId, dates[i]);
                ids.Add(img.ImageId);
            }
            // Two images of another host sharing the repository, older than all of ours.
            var other = new List<string>();
            for (int i = 0; i < 2; i++)
            {
                Scribble(vol, 100_000 + i * 50_000, 4096, 300 + i);
                var img = Capture(vol, repo);
                Backdate(repo, img.ImageId, new DateTime(2025, 6, 1 + i, 2, 0, 0), "studio-b");
                other.Add(img.ImageId);
            }
            var bytesBefore = DirectoryBytes(Path.Combine(repo, "chunks"));

            // KeepLast 1 → #7; Weekly 2 → newest of ISO weeks 11 and 10 → #7, #6; Monthly 3 → newest of March,
            // February, January → #7, #4, #2. Worked out by hand from the calendar, not by the product.
            var policy = new RetentionPolicy { KeepLast = 1, Weekly = 2, Monthly = 3 };
            var plan = ImageRetention.Plan(repo, policy, OperatingSystemInfo.HostName);
            Assert.Equal(new[] { ids[1], ids[3], ids[5], ids[6] }.Concat(other).OrderBy(x => x), plan.Keep.Select(i => i.ImageId).OrderBy(x => x));
            Assert.Equal(new[] { ids[0], ids[2], ids[4] }, plan.Remove.Select(i => i.ImageId));

            long metadata = new[] { ids[0], ids[2], ids[4] }.Sum(id => new FileInfo(Path.Combine(repo, "images", id + ".json")).Length + new FileInfo(Path.Combine(repo, "images", id + ".idx")).Length);
            var result = ImageRetention.ApplyAsync(repo, policy, OperatingSystemInfo.HostName, new SpyObserver(), CancellationToken.None).GetAwaiter().GetResult();
            Assert.Equal(new[] { ids[0], ids[2], ids[4] }, result.RemovedImageIds);
            Assert.False(result.GarbageCollectionDeferred);
            Assert.True(result.ChunksDeleted > 0 && result.FreedBytes > 0, $"{result.ChunksDeleted} chunks, {result.FreedBytes} bytes freed");
            Assert.Equal(bytesBefore - DirectoryBytes(Path.Combine(repo, "chunks")), result.FreedBytes - metadata);
            Assert.Equal(new[] { ids[1], ids[3], ids[5], ids[6] }.Concat(other).OrderBy(x => x), GhostRepository.List(repo).Select(i => i.ImageId).OrderBy(x => x));

            // Every kept image is still whole; the newest restores bit for bit (digest taken before its capture).
            Assert.Equal("Passed", Test(repo, full: false).Status);
            var restored = Path.Combine(tmp.Path, "newest.img");
            Restore(repo, ids[6], restored);
            Assert.Equal(digests[6], Sha256(restored));
            var oldestKept = Path.Combine(tmp.Path, "jan.img");
            Restore(repo, ids[1], oldestKept);
            Assert.Equal(digests[1], Sha256(oldestKept));

            // Per host: studio-b's own policy run keeps its newest only, ours are untouched.
            var b = ImageRetention.ApplyAsync(repo, new RetentionPolicy { KeepLast = 1 }, "studio-b", null, CancellationToken.None).GetAwaiter().GetResult();
            Assert.Equal(new[] { other[0] }, b.RemovedImageIds);
            Assert.Contains(ids[6], b.KeptImageIds);
            // Running the same policy again removes nothing.
            var again = ImageRetention.ApplyAsync(repo, policy, null, null, CancellationToken.None).GetAwaiter().GetResult();
            Assert.Empty(again.RemovedImageIds);
        }

        [Fact]
        public void Retention_RefusesAPolicyThatKeepsNothing_AndARepositoryWithAnUnreadableManifest()
        {
            using var tmp = new TempDir("ghost-ret-bad");
            var vol = Path.Combine(tmp.Path, "vol.img");
            var repo = Path.Combine(tmp.Path, "repo");
            WriteVolumeFile(vol, 1L << 20, 2);
            Capture(vol, repo);
            var ex = Assert.Throws<NekkBackupException>(() => ImageRetention.Plan(repo, new RetentionPolicy { KeepLast = 0 }));
            Assert.Equal("NekkBackup.InvalidRetention", ex.ErrorId);
            File.WriteAllText(Path.Combine(repo, "images", "20250101T000000Z-deadbeef.json"), "{ not json");
            ex = Assert.Throws<NekkBackupException>(() => ImageRetention.Plan(repo, new RetentionPolicy { KeepLast = 1 }));
            Assert.Equal("NekkBackup.ManifestCorrupt", ex.ErrorId);
        }
    }
}
