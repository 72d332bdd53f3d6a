using System;
using System.Buffers;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;

namespace NekkBackup.Core.Imaging
{
    /// <summary>
    /// The Ghost image engine: capture a volume into a deduplicating chunk repository, list, restore
    /// (raw or fixed VHD), test (chunk check, or the full restore drill) and remove with garbage
    /// collection. The on-disk format is described in docs/ghost-repository.md.
    /// </summary>
    public static class GhostRepository
    {
        /// <summary>
        /// The ordered pipeline blocks its thread while pool workers hash/compress: run it on a dedicated
        /// thread, or it starves the thread pool it waits on (2-core machines stall for 0.5 s at a time).
        /// </summary>
        private static Task<T> Dedicated<T>(Func<T> body, CancellationToken ct) =>
            Task.Factory.StartNew(body, ct, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        private static int Workers(int requested) => requested > 0 ? requested : Math.Max(1, Environment.ProcessorCount);

        // ------------------------------------------------------------------ capture

        public static async Task<GhostImage> CaptureAsync(GhostCaptureOptions options, IRunObserver? observer, CancellationToken cancellationToken)
        {
            if (options == null) throw new ArgumentNullException(nameof(options));
            if (string.IsNullOrWhiteSpace(options.Source))
                throw Fail.Argument("SourceMissing", "No source volume, device or image file was given.");
            if (string.IsNullOrWhiteSpace(options.Repository))
                throw Fail.Argument("RepositoryMissing", "No repository path was given.");
            string device = options.Source;
            IDisposable? release = null;
            if (options.Snapshot != null)
            {
                (device, release) = await options.Snapshot(options.Source, cancellationToken).ConfigureAwait(false);
            }
            try
            {
                using var source = BlockSources.Open(device, Math.Max(ChunkSizeFor(options), 1 << 20));
                return await CaptureAsync(source, options.Source, options, observer, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                release?.Dispose();
            }
        }

        private static int ChunkSizeFor(GhostCaptureOptions options)
        {
            try
            {
                if (File.Exists(Path.Combine(options.Repository, "config.json")))
                    return RepositoryLayout.Open(options.Repository).Config.ChunkSize;
            }
            catch (NekkBackupException) { }
            return options.ChunkSize > 0 ? options.ChunkSize : RepositoryLayout.DefaultChunkSize;
        }

        /// <summary>Captures from an already opened source (tests and hosts that bring their own <see cref="IBlockSource"/>).</summary>
        public static Task<GhostImage> CaptureAsync(IBlockSource source, string sourceName, GhostCaptureOptions options, IRunObserver? observer, CancellationToken cancellationToken)
        {
            if (source == null) throw new ArgumentNullException(nameof(source));
            return Dedicated(() => Capture(source, sourceName, options, observer ?? NullRunObserver.Instance, cancellationToken), cancellationToken);
        }

        private sealed class CaptureItem
        {
            public long Index;
            public byte[] Buffer = Array.Empty<byte>();
            public int Count;
            public byte[]? Hash;
            public long StoredBytes;
            public long NewBytes;
        }

        private static GhostImage Capture(IBlockSource source, string sourceName, GhostCaptureOptions options, IRunObserver outer, CancellationToken ct)
        {
            var runId = RunLog.NewRunId();
            using var log = RunLog.Open(runId, "GhostCapture");
            var observer = log.Wrap(outer);
            var repo = RepositoryLayout.OpenOrCreate(options.Repository, options.ChunkSize, options.Compression, options.ZstdLevel);
            using var repoLock = RepositoryLock.AcquireShared(repo, "capture");

            PluginInventory? inventory = null;
            if (!options.SkipPluginInventory)
            {
                inventory = PluginScanner.Scan(options.PluginPaths, options.ToolRoot);
                observer.Message(RunMessageLevel.Verbose, $"Plugin inventory: {inventory.Plugins.Length} plugins, {inventory.AuthorizationTools.Length} licence tools.");
            }

            (source, var allocation) = UsedBlocks.Prepare(source, sourceName, options.Mode, observer, ct);
            var imageId = NewImageId();
            int chunkSize = repo.Config.ChunkSize;
            long size = source.Length;
            bool compress = options.Compression == GhostCompression.Zstd;
            int level = options.ZstdLevel > 0 ? options.ZstdLevel : Math.Max(1, repo.Config.ZstdLevel);
            int workers = Workers(options.Parallelism);
            var created = DateTime.UtcNow;
            var clock = Stopwatch.StartNew();
            log.Logger.Information("Capturing {Source} ({Device}, {Size} bytes) into {Repository} as {ImageId}", sourceName, source.Path, size, repo.Root, imageId);

            var pool = ArrayPool<byte>.Create(chunkSize, workers * 2 + 4);
            var seen = new HashSet<ulong>();
            long zeroChunks = 0, stored = 0, added = 0, chunks = 0, bytesDone = 0;
            long total = ImageIndexWriter.ChunkCount(size, chunkSize);
            var meter = new ProgressMeter(observer, $"Capturing {sourceName}");
            var partial = repo.IndexPath(imageId) + ".partial";
            string indexSha, volumeSha;
            try
            {
                using (var volume = options.VolumeDigest ? SHA256.Create() : null)
                using (var idx = new ImageIndexWriter(partial, chunkSize, size))
                {
                    long offset = 0, index = 0;
                    OrderedPipeline.Run<CaptureItem>(
                        produce: () =>
                        {
                            if (offset >= size) return null;
                            int n = (int)Math.Min(chunkSize, size - offset);
                            var buf = pool.Rent(chunkSize);
                            int got;
                            try { got = source.Read(offset, buf, n); }
                            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException) { throw Fail.FromIo(e, sourceName); }
                            if (got != n)
                                throw Fail.InvalidData("SourceChanged", $"'{sourceName}' ended at {offset + got} bytes, before its size {size}: it shrank while it was read.", sourceName);
                            var item = new CaptureItem { Index = index++, Buffer = buf, Count = n };
                            offset += n;
                            return item;
                        },
                        work: it => StoreChunk(repo, it, seen, compress, level),
                        complete: it =>
                        {
                            volume?.TransformBlock(it.Buffer, 0, it.Count, null, 0);
                            idx.Add(it.Hash);
                            if (it.Hash == null) zeroChunks++;
                            stored += it.StoredBytes;
                            added += it.NewBytes;
                            chunks++;
                            bytesDone += it.Count;
                            pool.Return(it.Buffer);
                            meter.Report("Hashing, deduplicating, compressing", bytesDone, size, chunks, total, sourceName);
                        },
                        workers, ct);
                    indexSha = idx.Complete();
                    volume?.TransformFinalBlock(Array.Empty<byte>(), 0, 0);
                    volumeSha = volume != null ? Hex.Encode(volume.Hash!) : "";
                }
                File.Move(partial, repo.IndexPath(imageId));
            }
            catch
            {
                try { if (File.Exists(partial)) File.Delete(partial); } catch (IOException) { }
                meter.Completed("Stopped");
                throw;
            }

            // Chunks and chunk list reach stable storage before the manifest commits the image.
            LinuxBlockDevice.SyncFileSystem(repo.Root);
            if (!repoLock.IsHeld)
            {
                try { File.Delete(repo.IndexPath(imageId)); } catch (IOException) { }
                throw new NekkBackupException("RepositoryLockLost", FailureKind.ResourceUnavailable,
                    $"The capture's lock on '{repo.Root}' was lost (the machine slept or the share dropped for over {RepositoryLock.StaleAfter.TotalMinutes:N0} minutes), so garbage collection may have removed chunks it reuses. No image was written; run the capture again.", repo.Root)
                { IsTransient = true };
            }
            var manifest = new ImageManifest
            {
                ImageId = imageId,
                Source = sourceName,
                Device = source.Path,
                Host = OperatingSystemInfo.HostName,
                Created = created,
                Finished = DateTime.UtcNow,
                SizeBytes = size,
                ChunkSize = chunkSize,
                Chunks = chunks,
                ZeroChunks = zeroChunks,
                StoredBytes = stored,
                NewBytes = added,
                DurationMs = clock.ElapsedMilliseconds,
                Tags = options.Tags?.Where(t => !string.IsNullOrWhiteSpace(t)).ToArray() ?? Array.Empty<string>(),
                Compression = compress ? "zstd" : "none",
                VolumeSha256 = volumeSha,
                IndexFile = Path.GetFileName(repo.IndexPath(imageId)),
                IndexSha256 = indexSha,
                Plugins = inventory,
                Mode = allocation != null ? UsedBlocks.UsedBlocksName : UsedBlocks.AllBlocksName,
                Allocation = allocation,
            };
            RepositoryLayout.WriteJsonAtomic(repo.ManifestPath(imageId), manifest, overwrite: false);
            meter.Completed("Done");
            log.Logger.Information("Image {ImageId}: {Chunks} chunks ({ZeroChunks} zero), {Stored} bytes stored, {New} new, in {Ms} ms",
                imageId, chunks, zeroChunks, stored, added, clock.ElapsedMilliseconds);
            return ToImage(manifest, repo);
        }

        private static void StoreChunk(RepositoryLayout repo, CaptureItem it, HashSet<ulong> seen, bool compress, int level)
        {
            if (Hex.IsAllZero(it.Buffer, it.Count)) return; // all-zero chunks are stored as nothing
            var hash = ChunkStore.Hash(it.Buffer, it.Count);
            it.Hash = hash;
            bool first;
            lock (seen) first = seen.Add(Hex.Prefix(hash));
            var path = repo.ChunkPath(hash);
            if (!first)
            {
                // Already counted in this image. Same 64-bit prefix almost surely means same chunk; the
                // existence check makes a prefix collision (or a racing writer) safe: write if absent.
                if (!File.Exists(path))
                {
                    var (made, len) = ChunkStore.Write(path, it.Buffer, it.Count, compress, level);
                    if (made) it.NewBytes = len;
                }
                return;
            }
            var fi = new FileInfo(path);
            if (fi.Exists)
            {
                it.StoredBytes = fi.Length;
                return;
            }
            var (created, length) = ChunkStore.Write(path, it.Buffer, it.Count, compress, level);
            it.StoredBytes = length;
            if (created) it.NewBytes = length;
        }

        private static string NewImageId() =>
            DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'") + "-" + Guid.NewGuid().ToString("N").Substring(0, 8);

        private static GhostImage ToImage(ImageManifest m, RepositoryLayout repo) => new()
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
            Repository = repo.Root,
            Mode = UsedBlocks.ModeOf(m),
            UsedBytes = m.Allocation?.UsedBytes ?? m.SizeBytes,
        };

