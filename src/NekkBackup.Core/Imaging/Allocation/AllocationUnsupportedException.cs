using System;

namespace NekkBackup.Core.Imaging.Allocation
{
    /// <summary>
    /// Thrown inside the readers when a volume's metadata cannot be trusted or uses something the reader does
    /// not handle; <see cref="AllocationMaps.Read"/> turns it into an unsupported <see cref="AllocationProbe"/>.
    /// Never escapes the allocation layer.
    /// </summary>
    internal sealed class AllocationUnsupportedException : Exception
    {
        public AllocationUnsupportedException(string reason) : base(reason) { }
    }
}
