using System;

namespace NekkBackup.Core.Imaging
{
    /// <summary>
    /// Raw, random-access read of a volume: a Linux block device, a disk-image file, or a Windows volume /
    /// VSS shadow device. One interface, so the capture engine never sees the platform.
    /// </summary>
    public interface IBlockSource : IDisposable
    {
        /// <summary>What was opened (device path or file).</summary>
        string Path { get; }

        /// <summary>Size in bytes.</summary>
        long Length { get; }

        /// <summary>
        /// Reads <paramref name="count"/> bytes at <paramref name="offset"/> into <paramref name="buffer"/>
        /// (from index 0). Returns the bytes read; fewer only at the end of the source.
        /// </summary>
        int Read(long offset, byte[] buffer, int count);
    }
}