        // ------------------------------------------------------------------ list

        public static IReadOnlyList<GhostImage> List(string repository, IRunObserver? observer = null)
        {
            var repo = RepositoryLayout.Open(repository);
            return repo.ReadManifests((f, e) => observer?.ItemFailed(f, Fail.InvalidData("ManifestCorrupt", $"Unreadable manifest '{f}': {e.Message}", f, e)))
                .Select(m => ToImage(m, repo)).ToList();
        }

        /// <summary>The plugin/licence inventory recorded with an image (null when it was skipped).</summary>
        public static PluginInventory? GetPluginInventory(string repository, string imageId) =>
            RepositoryLayout.Open(repository).ReadManifest(imageId).Plugins;

        // ------------------------------------------------------------------ restore

        private sealed class ChunkItem
        {
            public long Index;
            public int Count;
            public bool Zero;
            public byte[] Hash = new byte[32];
            public byte[]? Buffer;
            public ChunkException? Error;
        }

        public static Task<GhostRestoreResult> RestoreAsync(string repository, string imageId, string target, GhostRestoreFormat format, bool force,
            IRunObserver? observer, CancellationToken cancellationToken, int parallelism = 0) =>
            Dedicated(() => Restore(repository, imageId, target, format, force, observer ?? NullRunObserver.Instance, cancellationToken, parallelism), cancellationToken);

