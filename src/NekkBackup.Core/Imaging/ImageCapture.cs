using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Primitives;
using NekkBackup.Core.Storage;

namespace NekkBackup.Core.Imaging
{
    /// <summary>
    /// The capture phase: a volume into the repository. One thread reads the source in order; workers hash, look the chunk
    /// up in the set of known chunks (one listing of chunks/ at the start, not a stat per chunk), compress and store new
    /// ones with a conditional create; a UsedBlocks capture does not read the chunks <see cref="UnchangedChunks"/> takes
    /// from the previous image (file-system metadata unchanged); the chunk list streams into the target as it is made. Commit, in order (restic's
    /// rule): chunks and chunk list stored → one durability point → the lock checked (a capture whose lock was lost or
    /// taken over commits nothing) → the manifest, the image's commit point.
    /// </summary>
    internal sealed class ImageCapture
    {
        private sealed class Item
        {
            public long Index;
            public byte[] Buffer = Array.Empty<byte>();   // the run's buffer, shared by the run's chunks
            public int Offset;                            // this chunk's bytes: Buffer[Offset .. Offset + Count)
            public int Count;
            public bool Owner;                            // the run's first chunk: returns Buffer to the pool
            public ChunkId? Id;
            public bool Hole;     // known zeros (a hole or free space): not read, Buffer is the shared zero buffer
            public bool Unchanged; // taken from the previous image unread (Id as there); Buffer is the shared zero buffer
            public long StoredBytes;
            public long NewBytes;
        }

        private readonly ImageRepository _repo;
        private readonly GhostCaptureOptions _options;
        private readonly IRunObserver _observer;
        private readonly Serilog.ILogger _log;
        private readonly ChunkStore _chunks;
        private readonly bool _compress;
        private readonly int _level;
        private KnownChunks _known = new();
        private UnchangedChunks? _unchanged;
        private CancellationToken _ct;
        private PhaseClock _phases = new();

        private ImageCapture(ImageRepository repo, GhostCaptureOptions options, IRunObserver observer, Serilog.ILogger log)
        {
            _repo = repo;
            _options = options;
            _observer = observer;
            _log = log;
            _chunks = new ChunkStore(repo);
            _compress = options.Compression == GhostCompression.Zstd;
            _level = options.ZstdLevel > 0 ? options.ZstdLevel : Math.Max(1, repo.Config.ZstdLevel);
        }

        /// <summary>
        /// Captures <paramref name="source"/> into the repository <see cref="GhostCaptureOptions.Repository"/> names (created
        /// when absent or empty), or into <paramref name="target"/> when given (another store; tests).
        /// </summary>
        public static GhostImage Run(IBlockSource source, string sourceName, GhostCaptureOptions options, IRunObserver outer, CancellationToken ct, IBackupTarget? target = null)
        {
            options.Validate(requireSource: false);
            var phases = new PhaseClock();
            using var log = RunLog.Open(RunId.New(), "GhostCapture");
            var observer = log.Wrap(outer);
            var repo = target != null
                ? ImageRepository.OpenOrCreate(target, options.ChunkSize, options.Compression, options.ZstdLevel)
                : ImageRepository.OpenOrCreate(options.Repository, options.ChunkSize, options.Compression, options.ZstdLevel, observer, log.Logger);
            repo.Layout?.Create(); // nothing is written through a link or into a file planted where a folder belongs
            using var repoLock = repo.Lock(LockMode.Shared, "capture", observer, ct);
            using var run = CancellationTokenSource.CreateLinkedTokenSource(ct, repoLock.LostToken);
            var capture = new ImageCapture(repo, options, observer, log.Logger) { _phases = phases };
            phases.Mark("open and lock");
            try { return capture.Capture(source, sourceName, repoLock, run.Token); }
            catch (OperationCanceledException) when (repoLock.IsLost && !ct.IsCancellationRequested) { throw LockLost(repo, repoLock.LostReason); }
        }

