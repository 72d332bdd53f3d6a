using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace NekkBackup.Core.Imaging
{
    public enum GhostCompression
    {
        Zstd,
        None,
    }

    public enum GhostRestoreFormat
    {
        Raw,
        Vhd,
    }

    /// <summary>A point-in-time view of a volume: the device to read and what to release afterwards.</summary>
    public delegate Task<(string devicePath, IDisposable release)> GhostSnapshotProvider(string source, CancellationToken cancellationToken);

    public sealed class GhostCaptureOptions
    {
        /// <summary>Volume (\\.\C:), block device (/dev/sda2), or disk-image file.</summary>
        public string Source { get; init; } = "";
        /// <summary>Repository directory (NAS path). Created (initialised) when absent or empty.</summary>
        public string Repository { get; init; } = "";
        public GhostCompression Compression { get; init; } = GhostCompression.Zstd;
        public IReadOnlyList<string> Tags { get; init; } = Array.Empty<string>();
        /// <summary>Optional snapshot hook (LVM/VSS): given Source, returns a device to read instead and a release.</summary>
        public Func<string, CancellationToken, Task<(string devicePath, IDisposable release)>>? Snapshot { get; init; }
        /// <summary>Worker threads for hashing/compression; default the processor count.</summary>
        public int Parallelism { get; init; }
        /// <summary>Plugin folders to scan instead of the platform defaults (also NEKKBACKUP_PLUGIN_PATHS).</summary>
        public IReadOnlyList<string>? PluginPaths { get; init; }
        /// <summary>Skip the plugin/licence inventory.</summary>
        public bool SkipPluginInventory { get; init; }
        /// <summary>Chunk size for a NEW repository (existing ones keep theirs). Default 1 MiB.</summary>
        public int ChunkSize { get; init; }
        /// <summary>Zstd level for compressed chunks (default 1: fastest; see docs/ghost-repository.md).</summary>
        public int ZstdLevel { get; init; }
    }

    public sealed class GhostRestoreOptions
    {
        public string Repository { get; init; } = "";
        public string ImageId { get; init; } = "";
        /// <summary>File path or block device.</summary>
        public string Target { get; init; } = "";
        public GhostRestoreFormat Format { get; init; } = GhostRestoreFormat.Raw;
        /// <summary>Overwrite an existing file, or write to a device that is mounted.</summary>
        public bool Force { get; init; }
        public int Parallelism { get; init; }
    }

    public sealed class GhostRemoveResult
    {
        public string[] RemovedImageIds { get; init; } = Array.Empty<string>();
        public long FreedBytes { get; init; }
        public long ChunksDeleted { get; init; }
        /// <summary>True when a capture was running, so unreferenced chunks were left for the next Remove.</summary>
        public bool GarbageCollectionDeferred { get; init; }
    }
}