        private static GhostRestoreResult Restore(string repository, string imageId, string target, GhostRestoreFormat format, bool force,
            IRunObserver outer, CancellationToken ct, int parallelism)
        {
            // Validate the target before anything is written (the cmdlet ran the same check before it asked).
            var check = GhostRestoreCheck.Validate(repository, imageId, target, format, force);
            if (!check.IsDevice && File.Exists(target) && !force)
                throw new NekkBackupException("TargetExists", FailureKind.ResourceExists, $"The target file '{target}' exists; use -Force to overwrite it.", target);
            var repo = check.Repository;
            var m = check.Manifest;
            var runId = RunLog.NewRunId();
            using var log = RunLog.Open(runId, "GhostRestore");
            var observer = log.Wrap(outer);

            bool vhd = format == GhostRestoreFormat.Vhd;
            long volumeOffset = check.VolumeOffset;
            long needed = check.NeededBytes;
            var windowsDevice = check.WindowsDevice;
            bool isDevice = check.IsDevice;

            using var repoLock = RepositoryLock.AcquireShared(repo, "restore");
            using var index = ImageIndexReader.Open(repo, m);
            IBlockTarget sink;
            string? partial = null;
            if (windowsDevice != null) sink = WindowsVolume.Open(windowsDevice, write: true, index.ChunkSize);
            else if (isDevice) sink = new StreamTarget(new FileStream(target, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, 1), device: true);
            else
            {
                partial = target + ".nekk-partial";
                if (File.Exists(partial)) File.Delete(partial);
                var fs = new FileStream(partial, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1);
                fs.SetLength(needed); // reads as zeros: zero chunks need no write (and stay sparse)
                sink = new StreamTarget(fs, device: false);
            }
            if (sink.Capacity is long cap && cap < needed)
            {
                sink.Dispose();
                throw GhostRestoreCheck.TooSmall(target, cap, imageId, needed);
            }

            var clock = Stopwatch.StartNew();
            var meter = new ProgressMeter(observer, $"Restoring {imageId}");
            log.Logger.Information("Restoring {ImageId} from {Repository} to {Target} as {Format}", imageId, repo.Root, target, format);
            try
            {
                using (sink)
                {
                    if (vhd) sink.Write(0, Vhd.MasterBootRecord(m.SizeBytes, Vhd.RandomDiskSignature()), 512);
                    string volumeSha = StreamImage(repo, m, index, Workers(parallelism), ct, (it, buf) =>
                    {
                        if (it.Error != null)
                            throw new NekkBackupException("ChunkCorrupt", FailureKind.InvalidData,
                                $"Image '{imageId}' chunk {it.Index} ({Hex.Encode(it.Hash)}) is {it.Error.Problem.ToLowerInvariant()}: {it.Error.Message}. Run Test-NekkGhostImage.", imageId);
                        if (!it.Zero || sink.WritesZeros) sink.Write(volumeOffset + it.Index * index.ChunkSize, buf, it.Count);
                    }, (done, n) => meter.Report("Writing", done, m.SizeBytes, n, index.Count, target), volumeDigest: m.VolumeSha256.Length > 0);
                    if (m.VolumeSha256.Length > 0 && !string.Equals(volumeSha, m.VolumeSha256, StringComparison.OrdinalIgnoreCase))
                        throw new NekkBackupException("ChunkCorrupt", FailureKind.InvalidData, $"The restored volume of '{imageId}' does not match the digest recorded at capture.", imageId);
                    if (vhd)
                    {
                        long disk = Vhd.DiskSize(m.SizeBytes);
                        sink.Write(disk, Vhd.Footer(disk, DateTime.UtcNow, Vhd.RandomUniqueId()), 512);
                    }
                    sink.Complete();
                }
                if (partial != null)
                {
#if NET
                    File.Move(partial, target, overwrite: true);
#else
                    if (File.Exists(target)) File.Delete(target);
                    File.Move(partial, target);
#endif
                }
            }
            catch
            {
                if (partial != null) { try { File.Delete(partial); } catch (IOException) { } }
                meter.Completed("Stopped");
                throw;
            }
            meter.Completed("Done");
            log.Logger.Information("Restored {ImageId} to {Target} in {Ms} ms", imageId, target, clock.ElapsedMilliseconds);
            return new GhostRestoreResult
            {
                ImageId = imageId,
                Target = target,
                Format = format.ToString(),
                SizeBytes = needed,
                VolumeOffset = volumeOffset,
                VolumeSha256 = m.VolumeSha256,
                Duration = clock.Elapsed,
            };
        }

