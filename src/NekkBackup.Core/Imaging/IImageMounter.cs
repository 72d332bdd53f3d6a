using System;
using System.Threading;
using System.Threading.Tasks;

namespace NekkBackup.Core.Imaging
{
    /// <summary>
    /// The platform half of Mount-NekkGhostImage: attaches a materialised image file read-only and mounts its
    /// file system, and undoes that. Linux: a read-only loop device and mount(8)/ntfs-3g; Windows: a fixed VHD
    /// attached read-only with Mount-DiskImage. A seam so the command lines and their parsing are unit-checked.
    /// </summary>
    public interface IImageMounter
    {
        /// <summary>How the image is written for this platform (Raw on Linux, Vhd on Windows).</summary>
        GhostRestoreFormat Format { get; }

        /// <summary>Null when this machine can mount images, else why not (root/Administrator, tools).</summary>
        string? Unavailable();

        /// <summary>
        /// Attaches <paramref name="imageFile"/> read-only and mounts its file system read-only on
        /// <paramref name="mountPoint"/>; <paramref name="attached"/> is told the device as soon as it exists.
        /// Returns the device and the file system type.
        /// </summary>
        Task<(string Device, string FileSystem)> AttachAsync(string imageFile, string mountPoint, Action<string> attached, CancellationToken ct);

        /// <summary>
        /// Undoes whatever part of an attach exists for the record (unmount, detach); idempotent. Only mounts and
        /// devices backed by the record's own image file are touched. NekkBackup.MountBusy when files are open.
        /// </summary>
        Task DetachAsync(MountRecord record, CancellationToken ct);

        /// <summary>True while the record's file system is mounted from its image file.</summary>
        Task<bool> IsLiveAsync(MountRecord record, CancellationToken ct);
    }
}