        private static NekkBackupException LockLost(ImageRepository repo, string? why, Exception? inner = null) =>
            new("RepositoryLockLost", FailureKind.ResourceUnavailable,
                $"The capture's lock on '{repo.Root}' was lost ({why ?? "it was removed or taken over"}; the machine slept or the share dropped), so garbage collection may have removed chunks it reuses. No image was written; run the capture again.",
                repo.Root, inner)
            { IsTransient = true };

        private GhostImage Capture(IBlockSource source, string sourceName, TargetLock repoLock, CancellationToken ct)
        {
            _ct = ct;
            PluginInventory? inventory = null;
            if (!_options.SkipPluginInventory)
            {
                inventory = PluginScanner.Scan(_options.PluginPaths, _options.ToolRoot);
                _observer.Message(RunMessageLevel.Verbose, $"Plugin inventory: {inventory.Plugins.Length} plugins, {inventory.AuthorizationTools.Length} licence tools.");
                _phases.Mark("plugin inventory");
            }
            (source, var allocation, var map) = UsedBlocks.Prepare(source, sourceName, _options.Mode, _observer, ct);
            var imageId = RunId.New();
            int chunkSize = _repo.Config.ChunkSize;
            long size = source.Length;
            var created = DateTime.UtcNow;
            var clock = Stopwatch.StartNew();
            _phases.Mark("allocation map");
            // A volume digest needs every byte; AllBlocks stays bit for bit by reading every block.
            if (map != null && _options.ChangeDetection == GhostChangeDetection.FileSystem && !_options.VolumeDigest)
            {
                // The listing of chunks/ (the repository) runs while the comparison reads the two file tables.
                var listing = Task.Run(() => KnownChunks.List(_repo, ct), ct);
                try { _unchanged = UnchangedChunks.Plan(_repo, source, map, sourceName, () => listing.GetAwaiter().GetResult(), _observer, ct); }
                finally { _known = listing.GetAwaiter().GetResult(); }
                _phases.Mark("chunk listing and change detection");
            }
            else
            {
                _known = KnownChunks.List(_repo, ct);
                _phases.Mark("chunk listing");
            }
            _log.Information("Capturing {Source} ({Device}, {Size} bytes) into {Repository} as {ImageId}; {Known} chunks listed in {Ms} ms",
                sourceName, source.Path, size, _repo.Root, imageId, _known.Count, clock.ElapsedMilliseconds);

            var meter = new GhostProgress(_observer, $"Capturing {sourceName}");
            var totals = new Item();
            long zeroChunks = 0, chunks = 0, bytesDone = 0, unchangedChunks = 0;
            string indexSha, volumeSha;
            bool indexStored = false;
            try
            {
                using (var volume = _options.VolumeDigest ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null)
                using (var index = new ImageIndexWriter(_repo.Target, _repo.IndexKey(imageId), chunkSize, size, ct))
                {
                    Pipeline(source, sourceName, chunkSize, size, it =>
                    {
                        // In volume order: the pipeline completes batches in order, and a batch's chunks in order.
                        volume?.AppendData(it.Buffer, it.Offset, it.Count);
                        index.Add(it.Id);
                        if (it.Id == null) zeroChunks++;
                        if (it.Unchanged) unchangedChunks++;
                        totals.StoredBytes += it.StoredBytes;
                        totals.NewBytes += it.NewBytes;
                        chunks++;
                        bytesDone += it.Count;
                        meter.Report("Hashing, deduplicating, compressing", bytesDone, size, chunks, ImageIndexWriter.ChunkCount(size, chunkSize), sourceName);
                    });
                    indexSha = index.Complete();
                    _phases.Mark("read, hash, store");
                    indexStored = true;
                    volumeSha = volume != null ? Hex.Encode(volume.GetHashAndReset()) : "";
                }

                // Chunks and chunk list reach stable storage before the manifest commits the image.
                _repo.MakeDurable();
                _phases.Mark("durability");
                try { TargetIo.Wait(repoLock.EnsureHeldAsync(ct)); }
                catch (NekkBackupException e) when (e.ErrorId == "NekkBackup.RepositoryLockLost") { throw LockLost(_repo, repoLock.LostReason, e); }
                var manifest = new ImageManifest
                {
                    ImageId = imageId, Source = sourceName, Device = source.Path, Host = OperatingSystemInfo.HostName,
                    Created = created, Finished = DateTime.UtcNow, SizeBytes = size, ChunkSize = chunkSize,
                    Chunks = chunks, ZeroChunks = zeroChunks, StoredBytes = totals.StoredBytes, NewBytes = totals.NewBytes,
                    DurationMs = clock.ElapsedMilliseconds,
                    Tags = _options.Tags?.Where(t => !string.IsNullOrWhiteSpace(t)).ToArray() ?? Array.Empty<string>(),
                    Compression = _compress ? "zstd" : "none", VolumeSha256 = volumeSha,
                    IndexFile = imageId + ".idx", IndexSha256 = indexSha, Plugins = inventory,
                    Mode = allocation != null ? UsedBlocks.UsedBlocksName : UsedBlocks.AllBlocksName, Allocation = allocation,
                    Compared = _unchanged == null ? null
                        : new ImageComparison { ImageId = _unchanged.Previous.ImageId, UnchangedChunks = unchangedChunks, Chain = _unchanged.Chain },
                };
                _repo.WriteManifest(manifest, ct);
                _phases.Mark("lock check and manifest");
                _phases.Log(_log, "Capture");
                meter.Completed("Done");
                _log.Information("Image {ImageId}: {Chunks} chunks ({ZeroChunks} zero), {Stored} bytes stored, {New} new, in {Ms} ms",
                    imageId, chunks, zeroChunks, totals.StoredBytes, totals.NewBytes, clock.ElapsedMilliseconds);
                return GhostRepository.ToImage(manifest, _repo.Root);
            }
            catch
            {
                // A chunk list without its manifest is no image; garbage collection would sweep it, but do not leave it.
                if (indexStored) { try { _repo.Delete(_repo.IndexKey(imageId), CancellationToken.None); } catch (NekkBackupException) { } }
                meter.Completed("Stopped");
                throw;
            }
            finally { _unchanged?.Dispose(); }
        }