        /// <summary>
        /// Streams an image in volume order: chunks are read, decompressed and verified in parallel, and
        /// handed to <paramref name="onChunk"/> in order (zero chunks as a zero buffer). Returns the SHA-256
        /// of the reconstructed volume. A bad chunk arrives with <see cref="ChunkItem.Error"/> set and zeros.
        /// </summary>
        private static string StreamImage(RepositoryLayout repo, ImageManifest m, ImageIndexReader index, int workers, CancellationToken ct,
            Action<ChunkItem, byte[]> onChunk, Action<long, long>? progress, bool volumeDigest = true)
        {
            var pool = ArrayPool<byte>.Create(index.ChunkSize, workers * 2 + 4);
            var zero = new byte[index.ChunkSize];
            long done = 0, n = 0;
            using var volume = volumeDigest ? SHA256.Create() : null;
            OrderedPipeline.Run<ChunkItem>(
                produce: () =>
                {
                    var it = new ChunkItem();
                    if (!index.Next(it.Hash, out it.Index, out it.Zero)) return null;
                    it.Count = index.LengthOf(it.Index);
                    if (!it.Zero) it.Buffer = pool.Rent(index.ChunkSize);
                    return it;
                },
                work: it =>
                {
                    if (it.Zero) return;
                    try { ChunkStore.Read(repo.ChunkPath(it.Hash), it.Hash, it.Buffer!, it.Count); }
                    catch (ChunkException e)
                    {
                        it.Error = e;
                        Array.Clear(it.Buffer!, 0, it.Count);
                    }
                },
                complete: it =>
                {
                    var buf = it.Zero ? zero : it.Buffer!;
                    volume?.TransformBlock(buf, 0, it.Count, null, 0);
                    onChunk(it, buf);
                    if (!it.Zero) pool.Return(it.Buffer!);
                    done += it.Count;
                    n++;
                    progress?.Invoke(done, n);
                },
                workers, ct);
            if (volume == null) return "";
            volume.TransformFinalBlock(Array.Empty<byte>(), 0, 0);
            return Hex.Encode(volume.Hash!);
        }

