using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Imaging
{
    public enum GhostCompression
    {
        Zstd,
        None,
    }

    /// <summary>
    /// What a capture reads (docs/ghost-repository.md "Capture modes"). AllBlocks: every byte, bit for bit.
    /// UsedBlocks: only what the ext2/3/4 or NTFS allocation bitmap marks used; free space is stored as zeros
    /// (falls back to AllBlocks, with a Verbose note, where no bitmap can be trusted).
    /// </summary>
    public enum GhostCaptureMode
    {
        AllBlocks,
        UsedBlocks,
    }

    /// <summary>
    /// How a UsedBlocks capture finds what changed since the previous image of the same volume (docs/ghost-repository.md
    /// "Second captures"). FileSystem: compares the file system's own metadata with the previous image's and does not read
    /// the data of files whose metadata is unchanged (as Macrium Reflect compares MFTs and Acronis' fast incremental does);
    /// every fifth capture in a row, and any capture without a comparable earlier image, reads every used block.
    /// Contents: reads and hashes every used block. AllBlocks captures always read every block.
    /// </summary>
    public enum GhostChangeDetection
    {
        FileSystem,
        Contents,
    }

    public enum GhostRestoreFormat
    {
        Raw,
        Vhd,
    }

    public sealed class GhostCaptureOptions
    {
        /// <summary>Volume (\\.\C:), block device (/dev/sda2), or disk-image file.</summary>
        public string Source { get; init; } = "";
        /// <summary>Repository directory (NAS path). Created (initialised) when absent or empty.</summary>
        public string Repository { get; init; } = "";
        public GhostCompression Compression { get; init; } = GhostCompression.Zstd;
        /// <summary>AllBlocks (default, bit for bit) or UsedBlocks (allocated blocks only; free space as zeros).</summary>
        public GhostCaptureMode Mode { get; init; } = GhostCaptureMode.AllBlocks;
        /// <summary>UsedBlocks only: FileSystem (default; unchanged files' data is not read again) or Contents (every used block read).</summary>
        public GhostChangeDetection ChangeDetection { get; init; } = GhostChangeDetection.FileSystem;
        public IReadOnlyList<string> Tags { get; init; } = Array.Empty<string>();
        /// <summary>Optional snapshot hook (LVM/VSS): given Source, returns a device to read instead and a release.</summary>
        public Func<string, CancellationToken, Task<(string devicePath, IDisposable release)>>? Snapshot { get; init; }
        /// <summary>Worker threads for hashing/compression; default the processor count.</summary>
        public int Parallelism { get; init; }
        /// <summary>Plugin folders to scan instead of the platform defaults (also NEKKBACKUP_PLUGIN_PATHS).</summary>
        public IReadOnlyList<string>? PluginPaths { get; init; }
        /// <summary>A folder laid out like a system drive to look for licence tools in (also NEKKBACKUP_TOOL_ROOT).</summary>
        public string? ToolRoot { get; init; }
        /// <summary>Skip the plugin/licence inventory.</summary>
        public bool SkipPluginInventory { get; init; }
        /// <summary>Chunk size for a NEW repository (existing ones keep theirs). Default 256 KiB.</summary>
        public int ChunkSize { get; init; }
        /// <summary>
        /// Also compute the SHA-256 of the whole volume (comparable with `sha256sum /dev/…`). Off by default:
        /// it is one serial hash pass over every byte and caps capture speed; integrity does not need it
        /// (every chunk is verified against its SHA-256 and the chunk list against the manifest).
        /// </summary>
        public bool VolumeDigest { get; init; }
        /// <summary>Zstd level for compressed chunks (default 1: fastest; see docs/ghost-repository.md).</summary>
        public int ZstdLevel { get; init; }

        /// <summary>Every rule on the options, in one place, before anything is read or written.</summary>
        public void Validate() => Validate(requireSource: true);

        /// <summary>As <see cref="Validate()"/>; a caller that brings its own opened source needs no <see cref="Source"/>.</summary>
        internal void Validate(bool requireSource)
        {
            if (requireSource && string.IsNullOrWhiteSpace(Source))
                throw Fail.Argument("SourceMissing", "No source volume, device or image file was given.");
            if (string.IsNullOrWhiteSpace(Repository))
                throw Fail.Argument("RepositoryMissing", "No repository path was given.");
            if (ChunkSize != 0) CheckChunkSize(ChunkSize);
            if (ZstdLevel < 0 || ZstdLevel > 22)
                throw Fail.Argument("InvalidZstdLevel", $"The Zstd level must be 1 to 22 (or 0 for the repository's); {ZstdLevel} was given.", ZstdLevel);
            if (Parallelism < 0)
                throw Fail.Argument("InvalidParallelism", $"Parallelism must be 0 (one worker per core) or more; {Parallelism} was given.", Parallelism);
        }

        /// <summary>A new repository's chunk size: a multiple of 4096 bytes, at most 64 MiB.</summary>
        internal static void CheckChunkSize(int chunkSize)
        {
            if (chunkSize <= 0 || chunkSize % 4096 != 0 || chunkSize > (64 << 20))
                throw Fail.Argument("InvalidChunkSize", "The chunk size must be a multiple of 4096 bytes and at most 64 MiB.", chunkSize);
        }
    }
}
