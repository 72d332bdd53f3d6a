namespace NekkBackup.Core.Imaging.Allocation
{
    /// <summary>What <see cref="AllocationMaps.Read"/> found: a map, or why there is none.</summary>
    public sealed class AllocationProbe
    {
        private AllocationProbe(IAllocationMap? map, string fileSystem, string reason)
        {
            Map = map;
            FileSystem = fileSystem;
            Reason = reason;
        }

        /// <summary>The allocation map, or null when the volume's file system is not supported.</summary>
        public IAllocationMap? Map { get; }

        /// <summary>The file system recognised ("ext4", "ntfs", "xfs", …), or "unknown".</summary>
        public string FileSystem { get; }

        /// <summary>Why there is no map (empty when there is one).</summary>
        public string Reason { get; }

        public bool IsSupported => Map != null;

        internal static AllocationProbe Supported(IAllocationMap map) => new(map, map.FileSystem, "");

        internal static AllocationProbe Unsupported(string fileSystem, string reason) => new(null, fileSystem, reason);

        public override string ToString() => Map != null
            ? $"{FileSystem}: {Map.UsedBytes} of {Map.Length} bytes used ({Map.BlockSize}-byte blocks)"
            : $"{FileSystem}: {Reason}";
    }
}