        private sealed class StreamTarget : IBlockTarget
        {
            private readonly FileStream _fs;
            private readonly bool _device;

            public StreamTarget(FileStream fs, bool device)
            {
                _fs = fs;
                _device = device;
                Capacity = device ? LinuxBlockDevice.GetSize(fs.SafeFileHandle) : null;
            }

            public long? Capacity { get; }
            public bool WritesZeros => _device;

            public void Write(long offset, byte[] buffer, int count)
            {
                if (_fs.Position != offset) _fs.Position = offset;
                _fs.Write(buffer, 0, count);
            }

            public void Complete() => _fs.Flush(true);

            public void Dispose() => _fs.Dispose();
        }

        // ------------------------------------------------------------------ test / drill

        public static Task<GhostImageTestResult> TestAsync(string repository, IReadOnlyList<string>? imageIds, bool full, IRunObserver? observer,
            CancellationToken cancellationToken, int parallelism = 0) =>
            Dedicated(() => Test(repository, imageIds, full, observer ?? NullRunObserver.Instance, cancellationToken, parallelism), cancellationToken);

        private static GhostImageTestResult Test(string repository, IReadOnlyList<string>? imageIds, bool full, IRunObserver outer, CancellationToken ct, int parallelism)
        {
            var repo = RepositoryLayout.Open(repository);
            var manifests = new List<ImageManifest>();
            var problems = new List<GhostImageProblem>();
            if (imageIds != null && imageIds.Count > 0)
                foreach (var id in imageIds.Distinct()) manifests.Add(repo.ReadManifest(id)); // ImageNotFound before any work
            else
                manifests.AddRange(repo.ReadManifests((f, e) => problems.Add(new GhostImageProblem
                {
                    ImageId = Path.GetFileNameWithoutExtension(f), ChunkIndex = -1, Problem = "ManifestCorrupt", Message = e.Message,
                })));

            var runId = RunLog.NewRunId();
            using var log = RunLog.Open(runId, full ? "GhostDrill" : "GhostTest");
            var observer = log.Wrap(outer);
            using var repoLock = RepositoryLock.AcquireShared(repo, full ? "drill" : "test");
            var started = DateTime.UtcNow;
            var clock = Stopwatch.StartNew();
            int workers = Workers(parallelism);
            long chunksChecked = 0, bytesVerified = 0;
            long totalBytes = manifests.Sum(x => x.SizeBytes);
            var meter = new ProgressMeter(observer, full ? "Restore drill" : "Checking chunks");
            var drills = new List<string>();
            // Non-full: each distinct chunk is verified once (compact prefix set); results remembered for bad ones.
            var good = new HashSet<ulong>();
            var bad = new Dictionary<string, ChunkException>(StringComparer.Ordinal);
            long before = 0;

            foreach (var m in manifests)
            {
                ct.ThrowIfCancellationRequested();
                var imageProblems = new List<GhostImageProblem>();
                var imageStart = DateTime.UtcNow;
                long imageBytes = 0, imageChunks = 0;
                string actual = "";
                try
                {
                    using var index = ImageIndexReader.Open(repo, m);
                    if (full)
                    {
                        actual = StreamImage(repo, m, index, workers, ct, (it, buf) =>
                        {
                            imageChunks++;
                            if (it.Error != null) imageProblems.Add(Problem(m, it.Index, it.Hash, it.Error));
                            else imageBytes += it.Count;
                        }, (done, n) => meter.Report(m.ImageId, before + done, totalBytes, n, index.Count, m.ImageId));
                        if (imageProblems.Count == 0 && m.VolumeSha256.Length > 0 && !string.Equals(actual, m.VolumeSha256, StringComparison.OrdinalIgnoreCase))
                            imageProblems.Add(new GhostImageProblem
                            {
                                ImageId = m.ImageId, ChunkIndex = -1, Problem = "VolumeDigestMismatch",
                                Message = $"reconstructed volume SHA-256 {actual} differs from {m.VolumeSha256} recorded at capture",
                            });
                        if (imageProblems.Count == 0 && UsedBlocks.Drill(repo, m, ct) is { } unallocated) imageProblems.Add(unallocated);
                    }
                    else
                    {
                        CheckChunks(repo, m, index, workers, ct, good, bad, imageProblems, ref imageChunks, ref imageBytes,
                            done => meter.Report(m.ImageId, before + done, totalBytes, 0, 0, m.ImageId));
                    }
                }
                catch (NekkBackupException e) when (e.ErrorId == "NekkBackup.IndexCorrupt")
                {
                    imageProblems.Add(new GhostImageProblem { ImageId = m.ImageId, ChunkIndex = -1, Problem = "IndexCorrupt", Message = e.Message });
                }
                catch (IOException e)
                {
                    imageProblems.Add(new GhostImageProblem { ImageId = m.ImageId, ChunkIndex = -1, Problem = "IndexCorrupt", Message = e.Message });
                }
                before += m.SizeBytes;
                chunksChecked += imageChunks;
                bytesVerified += imageBytes;
                foreach (var p in imageProblems) observer.ItemFailed($"{p.ImageId} chunk {p.ChunkIndex}",
                    Fail.InvalidData("ChunkCorrupt", p.ToString(), p.ImageId));
                problems.AddRange(imageProblems);
                if (full)
                {
                    var rec = new DrillRecord
                    {
                        ImageId = m.ImageId,
                        Host = OperatingSystemInfo.HostName,
                        Started = imageStart,
                        Finished = DateTime.UtcNow,
                        Status = imageProblems.Count == 0 ? "Passed" : "Failed",
                        Method = m.Allocation != null ? "stream-verify+allocation" : "stream-verify",
                        ChunksChecked = imageChunks,
                        BytesVerified = imageBytes,
                        ExpectedVolumeSha256 = m.VolumeSha256,
                        ActualVolumeSha256 = actual,
                        Problems = imageProblems.Select(p => p.ToString()).ToArray(),
                    };
                    Directory.CreateDirectory(repo.DrillsDir);
                    var path = Path.Combine(repo.DrillsDir, $"{rec.Finished:yyyyMMdd'T'HHmmss'Z'}-{m.ImageId}.json");
                    RepositoryLayout.WriteJsonAtomic(path, rec, overwrite: true);
                    drills.Add(path);
                    log.Logger.Information("Drill of {ImageId}: {Status}, {Bytes} bytes verified", m.ImageId, rec.Status, imageBytes);
                }
            }
            meter.Completed("Done");
            return new GhostImageTestResult
            {
                Repository = repo.Root,
                ImageId = manifests.Select(x => x.ImageId).ToArray(),
                Full = full,
                ChunksChecked = chunksChecked,
                BytesVerified = bytesVerified,
                Problems = problems.ToArray(),
                Status = problems.Count == 0 ? "Passed" : "Failed",
                Started = started,
                Duration = clock.Elapsed,
                DrillRecords = drills.ToArray(),
            };
        }

