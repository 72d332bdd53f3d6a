using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Folder;
using NekkBackup.Core.Observability;

namespace NekkBackup.Core.Imaging
{
    /// <summary>What a GFS policy keeps and drops in a Ghost repository.</summary>
    public sealed class GhostRetentionPlan
    {
        public string Repository { get; init; } = "";
        public IReadOnlyList<GhostImage> Keep { get; init; } = Array.Empty<GhostImage>();
        public IReadOnlyList<GhostImage> Remove { get; init; } = Array.Empty<GhostImage>();
    }

    /// <summary>
    /// Remove-NekkGhostImage -Retention and a plan's ImageRetention: the same GFS selection as folder backups
    /// (<see cref="Retention.Keep"/>: KeepLast, Hourly, Daily, Weekly, Monthly on local time; the newest always
    /// stays) applied to each host's images separately, then the existing remove + garbage collection.
    /// </summary>
    public static class ImageRetention
    {
        /// <summary>
        /// The images the policy keeps and drops, per host (only <paramref name="host"/>'s when given). A repository
        /// with an unreadable manifest is refused (NekkBackup.ManifestCorrupt): its image's chunks would look unused.
        /// </summary>
        public static GhostRetentionPlan Plan(string repository, RetentionPolicy policy, string? host = null)
        {
            if (policy == null) throw Fail.Argument("InvalidRetention", "A retention policy is required.");
            Retention.Validate(policy);
            var repo = ImageRepository.Open(repository);
            var unreadable = new List<string>();
            var manifests = repo.ReadManifests((f, _) => unreadable.Add(f));
            if (unreadable.Count > 0)
                throw Fail.InvalidData("ManifestCorrupt",
                    $"The repository '{repo.Root}' has unreadable image manifests ({string.Join(", ", unreadable.Take(3))}); retention would free chunks they may use. Repair or remove them first (Test-NekkGhostImage names them).", repo.Root);
            var images = manifests.Select(m => GhostRepository.ToImage(m, repo.Root)).ToList();
            var keep = new List<GhostImage>();
            var remove = new List<GhostImage>();
            foreach (var group in images.GroupBy(i => i.Host, StringComparer.OrdinalIgnoreCase))
            {
                if (host != null && !string.Equals(group.Key, host, StringComparison.OrdinalIgnoreCase))
                {
                    keep.AddRange(group);
                    continue;
                }
                var kept = Retention.Keep(group.Select(i => (i.ImageId, i.Created.ToLocalTime())).ToList(), policy);
                foreach (var i in group) (kept.Contains(i.ImageId) ? keep : remove).Add(i);
            }
            return new GhostRetentionPlan
            {
                Repository = repo.Root,
                Keep = keep.OrderBy(i => i.Created).ToList(),
                Remove = remove.OrderBy(i => i.Created).ToList(),
            };
        }

        /// <summary>Plans and removes what the policy drops (garbage collection included); nothing to drop removes nothing.</summary>
        public static async Task<GhostRemoveResult> ApplyAsync(string repository, RetentionPolicy policy, string? host, IRunObserver? observer, CancellationToken ct)
        {
            var plan = Plan(repository, policy, host);
            observer?.Message(RunMessageLevel.Verbose, $"Image retention ({policy}): keeps {plan.Keep.Count}, removes {plan.Remove.Count}.");
            if (plan.Remove.Count == 0)
                return new GhostRemoveResult { Repository = plan.Repository, KeptImageIds = plan.Keep.Select(i => i.ImageId).ToArray() };
            var result = await GhostRepository.RemoveAsync(repository, plan.Remove.Select(i => i.ImageId).ToList(), observer, ct).ConfigureAwait(false);
            return new GhostRemoveResult
            {
                Repository = result.Repository, RemovedImageIds = result.RemovedImageIds, FreedBytes = result.FreedBytes, ChunksDeleted = result.ChunksDeleted,
                GarbageCollectionDeferred = result.GarbageCollectionDeferred, KeptImageIds = plan.Keep.Select(i => i.ImageId).ToArray(),
            };
        }
    }
}
