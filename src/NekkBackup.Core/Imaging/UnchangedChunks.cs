using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Imaging.Allocation;
using NekkBackup.Core.Observability;

namespace NekkBackup.Core.Imaging
{
    /// <summary>
    /// A used-block capture's change detection by file-system metadata (docs/ghost-repository.md "Second captures"):
    /// the volume's file table is compared with the one read back from the previous UsedBlocks image of the same source,
    /// and a chunk is taken from that image without being read when its used blocks are exactly the previous image's used
    /// blocks there and every one of them holds data of a file whose metadata did not change. Everything else — metadata,
    /// directories, the journal, changed, new or untrusted files, files changed within a clock tick or so of the previous
    /// snapshot's newest change (<see cref="FileTable.RacyWindow"/>: a write in the same tick would not show) — is read as before.
    /// </summary>
    internal sealed class UnchangedChunks : IDisposable
    {
        /// <summary>Captures in a row that may compare; the next one reads every used block again.</summary>
        public const int MaxChain = 4;

        private readonly ulong[] _bits;
        private readonly ImageIndexReader _index;
        private long _at = -1;
        private ChunkId _id;

        private UnchangedChunks(ImageManifest previous, ulong[] bits, ImageIndexReader index)
        {
            Previous = previous;
            _bits = bits;
            _index = index;
        }

        public ImageManifest Previous { get; }

        public int Chain => (Previous.Compared?.Chain ?? 0) + 1;

        public bool IsUnchanged(long index) => (_bits[index >> 6] & (1UL << (int)(index & 63))) != 0;

        /// <summary>
        /// Is chunk <paramref name="index"/> unchanged? Then <paramref name="id"/> is the previous image's chunk there (null:
        /// all zeros). Asked in increasing order: the chunk list the comparison checked and read is moved back once, to the
        /// first unchanged chunk, and read forward from there.
        /// </summary>
        public bool Take(long index, out ChunkId? id)
        {
            id = null;
            if (!IsUnchanged(index)) return false;
            if (_at < 0)
            {
                _index.At(index, out _id);
                _at = index;
            }
            while (_at < index)
                if (!_index.Next(out _id, out _at, out _)) throw new InvalidOperationException($"chunk {index} lies past the earlier image's chunk list");
            id = _id.IsZero ? null : _id;
            return true;
        }

        public void Dispose() => _index.Dispose();

        /// <summary>
        /// The unchanged chunks of <paramref name="source"/> against the newest comparable image, or null (with a Verbose note
        /// saying why) when every used block must be read. Never throws for what the volume or the repository holds.
        /// </summary>
        public static UnchangedChunks? Plan(ImageRepository repo, IBlockSource source, IAllocationMap map, string sourceName, Func<KnownChunks> known,
            IRunObserver observer, CancellationToken ct)
        {
            int chunkSize = repo.Config.ChunkSize;
            var previous = repo.ReadManifests(null, ct).LastOrDefault(m => m.Mode == UsedBlocks.UsedBlocksName && m.Source == sourceName
                && string.Equals(m.Host, OperatingSystemInfo.HostName, StringComparison.OrdinalIgnoreCase) // machines cloned from one image share volume ids
                && m.SizeBytes == source.Length && m.ChunkSize == chunkSize && m.Allocation is { } a && a.FileSystem == map.FileSystem && a.BlockSize == map.BlockSize);
            string? why = previous == null ? "there is no earlier UsedBlocks image of this source"
                : previous.Compared?.Chain >= MaxChain ? $"the last {MaxChain} captures compared metadata, so this one reads everything"
                : null;
            if (why != null || previous == null) return Skip(observer, sourceName, why!);
            try { return Compare(repo, source, map, sourceName, previous, known, observer, ct); }
            catch (NekkBackupException e) when (e.Kind != FailureKind.OperationStopped)
            {
                return Skip(observer, sourceName, $"the earlier image {previous.ImageId} could not be read back ({e.Message})");
            }
            catch (System.IO.IOException e) { return Skip(observer, sourceName, $"the earlier image {previous.ImageId} could not be read back ({e.Message})"); }
        }

        private static UnchangedChunks? Skip(IRunObserver observer, string sourceName, string why)
        {
            observer.Message(RunMessageLevel.Verbose, $"Change detection: every used block of '{sourceName}' is read ({why}).");
            return null;
        }