        /// <summary>Chunks per pipeline item: about 2 MiB of them, so a worker's hand-off costs once per batch, not per chunk.</summary>
        internal static int BatchOf(int chunkSize) => Math.Max(1, (2 << 20) / chunkSize);

        /// <summary>
        /// Reads in volume order on this thread (a hole or free space is not read: a zero chunk), hashes and stores
        /// batches of chunks on the workers, completes them in order. Batching keeps thread hand-offs (each a wake-up
        /// that waits its turn on a busy machine) at one per ~2 MiB, and the chunks of a batch that are not holes are
        /// read with one request per contiguous run: 256 KiB requests read a cold disk at a third of the speed of
        /// 1-2 MiB ones; a source that reads uncached (<see cref="IRangeReader"/>) gets aligned buffers
        /// (docs/ghost-repository.md "Reads").
        /// </summary>
        private void Pipeline(IBlockSource source, string sourceName, int chunkSize, long size, Action<Item> complete)
        {
            int workers = GhostRepository.Workers(_options.Parallelism);
            int batch = BatchOf(chunkSize);
            var ranged = source as IRangeReader;
            bool uncached = ranged?.ReadsUncached == true;
            var pool = new RunBuffers(batch * chunkSize, workers * 2 + 4, aligned: uncached);
            var holes = source as IHoleMap;
            byte[]? zeros = null;
            long offset = 0, index = 0;
            OrderedPipeline.Run<Item[]>(
                produce: () =>
                {
                    if (offset >= size) return null;
                    var items = new Item[(int)Math.Min(batch, (size - offset + chunkSize - 1) / chunkSize)];
                    int i = 0;
                    while (i < items.Length)
                    {
                        int n = (int)Math.Min(chunkSize, size - offset);
                        if (holes != null && holes.IsHole(offset, n))
                        {
                            items[i++] = new Item { Index = index++, Buffer = zeros ??= new byte[chunkSize], Count = n, Hole = true };
                            offset += n;
                            continue;
                        }
                        if (_unchanged != null && _unchanged.Take(index, out var previousId))
                        {
                            items[i++] = new Item { Index = index++, Buffer = zeros ??= new byte[chunkSize], Count = n, Unchanged = true, Id = previousId };
                            offset += n;
                            continue;
                        }
                        // The run of chunks up to the next hole or the end of the batch: one read.
                        int run = 1, runBytes = n;
                        while (i + run < items.Length)
                        {
                            int m = (int)Math.Min(chunkSize, size - offset - runBytes);
                            if (holes != null && holes.IsHole(offset + runBytes, m)) break;
                            if (_unchanged != null && _unchanged.IsUnchanged(index + run)) break;
                            runBytes += m;
                            run++;
                        }
                        var (buf, start) = pool.Rent(runBytes);
                        int got;
                        try { got = uncached ? ranged!.Read(offset, buf, start, runBytes) : source.Read(offset, buf, runBytes); }
                        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException) { pool.Return(buf); Release(pool, items); throw Fail.FromIo(e, sourceName); }
                        if (got != runBytes)
                        {
                            pool.Return(buf);
                            Release(pool, items);
                            throw Fail.InvalidData("SourceChanged", $"'{sourceName}' ended at {offset + got} bytes, before its size {size}: it shrank while it was read.", sourceName);
                        }
                        for (int r = 0; r < run; r++)
                        {
                            int m = (int)Math.Min(chunkSize, runBytes - r * chunkSize);
                            items[i++] = new Item { Index = index++, Buffer = buf, Offset = start + r * chunkSize, Count = m, Owner = r == 0 };
                        }
                        offset += runBytes;
                    }
                    return items;
                },
                work: items => { foreach (var it in items) Store(it); },
                complete: items =>
                {
                    foreach (var it in items) complete(it);
                    Release(pool, items);
                },
                workers, _ct);
        }

