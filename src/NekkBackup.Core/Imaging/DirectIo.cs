using System;
using System.Buffers;
using System.Collections.Concurrent;
using System.IO;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace NekkBackup.Core.Imaging
{
    /// <summary>
    /// A source that reads into any part of a buffer, and reads aligned ranges past the page cache when it can
    /// (<see cref="ReadsUncached"/>): the capture then hands it aligned, pinned buffers.
    /// </summary>
    internal interface IRangeReader
    {
        /// <summary>True when a read of an aligned range into an aligned buffer bypasses the page cache.</summary>
        bool ReadsUncached { get; }

        /// <summary>Reads <paramref name="count"/> bytes at <paramref name="offset"/> into <paramref name="buffer"/> from <paramref name="bufferOffset"/>.</summary>
        int Read(long offset, byte[] buffer, int bufferOffset, int count);
    }

    /// <summary>
    /// Uncached reads on Linux (docs/ghost-repository.md "Reads"): a volume or disk-image file read through the page cache
    /// costs a kernel copy of every byte (on 2 cores as much CPU as hashing it) and evicts the workstation's cache; a
    /// second descriptor opened O_DIRECT reads aligned ranges straight into the capture's buffers, as a Windows volume
    /// opened unbuffered does (windows-notes.md §2.1). Anything unaligned, and file systems that refuse O_DIRECT (tmpfs,
    /// some FUSE), use the cached descriptor. NEKKBACKUP_DIRECT_IO=0 turns it off.
    /// </summary>
    internal static class DirectIo
    {
        public const int Alignment = 4096;

        /// <summary>Opens <paramref name="path"/> read-only O_DIRECT, or null (not Linux, turned off, refused).</summary>
        public static SafeFileHandle? TryOpen(string path)
        {
#if NET
            if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("NEKKBACKUP_DIRECT_IO") == "0") return null;
            int direct = RuntimeInformation.ProcessArchitecture is Architecture.Arm64 or Architecture.Arm ? 0x10000 : 0x4000;
            const int O_RDONLY = 0, O_CLOEXEC = 0x80000;
            try
            {
                int fd = LinuxBlockDevice.Open(path, O_RDONLY | O_CLOEXEC | direct);
                return fd < 0 ? null : new SafeFileHandle((IntPtr)fd, ownsHandle: true);
            }
            catch (Exception e) when (e is DllNotFoundException || e is EntryPointNotFoundException) { return null; }
#else
            return null;
#endif
        }

        /// <summary>
        /// Reads through <paramref name="handle"/> when the offset and the buffer are aligned and the buffer has room for the
        /// length rounded up to <see cref="Alignment"/>; returns the bytes read (fewer only at the end), or -1 when it did not
        /// read (the caller reads cached). Throws <see cref="IOException"/> when the file system refuses the read.
        /// </summary>
        public static int TryRead(SafeFileHandle handle, long offset, byte[] buffer, int bufferOffset, int count)
        {
#if NET
            int want = (count + Alignment - 1) & ~(Alignment - 1);
            if ((offset & (Alignment - 1)) != 0 || buffer.Length - bufferOffset < want) return -1;
            var pin = GCHandle.Alloc(buffer, GCHandleType.Pinned);
            try
            {
                if (((long)pin.AddrOfPinnedObject() + bufferOffset & (Alignment - 1)) != 0) return -1;
                int total = 0;
                while (total < count)
                {
                    int n = RandomAccess.Read(handle, new Span<byte>(buffer, bufferOffset + total, want - total), offset + total);
                    if (n <= 0) break;
                    total += n;
                    if ((total & (Alignment - 1)) != 0) break; // a short read off the alignment: the end, or the caller reads the rest cached
                }
                return Math.Min(total, count);
            }
            finally
            {
                pin.Free();
            }
#else
            return -1;
#endif
        }
    }

    /// <summary>
    /// The capture's run buffers: for a source that reads uncached, pinned arrays with a 4 KiB-aligned start (and room to
    /// round a read up); otherwise pooled arrays starting at 0. A buffer is rented by a run's first chunk and returned once.
    /// </summary>
    internal sealed class RunBuffers
    {
        private readonly bool _aligned;
        private readonly int _size;
        private readonly ArrayPool<byte>? _pool;
        private readonly ConcurrentBag<byte[]> _free = new();

        public RunBuffers(int maxRunBytes, int buffers, bool aligned)
        {
            _aligned = aligned;
            _size = maxRunBytes + 2 * DirectIo.Alignment;
            if (!aligned) _pool = ArrayPool<byte>.Create(maxRunBytes, buffers);
        }

        /// <summary>A buffer for <paramref name="bytes"/> bytes and where they start in it.</summary>
        public (byte[] Buffer, int Start) Rent(int bytes)
        {
            if (!_aligned) return (_pool!.Rent(bytes), 0);
            if (!_free.TryTake(out var b))
            {
#if NET
                b = GC.AllocateUninitializedArray<byte>(_size, pinned: true);
#else
                b = new byte[_size];
#endif
            }
            return (b, StartOf(b));
        }

        public void Return(byte[] buffer)
        {
            if (_aligned) _free.Add(buffer);
            else _pool!.Return(buffer);
        }

        private static int StartOf(byte[] b)
        {
            var pin = GCHandle.Alloc(b, GCHandleType.Pinned);
            try { return (int)((DirectIo.Alignment - (long)pin.AddrOfPinnedObject() % DirectIo.Alignment) % DirectIo.Alignment); }
            finally { pin.Free(); }
        }
    }
}
