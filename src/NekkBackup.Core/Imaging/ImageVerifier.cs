using System;
using System.Buffers;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Primitives;
using NekkBackup.Core.Storage;

namespace NekkBackup.Core.Imaging
{
    /// <summary>
    /// The verify phase (Test-NekkGhostImage): a chunk check — each distinct chunk the images reference read and verified
    /// once — or, with Full, the restore drill: every image reconstructed in order through the restore's own read path
    /// (<see cref="ImageStreamer"/>), its volume digest and, for a used-block image, its own allocation bitmap compared,
    /// and the evidence written to drills/ for compliance.
    /// </summary>
    internal static class ImageVerifier
    {
        public static GhostImageTestResult Run(string repository, IReadOnlyList<string>? imageIds, bool full, IRunObserver outer, CancellationToken ct, int parallelism)
        {
            using var log = RunLog.Open(RunId.New(), full ? "GhostDrill" : "GhostTest");
            var observer = log.Wrap(outer);
            var repo = ImageRepository.Open(repository, observer, log.Logger);
            // A drill records its evidence in drills/: a link or a file there is refused before any work.
            if (full) repo.Layout?.Ensure(ImageRepository.DrillsPrefix);
            var manifests = new List<ImageManifest>();
            var problems = new List<GhostImageProblem>();
            if (imageIds != null && imageIds.Count > 0)
                foreach (var id in imageIds.Distinct()) manifests.Add(repo.ReadManifest(id, ct)); // ImageNotFound before any work
            else
                manifests.AddRange(repo.ReadManifests((f, e) => problems.Add(new GhostImageProblem
                {
                    ImageId = System.IO.Path.GetFileNameWithoutExtension(f), ChunkIndex = -1, Problem = ReasonOf(e, "ManifestCorrupt"), Message = e.Message,
                }), ct));

            using var repoLock = repo.Lock(LockMode.Shared, full ? "drill" : "test", observer, ct);
            var started = DateTime.UtcNow;
            var clock = Stopwatch.StartNew();
            int workers = GhostRepository.Workers(parallelism);
            long chunksChecked = 0, bytesVerified = 0, before = 0;
            long totalBytes = manifests.Sum(x => x.SizeBytes);
            var meter = new GhostProgress(observer, full ? "Restore drill" : "Checking chunks");
            var drills = new List<string>();
            // Without Full, each distinct chunk is verified once (compact prefix set); bad ones are remembered.
            var good = new HashSet<ulong>();
            var bad = new Dictionary<ChunkId, ChunkException>();

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
                        actual = ImageStreamer.Stream(repo, index, workers, ct, (it, buf) =>
                        {
                            imageChunks++;
                            if (it.Error != null) imageProblems.Add(Problem(m, it.Index, it.Id, it.Error));
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
                catch (NekkBackupException e) when (e.Kind != FailureKind.OperationStopped)
                {
                    imageProblems.Add(new GhostImageProblem { ImageId = m.ImageId, ChunkIndex = -1, Problem = ReasonOf(e, "IndexCorrupt"), Message = e.Message });
                }
                catch (System.IO.IOException e)
                {
                    imageProblems.Add(new GhostImageProblem { ImageId = m.ImageId, ChunkIndex = -1, Problem = "IndexCorrupt", Message = e.Message });
                }
                before += m.SizeBytes;
                chunksChecked += imageChunks;
                bytesVerified += imageBytes;
                foreach (var p in imageProblems) observer.ItemFailed($"{p.ImageId} chunk {p.ChunkIndex}", Fail.InvalidData("ChunkCorrupt", p.ToString(), p.ImageId));
                problems.AddRange(imageProblems);
                if (full)
                {
                    var rec = new DrillRecord
                    {
                        ImageId = m.ImageId, Host = OperatingSystemInfo.HostName, Started = imageStart, Finished = DateTime.UtcNow,
                        Status = imageProblems.Count == 0 ? "Passed" : "Failed",
                        Method = m.Allocation != null ? "stream-verify+allocation" : "stream-verify",
                        ChunksChecked = imageChunks, BytesVerified = imageBytes, ExpectedVolumeSha256 = m.VolumeSha256, ActualVolumeSha256 = actual,
                        Problems = imageProblems.Select(p => p.ToString()).ToArray(),
                    };
                    try { drills.Add(repo.WriteDrill(rec, ct)); }
                    catch (NekkBackupException e) when (e.Kind != FailureKind.OperationStopped)
                    {
                        // A folder, link or FIFO where the record goes, a full share: the drill is not evidence, so it fails.
                        var p = new GhostImageProblem { ImageId = m.ImageId, ChunkIndex = -1, Problem = "DrillNotRecorded", Message = $"the drill record could not be written: {e.Message}" };
                        problems.Add(p);
                        observer.ItemFailed(m.ImageId, Fail.InvalidData("DrillNotRecorded", p.ToString(), m.ImageId, e));
                    }
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

        internal static string ReasonOf(Exception e, string fallback) =>
            e is NekkBackupException n && n.ErrorId.StartsWith("NekkBackup.", StringComparison.Ordinal) ? n.ErrorId.Substring(11) : fallback;

        private static GhostImageProblem Problem(ImageManifest m, long index, ChunkId id, ChunkException e) => new()
        {
            ImageId = m.ImageId,
            ChunkIndex = index,
            Chunk = id.ToHex(),
            Problem = e.Problem,
            Message = e.Message,
        };

        private sealed class CheckItem
        {
            public long Index;
            public ChunkId Id;
            public int Count;
            public bool Skip;
            public ChunkException? Error;
        }

        private static void CheckChunks(ImageRepository repo, ImageManifest m, ImageIndexReader index, int workers, CancellationToken ct,
            HashSet<ulong> good, Dictionary<ChunkId, ChunkException> bad, List<GhostImageProblem> problems, ref long chunks, ref long bytes, Action<long> progress)
        {
            var store = new ChunkStore(repo);
            var pool = ArrayPool<byte>.Create(index.ChunkSize, workers * 2 + 4);
            long c = 0, b = 0, done = 0;
            OrderedPipeline.Run<CheckItem>(
                produce: () =>
                {
                    while (true)
                    {
                        var it = new CheckItem();
                        if (!index.Next(out it.Id, out it.Index, out var zero)) return null;
                        it.Count = index.LengthOf(it.Index);
                        done += it.Count;
                        if (zero) continue;
                        if (bad.TryGetValue(it.Id, out var known)) { it.Skip = true; it.Error = known; return it; }
                        if (good.Contains(it.Id.Prefix)) continue;
                        return it;
                    }
                },
                work: it =>
                {
                    if (it.Skip) return;
                    var buf = pool.Rent(index.ChunkSize);
                    try { store.Read(it.Id, buf, it.Count, ct); }
                    catch (ChunkException e) { it.Error = e; }
                    finally { pool.Return(buf); }
                },
                complete: it =>
                {
                    c++;
                    if (it.Error != null)
                    {
                        bad[it.Id] = it.Error;
                        problems.Add(Problem(m, it.Index, it.Id, it.Error));
                    }
                    else
                    {
                        good.Add(it.Id.Prefix);
                        b += it.Count;
                    }
                    progress(done);
                },
                workers, ct);
            chunks += c;
            bytes += b;
        }
    }
}
