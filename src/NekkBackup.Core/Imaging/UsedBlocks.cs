using System;
using System.Security.Cryptography;
using System.Threading;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Imaging.Allocation;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Primitives;

namespace NekkBackup.Core.Imaging
{
    /// <summary>
    /// The capture and drill hooks of used-block mode (docs/ghost-repository.md "Capture modes"): which
    /// source a capture really reads and what its manifest records, and the drill's check that a used-block
    /// image's own allocation bitmaps agree with the map the capture followed.
    /// </summary>
    internal static class UsedBlocks
    {
        public const string AllBlocksName = "AllBlocks", UsedBlocksName = "UsedBlocks";

        /// <summary>
        /// For UsedBlocks: reads the allocation map and returns a source that zeroes free space, or — for a
        /// live mounted volume or a file system without a trusted map — the source itself, with a Verbose note.
        /// </summary>
        public static (IBlockSource source, ImageAllocation? allocation, IAllocationMap? map) Prepare(IBlockSource source, string sourceName, GhostCaptureMode mode,
            IRunObserver observer, CancellationToken ct)
        {
            if (mode != GhostCaptureMode.UsedBlocks) return (source, null, null);
            var live = LiveReason(source.Path, OperatingSystemInfo.IsWindows, MountCheck.FindMount);
            var probe = live == null ? AllocationMaps.Read(source, ct) : null;
            if (probe?.Map == null)
            {
                observer.Message(RunMessageLevel.Verbose, $"UsedBlocks: every block of '{sourceName}' is read instead ({live ?? probe!.Reason}).");
                return (source, null, null);
            }
            var map = probe.Map;
            var allocation = Describe(map);
            observer.Message(RunMessageLevel.Verbose,
                $"UsedBlocks: {map.FileSystem} on '{sourceName}', {ByteSize.Format(allocation.UsedBytes)} of {ByteSize.Format(map.Length)} in use ({map.BlockSize}-byte blocks); free space is stored as zeros without being read.");
            return (new UsedBlockSource(source, map), allocation, map);
        }

        /// <summary>Why a source must not be read by its bitmap (it is live: mounted, or a Windows volume without a snapshot), or null.</summary>
        internal static string? LiveReason(string devicePath, bool windows, Func<string, string?> findMount)
        {
            if (windows)
            {
                var dev = WindowsDevicePath.ToDevicePath(devicePath);
                return dev != null && dev.IndexOf("HarddiskVolumeShadowCopy", StringComparison.OrdinalIgnoreCase) < 0
                    ? $"'{devicePath}' is a live volume read without a snapshot, so its bitmap may not match the blocks read after it"
                    : null;
            }
            var at = findMount(devicePath);
            return at != null ? $"'{devicePath}' is mounted at {at} and read live, so its bitmap may not match the blocks read after it" : null;
        }

        public static ImageAllocation Describe(IAllocationMap map)
        {
            using var sha = SHA256.Create();
            var b = new byte[16];
            long runs = 0, used = 0;
            foreach (var r in map.UsedRuns(0, map.Length))
            {
                WriteLe(b, 0, r.Offset);
                WriteLe(b, 8, r.Length);
                sha.TransformBlock(b, 0, 16, null, 0);
                runs++;
                used += r.Length;
            }
            sha.TransformFinalBlock(Array.Empty<byte>(), 0, 0);
            return new ImageAllocation { FileSystem = map.FileSystem, BlockSize = map.BlockSize, UsedBytes = used, Runs = runs, RunsSha256 = Hex.Encode(sha.Hash!) };
        }

        private static void WriteLe(byte[] b, int at, long v)
        {
            unchecked { for (int i = 0; i < 8; i++) b[at + i] = (byte)(v >> (8 * i)); }
        }

        public static GhostCaptureMode ModeOf(ImageManifest m) => m.Mode switch
        {
            null or AllBlocksName => GhostCaptureMode.AllBlocks,
            UsedBlocksName => GhostCaptureMode.UsedBlocks,
            _ => throw Fail.InvalidData("ManifestCorrupt", $"Image '{m.ImageId}' records an unknown capture mode '{m.Mode}'.", m.ImageId),
        };

        /// <summary>
        /// The drill's used-block check: the image's own file system, read back from the repository, must give
        /// the allocation map the capture followed, and every block that map calls free must be zeros in the
        /// image. Null when the image passes (or is an AllBlocks image).
        /// </summary>
        public static GhostImageProblem? Drill(ImageRepository repo, ImageManifest m, CancellationToken ct)
        {
            if (ModeOf(m) != GhostCaptureMode.UsedBlocks) return null;
            var recorded = m.Allocation;
            if (recorded == null) return Problem(m, -1, "AllocationMismatch", "the manifest records UsedBlocks but no allocation map");
            using var image = new ImageBlockSource(repo, m);
            var probe = AllocationMaps.Read(image, ct);
            if (probe.Map == null) return Problem(m, -1, "AllocationUnreadable", $"the image's own {probe.FileSystem} allocation bitmap cannot be read back: {probe.Reason}");
            var map = probe.Map;
            var actual = Describe(map);
            if (actual.FileSystem != recorded.FileSystem || actual.BlockSize != recorded.BlockSize || actual.UsedBytes != recorded.UsedBytes
                || !string.Equals(actual.RunsSha256, recorded.RunsSha256, StringComparison.OrdinalIgnoreCase))
                return Problem(m, -1, "AllocationMismatch",
                    $"the image's own bitmap marks {actual.UsedBytes:N0} bytes used in {actual.Runs:N0} ranges, the capture followed {recorded.UsedBytes:N0} in {recorded.Runs:N0}: blocks in use may have been stored as zeros");
            var buf = new byte[image.ChunkSize];
            long chunks = (m.SizeBytes + image.ChunkSize - 1) / image.ChunkSize;
            for (long c = 0; c < chunks; c++)
            {
                if ((c & 1023) == 0) ct.ThrowIfCancellationRequested();
                long at = c * image.ChunkSize;
                int len = (int)Math.Min(image.ChunkSize, m.SizeBytes - at);
                if (!map.IsUsed(at, len))
                {
                    if (!image.IsZeroChunk(c)) return Problem(m, c, "FreeSpaceNotZero", $"chunk {c} lies wholly in free space but holds data");
                    continue;
                }
                long pos = at;
                bool read = false;
                foreach (var r in map.UsedRuns(at, len))
                {
                    if (r.Offset > pos && !ZeroAt(image, buf, at, len, pos, r.Offset, ref read)) return Problem(m, c, "FreeSpaceNotZero", $"chunk {c} holds data in free blocks");
                    pos = r.End;
                }
                if (pos < at + len && !ZeroAt(image, buf, at, len, pos, at + len, ref read)) return Problem(m, c, "FreeSpaceNotZero", $"chunk {c} holds data in free blocks");
            }
            return null;
        }

        private static bool ZeroAt(ImageBlockSource image, byte[] buf, long chunkAt, int len, long from, long to, ref bool read)
        {
            if (!read)
            {
                if (image.Read(chunkAt, buf, len) != len) return false;
                read = true;
            }
            for (long i = from - chunkAt; i < to - chunkAt; i++) if (buf[i] != 0) return false;
            return true;
        }

        private static GhostImageProblem Problem(ImageManifest m, long chunk, string problem, string message) =>
            new() { ImageId = m.ImageId, ChunkIndex = chunk, Problem = problem, Message = message };
    }
}