        /// <summary>Returns each run's buffer once (its first item owns it).</summary>
        private static void Release(RunBuffers pool, Item?[] items)
        {
            foreach (var it in items)
                if (it != null && it.Owner && it.Buffer.Length > 0)
                {
                    pool.Return(it.Buffer);
                    it.Buffer = Array.Empty<byte>();
                }
        }

        /// <summary>
        /// One chunk: all zeros is stored as nothing; a chunk the repository holds is referenced; a new one is stored with a
        /// conditional create, so only the capture that created it counts its bytes as new.
        /// </summary>
        private void Store(Item it)
        {
            if (it.Unchanged)
            {
                // The previous image's chunk, listed in the repository when the comparison chose it.
                if (it.Id is { } kept && _known.Use(kept, out int keptSize)) it.StoredBytes = Math.Max(0, keptSize);
                return;
            }
            if (it.Hole || IsAllZero(it.Buffer, it.Offset, it.Count)) return;
            var id = ChunkId.Of(it.Buffer, it.Offset, it.Count);
            it.Id = id;
            bool first = _known.Use(id, out int size);
            if (size < 0)
            {
                var (created, length) = _chunks.Put(id, it.Buffer, it.Offset, it.Count, _compress, _level, _ct);
                _known.Stored(id, length);
                if (created) it.NewBytes = length;
                size = length;
            }
            if (first) it.StoredBytes = size;
        }

        private static bool IsAllZero(byte[] buffer, int offset, int count)
        {
#if NET
            return buffer.AsSpan(offset, count).IndexOfAnyExcept((byte)0) < 0;
#else
            int i = offset, end = offset + count;
            for (; i + 8 <= end; i += 8)
                if (BitConverter.ToUInt64(buffer, i) != 0) return false;
            for (; i < end; i++) if (buffer[i] != 0) return false;
            return true;
#endif
        }
    }
}
