namespace NekkBackup.Core.Imaging.Allocation
{
    /// <summary>A byte range of a volume.</summary>
    public readonly struct AllocationRun
    {
        public AllocationRun(long offset, long length)
        {
            Offset = offset;
            Length = length;
        }

        public long Offset { get; }
        public long Length { get; }
        public long End => Offset + Length;

        public override string ToString() => $"{Offset}+{Length}";
    }
}
