using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;

namespace NekkBackup.Core.Imaging
{
    /// <summary>
    /// The Ghost image engine's entry points (the cmdlets, plans and mounts call these): capture a volume into a
    /// deduplicating chunk repository (<see cref="ImageCapture"/>), list, restore (<see cref="ImageRestore"/>), test or
    /// drill (<see cref="ImageVerifier"/>) and remove with garbage collection (<see cref="ImagePrune"/>). The repository is
    /// an <see cref="ImageRepository"/> over the storage seam; its format is docs/ghost-repository.md.
    /// </summary>
    public static class GhostRepository
    {
        /// <summary>
        /// The ordered pipeline blocks its thread while pool workers hash/compress: run it on a dedicated
        /// thread, or it starves the thread pool it waits on (2-core machines stall for 0.5 s at a time).
        /// </summary>
        private static Task<T> Dedicated<T>(Func<T> body, CancellationToken ct) =>
            Task.Factory.StartNew(body, ct, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        internal static int Workers(int requested) => requested > 0 ? requested : Math.Max(1, Environment.ProcessorCount);

        public static async Task<GhostImage> CaptureAsync(GhostCaptureOptions options, IRunObserver? observer, CancellationToken cancellationToken)
        {
            if (options == null) throw new ArgumentNullException(nameof(options));
            options.Validate();
            string device = options.Source;
            IDisposable? release = null;
            if (options.Snapshot != null)
            {
                (device, release) = await options.Snapshot(options.Source, cancellationToken).ConfigureAwait(false);
            }
            try
            {
                int chunkSize = ImageRepository.ChunkSizeAt(options.Repository) ?? (options.ChunkSize > 0 ? options.ChunkSize : ImageRepository.DefaultChunkSize);
                using var source = BlockSources.Open(device, Math.Max(ImageCapture.BatchOf(chunkSize) * chunkSize, 1 << 20)); // a capture reads up to a batch at once
                return await CaptureAsync(source, options.Source, options, observer, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                release?.Dispose();
            }
        }

        /// <summary>Captures from an already opened source (tests and hosts that bring their own <see cref="IBlockSource"/>).</summary>
        public static Task<GhostImage> CaptureAsync(IBlockSource source, string sourceName, GhostCaptureOptions options, IRunObserver? observer, CancellationToken cancellationToken)
        {
            if (source == null) throw new ArgumentNullException(nameof(source));
            if (options == null) throw new ArgumentNullException(nameof(options));
            return Dedicated(() => ImageCapture.Run(source, sourceName, options, observer ?? NullRunObserver.Instance, cancellationToken), cancellationToken);
        }

        internal static GhostImage ToImage(ImageManifest m, string repositoryRoot) => new()
        {
            ImageId = m.ImageId,
            Source = m.Source,
            Host = m.Host,
            Created = DateTime.SpecifyKind(m.Created, DateTimeKind.Utc),
            SizeBytes = m.SizeBytes,
            StoredBytes = m.StoredBytes,
            NewBytes = m.NewBytes,
            Chunks = m.Chunks,
            Duration = TimeSpan.FromMilliseconds(m.DurationMs),
            Tags = m.Tags ?? Array.Empty<string>(),
            VolumeSha256 = m.VolumeSha256,
            PluginCount = m.Plugins?.Plugins?.Length ?? 0,
            Repository = repositoryRoot,
            Mode = UsedBlocks.ModeOf(m),
            UsedBytes = m.Allocation?.UsedBytes ?? m.SizeBytes,
        };

        /// <summary>The committed images, oldest first; an unreadable manifest is reported to <paramref name="observer"/> and skipped.</summary>
        public static IReadOnlyList<GhostImage> List(string repository, IRunObserver? observer = null)
        {
            var repo = ImageRepository.Open(repository, observer);
            return repo.ReadManifests((f, e) => observer?.ItemFailed(f, e as NekkBackupException ?? Fail.InvalidData("ManifestCorrupt", $"Unreadable manifest '{f}': {e.Message}", f, e)))
                .Select(m => ToImage(m, repo.Root)).ToList();
        }

        /// <summary>The plugin/licence inventory recorded with an image (null when it was skipped).</summary>
        public static PluginInventory? GetPluginInventory(string repository, string imageId) =>
            ImageRepository.Open(repository).ReadManifest(imageId).Plugins;

        public static Task<GhostRestoreResult> RestoreAsync(string repository, string imageId, string target, GhostRestoreFormat format, bool force,
            IRunObserver? observer, CancellationToken cancellationToken, int parallelism = 0) =>
            Dedicated(() => ImageRestore.Run(repository, imageId, target, format, force, observer ?? NullRunObserver.Instance, cancellationToken, parallelism), cancellationToken);

        public static Task<GhostImageTestResult> TestAsync(string repository, IReadOnlyList<string>? imageIds, bool full, IRunObserver? observer,
            CancellationToken cancellationToken, int parallelism = 0) =>
            Dedicated(() => ImageVerifier.Run(repository, imageIds, full, observer ?? NullRunObserver.Instance, cancellationToken, parallelism), cancellationToken);

        /// <summary>
        /// Deletes images, then (when no capture is running) every chunk no remaining image references.
        /// See docs/ghost-repository.md "Locks and garbage collection" for why this is safe against a concurrent capture.
        /// </summary>
        public static Task<GhostRemoveResult> RemoveAsync(string repository, IReadOnlyList<string> imageIds, IRunObserver? observer, CancellationToken cancellationToken) =>
            Dedicated(() => ImagePrune.Run(repository, imageIds, observer ?? NullRunObserver.Instance, cancellationToken), cancellationToken);
    }
}
