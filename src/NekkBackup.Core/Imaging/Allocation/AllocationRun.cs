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

        /// <summary>Appends <paramref name="run"/>, merged into the last range when it starts where that one ends.</summary>
        internal static void Append(System.Collections.Generic.List<AllocationRun> list, AllocationRun run)
        {
            int last = list.Count - 1;
            if (last >= 0 && list[last].End == run.Offset) list[last] = new AllocationRun(list[last].Offset, list[last].Length + run.Length);
            else list.Add(run);
        }
    }
}