        private static GhostImageProblem Problem(ImageManifest m, long index, byte[] hash, ChunkException e) => new()
        {
            ImageId = m.ImageId,
            ChunkIndex = index,
            Chunk = Hex.Encode(hash),
            Problem = e.Problem,
            Message = e.Message,
        };

        private sealed class CheckItem
        {
            public long Index;
            public byte[] Hash = new byte[32];
            public int Count;
            public bool Skip;
            public ChunkException? Error;
        }

        private static void CheckChunks(RepositoryLayout repo, ImageManifest m, ImageIndexReader index, int workers, CancellationToken ct,
            HashSet<ulong> good, Dictionary<string, ChunkException> bad, List<GhostImageProblem> problems, ref long chunks, ref long bytes, Action<long> progress)
        {
            var pool = ArrayPool<byte>.Create(index.ChunkSize, workers * 2 + 4);
            long c = 0, b = 0, done = 0;
            OrderedPipeline.Run<CheckItem>(
                produce: () =>
                {
                    while (true)
                    {
                        var it = new CheckItem();
                        if (!index.Next(it.Hash, out it.Index, out var zero)) return null;
                        it.Count = index.LengthOf(it.Index);
                        done += it.Count;
                        if (zero) continue;
                        var hex = Hex.Encode(it.Hash);
                        if (bad.TryGetValue(hex, out var known)) { it.Skip = true; it.Error = known; return it; }
                        if (good.Contains(Hex.Prefix(it.Hash))) continue;
                        return it;
                    }
                },
                work: it =>
                {
                    if (it.Skip) return;
                    var buf = pool.Rent(index.ChunkSize);
                    try { ChunkStore.Read(repo.ChunkPath(it.Hash), it.Hash, buf, it.Count); }
                    catch (ChunkException e) { it.Error = e; }
                    finally { pool.Return(buf); }
                },
                complete: it =>
                {
                    c++;
                    if (it.Error != null)
                    {
                        bad[Hex.Encode(it.Hash)] = it.Error;
                        problems.Add(Problem(m, it.Index, it.Hash, it.Error));
                    }
                    else
                    {
                        good.Add(Hex.Prefix(it.Hash));
                        b += it.Count;
                    }
                    progress(done);
                },
                workers, ct);
            chunks += c;
            bytes += b;
        }

