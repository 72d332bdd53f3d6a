using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Primitives;
using NekkBackup.Core.Storage;

namespace NekkBackup.Core.Imaging
{
    /// <summary>
    /// The prune phase (Remove-NekkGhostImage, retention): delete images, then garbage-collect the chunks no remaining
    /// image references. It holds the repository lock exclusively but beside live captures
    /// (<see cref="LockOptions.ExclusiveToleratesShared"/>): while one runs it may be about to reference a chunk that looks
    /// unused, so collection is deferred to the next prune. It is deferred too while any manifest cannot be read (its
    /// chunks are unknown). See docs/ghost-repository.md "Locks and garbage collection".
    /// </summary>
    internal static class ImagePrune
    {
        private const string LegacyChunkTemp = ".tmp-"; // chunk temp files of NekkBackup before the storage seam

        public static GhostRemoveResult Run(string repository, IReadOnlyList<string> imageIds, IRunObserver outer, CancellationToken ct)
        {
            if (imageIds == null || imageIds.Count == 0) throw Fail.Argument("ImageIdMissing", "No image id was given.");
            using var log = RunLog.Open(RunId.New(), "GhostRemove");
            var observer = log.Wrap(outer);
            var repo = ImageRepository.Open(repository, observer, log.Logger);
            var ids = imageIds.Distinct().ToList();
            foreach (var id in ids) // ImageNotFound before anything is deleted (a damaged image can be removed)
                if (!repo.HasManifest(id)) throw Fail.NotFound("ImageNotFound", $"No image '{id}' in the repository '{repo.Root}'.", id);
            using var repoLock = repo.Lock(LockMode.Exclusive, "remove", observer, ct);
            TargetIo.Wait(repoLock.EnsureHeldAsync(ct));

            long freed = 0;
            foreach (var id in ids)
            {
                // Manifest first: once it is gone the image no longer exists; its chunk list follows.
                freed += repo.Delete(repo.ManifestKey(id), ct);
                freed += repo.Delete(repo.IndexKey(id), ct);
                log.Logger.Information("Removed image {ImageId}", id);
            }
            GhostRemoveResult Deferred() => new() { Repository = repo.Root, RemovedImageIds = ids.ToArray(), FreedBytes = freed, GarbageCollectionDeferred = true };
            var captures = repoLock.SharedHolders;
            if (captures.Count > 0)
            {
                observer.Message(RunMessageLevel.Warning,
                    $"A capture is running ({string.Join(", ", captures.Select(c => c.Host + " pid " + c.Pid))}); unreferenced chunks are kept and freed by the next Remove-NekkGhostImage.");
                return Deferred();
            }

            var (referenced, unknown) = Mark(repo, ct);
            if (unknown.Count > 0)
            {
                observer.Message(RunMessageLevel.Warning,
                    $"Unreferenced chunks are kept: {unknown.Count} image(s) cannot be read ({unknown[0]}), so the chunks they need are unknown. Repair or remove them, then run Remove-NekkGhostImage again.");
                return Deferred();
            }
            TargetIo.Wait(repoLock.EnsureHeldAsync(ct)); // the sweep is the prune's commit: never with a lost lock
            var (deleted, swept) = Sweep(repo, referenced, observer, ct);
            freed += swept;
            log.Logger.Information("Garbage collection deleted {Chunks} chunks, freed {Bytes} bytes", deleted, freed);
            return new GhostRemoveResult { Repository = repo.Root, RemovedImageIds = ids.ToArray(), FreedBytes = freed, ChunksDeleted = deleted };
        }

        /// <summary>
        /// Every chunk a remaining image references (compact 64-bit prefixes: a collision only keeps a chunk), and the
        /// images that cannot be read (a damaged manifest or chunk list hides which chunks its image needs).
        /// </summary>
        private static (HashSet<ulong> Referenced, List<string> Unknown) Mark(ImageRepository repo, CancellationToken ct)
        {
            var referenced = new HashSet<ulong>();
            var unknown = new List<string>();
            foreach (var m in repo.ReadManifests((f, e) => unknown.Add(e.Message), ct))
            {
                ct.ThrowIfCancellationRequested();
                try
                {
                    using var index = ImageIndexReader.Open(repo, m);
                    while (index.Next(out var id, out _, out var zero)) if (!zero) referenced.Add(id.Prefix);
                }
                catch (Exception e) when (e is NekkBackupException || e is System.IO.IOException) { unknown.Add(e.Message); }
            }
            return (referenced, unknown);
        }

        /// <summary>
        /// One listing of chunks/: deletes unreferenced chunks and chunk temp files from before the storage seam; then the
        /// chunk lists of captures that were killed (no manifest; no live capture can own them: none holds the lock).
        /// </summary>
        private static (long Deleted, long Freed) Sweep(ImageRepository repo, HashSet<ulong> referenced, IRunObserver observer, CancellationToken ct)
        {
            long deleted = 0, freed = 0, seen = 0;
            var failed = new List<string>();
            var meter = new GhostProgress(observer, "Freeing unreferenced chunks");
            var chunks = repo.ListPrefix(ImageRepository.ChunksPrefix, ct);
            foreach (var e in chunks)
            {
                ct.ThrowIfCancellationRequested();
                seen++;
                var name = e.Key.Substring(e.Key.LastIndexOf('/') + 1);
                bool orphanTemp = name.StartsWith(LegacyChunkTemp, StringComparison.Ordinal);
                if (!orphanTemp && (!ImageRepository.IsChunkKey(e.Key, out var id) || referenced.Contains(id.Prefix))) continue;
                if (!TryDelete(repo, e, failed, ct)) continue;
                freed += e.Size;
                if (!orphanTemp) deleted++;
                meter.Report($"Sweeping chunks ({deleted:N0} deleted)", 0, 0, seen, chunks.Count);
            }
            var images = repo.ListPrefix(ImageRepository.ImagesPrefix, ct);
            var manifests = new HashSet<string>(images.Select(e => e.Key).Where(k => k.EndsWith(".json", StringComparison.Ordinal)), StringComparer.Ordinal);
            foreach (var e in images)
            {
                bool killed = e.Key.EndsWith(".idx.partial", StringComparison.Ordinal)
                    || (e.Key.EndsWith(".idx", StringComparison.Ordinal) && !manifests.Contains(e.Key.Substring(0, e.Key.Length - 4) + ".json"));
                if (killed && TryDelete(repo, e, failed, ct)) freed += e.Size;
            }
            if (failed.Count > 0)
                observer.Message(RunMessageLevel.Warning, $"{failed.Count} unreferenced object(s) could not be deleted ({failed[0]}); the next Remove-NekkGhostImage tries again.");
            meter.Completed("Done");
            return (deleted, freed);
        }

        private static bool TryDelete(ImageRepository repo, TargetEntry e, List<string> failed, CancellationToken ct)
        {
            try
            {
                TargetIo.Wait(repo.Target.DeleteAsync(e.Key, ct));
                return true;
            }
            catch (TargetException ex)
            {
                failed.Add(ex.Message);
                return false;
            }
        }
    }
}
