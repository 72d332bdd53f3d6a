using System;

namespace NekkBackup.Core.Imaging
{
    /// <summary>Where a restore writes: a file, a Linux block device, or a Windows volume.</summary>
    internal interface IBlockTarget : IDisposable
    {
        /// <summary>Device capacity in bytes, or null for a file (it grows).</summary>
        long? Capacity { get; }

        /// <summary>True when zero chunks must be written (a device); false when the target already reads as zeros (a fresh sparse file).</summary>
        bool WritesZeros { get; }

        void Write(long offset, byte[] buffer, int count);

        /// <summary>Flush to stable storage.</summary>
        void Complete();
    }
}