        // ------------------------------------------------------------------ remove / GC

        /// <summary>
        /// Deletes images, then (when no capture is running) every chunk no remaining image references.
        /// See docs/ghost-repository.md "Garbage collection" for why this is safe against a concurrent capture.
        /// </summary>
        public static Task<GhostRemoveResult> RemoveAsync(string repository, IReadOnlyList<string> imageIds, IRunObserver? observer, CancellationToken cancellationToken) =>
            Dedicated(() => Remove(repository, imageIds, observer ?? NullRunObserver.Instance, cancellationToken), cancellationToken);

        private static GhostRemoveResult Remove(string repository, IReadOnlyList<string> imageIds, IRunObserver outer, CancellationToken ct)
        {
            if (imageIds == null || imageIds.Count == 0) throw Fail.Argument("ImageIdMissing", "No image id was given.");
            var repo = RepositoryLayout.Open(repository);
            var ids = imageIds.Distinct().ToList();
            foreach (var id in ids) repo.ReadManifest(id); // ImageNotFound before anything is deleted
            var runId = RunLog.NewRunId();
            using var log = RunLog.Open(runId, "GhostRemove");
            var observer = log.Wrap(outer);
            using var repoLock = RepositoryLock.AcquireExclusive(repo, "remove", out var captures);

            long freed = 0;
            foreach (var id in ids)
            {
                // Manifest first: once it is gone the image no longer exists; its chunk list follows.
                freed += DeleteFile(repo.ManifestPath(id));
                freed += DeleteFile(repo.IndexPath(id));
                log.Logger.Information("Removed image {ImageId}", id);
            }
            if (captures.Count > 0)
            {
                observer.Message(RunMessageLevel.Warning,
                    $"A capture is running ({string.Join(", ", captures.Select(c => c.Host + " pid " + c.Pid))}); unreferenced chunks are kept and freed by the next Remove-NekkGhostImage.");
                return new GhostRemoveResult { Repository = repo.Root, RemovedImageIds = ids.ToArray(), FreedBytes = freed, GarbageCollectionDeferred = true };
            }

            // Mark: every chunk any remaining image references (compact 64-bit prefixes: a collision only keeps a chunk).
            var referenced = new HashSet<ulong>();
            var hash = new byte[32];
            var unreadable = new List<string>();
            foreach (var m in repo.ReadManifests((f, e) => unreadable.Add($"{Path.GetFileName(f)}: {e.Message}")))
            {
                ct.ThrowIfCancellationRequested();
                using var index = ImageIndexReader.Open(repo, m);
                while (index.Next(hash, out _, out var zero)) if (!zero) referenced.Add(Hex.Prefix(hash));
            }
            if (unreadable.Count > 0)
            {
                // An image this version cannot read (damaged, or written by a newer NekkBackup) may reference any chunk.
                observer.Message(RunMessageLevel.Warning, $"{unreadable.Count} image manifest(s) cannot be read ({unreadable[0]}); unreferenced chunks are kept.");
                return new GhostRemoveResult { Repository = repo.Root, RemovedImageIds = ids.ToArray(), FreedBytes = freed, GarbageCollectionDeferred = true };
            }
            // Sweep.
            long deleted = 0;
            var meter = new ProgressMeter(observer, "Freeing unreferenced chunks");
            for (int d = 0; d < 256; d++)
            {
                ct.ThrowIfCancellationRequested();
                var dir = Path.Combine(repo.ChunksDir, d.ToString("x2"));
                if (!Directory.Exists(dir)) continue;
                foreach (var f in Directory.EnumerateFiles(dir))
                {
                    var name = Path.GetFileName(f);
                    bool orphanTemp = name.StartsWith(".tmp-", StringComparison.Ordinal);
                    if (!orphanTemp && (name.Length != 64 || !Hex.TryDecode(name, out var h) || referenced.Contains(Hex.Prefix(h)))) continue;
                    freed += DeleteFile(f);
                    if (!orphanTemp) deleted++;
                }
                meter.Report($"Sweeping chunks/{d:x2} ({deleted:N0} deleted)", 0, 0, d + 1, 256);
            }
            // Chunk lists of captures that were killed (no live capture can own them: we hold the exclusive lock).
            foreach (var f in Directory.EnumerateFiles(repo.ImagesDir, "*.partial")) freed += DeleteFile(f);
            meter.Completed("Done");
            log.Logger.Information("Garbage collection deleted {Chunks} chunks, freed {Bytes} bytes", deleted, freed);
            return new GhostRemoveResult { Repository = repo.Root, RemovedImageIds = ids.ToArray(), FreedBytes = freed, ChunksDeleted = deleted };
        }

        private static long DeleteFile(string path)
        {
            try
            {
                var fi = new FileInfo(path);
                if (!fi.Exists) return 0;
                long len = fi.Length;
                fi.Delete();
                return len;
            }
            catch (IOException) { return 0; }
        }
    }
}