        private static UnchangedChunks? Compare(ImageRepository repo, IBlockSource source, IAllocationMap map, string sourceName, ImageManifest previous,
            Func<KnownChunks> listed, IRunObserver observer, CancellationToken ct)
        {
            // The volume's own table is read while this thread reads the earlier image's back from the repository.
            var reading = Task.Run(() => (FileTables.Read(source, out var why, ct), why), ct);
            IAllocationMap? thenMap = null;
            FileTable? then = null, now;
            string? problem, reason;
            try { problem = ReadEarlier(repo, previous, ct, out thenMap, out then); }
            finally { (now, reason) = reading.GetAwaiter().GetResult(); } // never left reading the volume beside the capture
            if (now == null) return Skip(observer, sourceName, $"its file table cannot be read: {reason}");
            if (problem != null) return Skip(observer, sourceName, problem);
            if (then!.FileSystem != now.FileSystem || then.VolumeId != now.VolumeId)
                return Skip(observer, sourceName, $"image {previous.ImageId} holds another file system ({then.FileSystem} {then.VolumeId}, now {now.FileSystem} {now.VolumeId})");

            var (covered, tainted) = Ranges(then, now);
            var known = listed();
            long chunks = ImageIndexWriter.ChunkCount(source.Length, previous.ChunkSize);
            var bits = new ulong[(chunks + 63) >> 6];
            long count = 0;
            // Checked against its manifest once, read here, and handed on: the capture takes the unchanged chunks' ids from it.
            var index = ImageIndexReader.Open(repo, previous);
            try
            {
                for (long c = 0; c < chunks; c++)
                {
                    if ((c & 4095) == 0) ct.ThrowIfCancellationRequested();
                    index.Next(out var id, out _, out bool zero);
                    long at = c * previous.ChunkSize;
                    int len = (int)Math.Min(previous.ChunkSize, source.Length - at);
                    if (!zero && !known.Has(id)) continue;
                    if (!Unchanged(map.UsedRuns(at, len), thenMap!.UsedRuns(at, len), covered, tainted)) continue;
                    bits[c >> 6] |= 1UL << (int)(c & 63);
                    count++;
                }
            }
            catch
            {
                index.Dispose();
                throw;
            }
            observer.Message(RunMessageLevel.Verbose,
                $"Change detection: {now.Files.Count:N0} files compared with image {previous.ImageId}; {count:N0} of {chunks:N0} chunks hold only unchanged files' data and are not read.");
            return new UnchangedChunks(previous, bits, index);
        }

        /// <summary>The earlier image's allocation map (checked against its manifest) and file table, read back from the repository; or why not.</summary>
        private static string? ReadEarlier(ImageRepository repo, ImageManifest previous, CancellationToken ct, out IAllocationMap? map, out FileTable? table)
        {
            table = null;
            using var image = new ImageBlockSource(repo, previous);
            var probe = AllocationMaps.Read(image, ct);
            map = probe.Map;
            if (map == null) return $"the allocation map of image {previous.ImageId} cannot be read back: {probe.Reason}";
            if (!string.Equals(UsedBlocks.Describe(map).RunsSha256, previous.Allocation!.RunsSha256, StringComparison.OrdinalIgnoreCase))
                return $"image {previous.ImageId}'s own bitmap differs from the map its capture followed";
            table = FileTables.Read(image, out var reason, ct);
            return table == null ? $"the file table of image {previous.ImageId} cannot be read back: {reason}" : null;
        }

        /// <summary>
        /// Ranges of files unchanged in both tables (same number, same fingerprint, last changed well before the earlier
        /// snapshot's newest change), and every other range either table maps.
        /// </summary>
        internal static (AllocationRun[] covered, AllocationRun[] tainted) Ranges(FileTable then, FileTable now)
        {
            long racy = then.NewestChange > long.MinValue + then.RacyWindow ? then.NewestChange - then.RacyWindow : long.MinValue;
            var covered = new List<AllocationRun>();
            var tainted = new List<AllocationRun>(then.Others);
            tainted.AddRange(now.Others);
            foreach (var kv in now.Files)
            {
                bool same = then.Files.TryGetValue(kv.Key, out var old) && old.Fingerprint.Equals(kv.Value.Fingerprint) && old.Changed < racy;
                (same ? covered : tainted).AddRange(kv.Value.Runs);
            }
            foreach (var kv in then.Files)
                if (!now.Files.TryGetValue(kv.Key, out var cur) || !cur.Fingerprint.Equals(kv.Value.Fingerprint)) tainted.AddRange(kv.Value.Runs);
            return (Normalize(covered), Normalize(tainted));
        }

        /// <summary>A chunk is unchanged when its used ranges are the same as before and each lies wholly in covered ranges and in no tainted one.</summary>
        internal static bool Unchanged(IEnumerable<AllocationRun> nowRuns, IEnumerable<AllocationRun> thenRuns, AllocationRun[] covered, AllocationRun[] tainted)
        {
            var a = nowRuns.ToList();
            if (a.Count == 0 || !a.SequenceEqual(thenRuns)) return false;
            foreach (var r in a)
            {
                int i = LastStartingAtOrBefore(covered, r.Offset);
                if (i < 0 || covered[i].End < r.End) return false;
                int j = LastStartingAtOrBefore(tainted, r.End - 1);
                if (j >= 0 && tainted[j].End > r.Offset) return false;
            }
            return true;
        }

        /// <summary>Sorted by offset, overlapping and adjacent ranges merged.</summary>
        internal static AllocationRun[] Normalize(List<AllocationRun> runs)
        {
            runs.Sort((x, y) => x.Offset.CompareTo(y.Offset));
            var merged = new List<AllocationRun>(runs.Count);
            foreach (var r in runs)
            {
                if (r.Length <= 0) continue;
                if (merged.Count > 0 && merged[merged.Count - 1].End >= r.Offset)
                {
                    var last = merged[merged.Count - 1];
                    merged[merged.Count - 1] = new AllocationRun(last.Offset, Math.Max(last.End, r.End) - last.Offset);
                }
                else merged.Add(r);
            }
            return merged.ToArray();
        }

        private static int LastStartingAtOrBefore(AllocationRun[] runs, long offset)
        {
            int lo = 0, hi = runs.Length - 1, found = -1;
            while (lo <= hi)
            {
                int mid = (lo + hi) >> 1;
                if (runs[mid].Offset <= offset) { found = mid; lo = mid + 1; }
                else hi = mid - 1;
            }
            return found;
        }
    }
}
