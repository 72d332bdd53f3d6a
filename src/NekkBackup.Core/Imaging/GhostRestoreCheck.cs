using System;
using System.IO;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Imaging
{
    /// <summary>
    /// What a restore would do, checked before anything is asked or written (PRODUCT.md §3.3): the image exists and is
    /// readable, the target is a file in an existing folder or a block device/volume, it is not mounted (unless forced),
    /// and a device is large enough. <see cref="Overwrites"/> tells the cmdlet whether to ask: only a restore over an
    /// existing file or a device does; a new file needs no confirmation, so a scheduled script can restore.
    /// </summary>
    public sealed class GhostRestoreCheck
    {
        private GhostRestoreCheck(ImageRepository repository, ImageManifest manifest, string target, GhostRestoreFormat format,
            string? windowsDevice, bool isDevice, long needed)
        {
            Repository = repository;
            Manifest = manifest;
            Target = target;
            Format = format;
            WindowsDevice = windowsDevice;
            IsDevice = isDevice;
            NeededBytes = needed;
        }

        internal ImageRepository Repository { get; }
        internal ImageManifest Manifest { get; }
        internal string? WindowsDevice { get; }

        public string ImageId => Manifest.ImageId;
        public string Target { get; }
        public GhostRestoreFormat Format { get; }
        public bool IsDevice { get; }
        /// <summary>Bytes the target receives (the volume, or for -Format Vhd the whole disk and its footer).</summary>
        public long NeededBytes { get; }
        /// <summary>Offset of the volume in the target (the MBR and partition gap of a VHD; 0 for Raw).</summary>
        public long VolumeOffset => Format == GhostRestoreFormat.Vhd ? Vhd.VolumeOffset : 0;
        /// <summary>True when the restore replaces something that exists: a file, or a device's contents.</summary>
        public bool Overwrites => IsDevice || File.Exists(Target);

        /// <summary>
        /// Checks everything that can be checked without writing. <paramref name="force"/> allows a mounted target;
        /// an existing file is the caller's question (<see cref="Overwrites"/>), refused by the engine unless forced.
        /// </summary>
        public static GhostRestoreCheck Validate(string repository, string imageId, string target, GhostRestoreFormat format, bool force)
        {
            if (string.IsNullOrWhiteSpace(target)) throw Fail.Argument("TargetMissing", "No restore target was given.");
            return Validate(ImageRepository.Open(repository), imageId, target, format, force);
        }

        /// <summary>The same checks on a repository the restore has already opened (with its run log).</summary>
        internal static GhostRestoreCheck Validate(ImageRepository repo, string imageId, string target, GhostRestoreFormat format, bool force)
        {
            if (string.IsNullOrWhiteSpace(target)) throw Fail.Argument("TargetMissing", "No restore target was given.");
            var m = repo.ReadManifest(imageId);

            bool vhd = format == GhostRestoreFormat.Vhd;
            long needed = vhd ? Vhd.DiskSize(m.SizeBytes) + 512 : m.SizeBytes;
            if (vhd && Vhd.DiskSize(m.SizeBytes) > Vhd.MaxDiskSize)
                throw new NekkBackupException("ImageTooLargeForVhd", FailureKind.LimitsExceeded, $"Image '{imageId}' ({m.SizeBytes} bytes) is larger than a VHD can hold (2,040 GB).", imageId);

            var windowsDevice = OperatingSystemInfo.IsWindows ? WindowsDevicePath.ToDevicePath(target) : null;
            bool isDevice = windowsDevice != null || LinuxBlockDevice.IsBlockDevice(target);
            var mountedAt = MountCheck.FindMount(target);
            if (mountedAt != null && !force)
                throw new NekkBackupException("TargetMounted", FailureKind.InvalidOperation, $"The target '{target}' is in use (mounted at {mountedAt}); unmount it first, or use -Force.", target);
            if (isDevice && vhd)
                throw Fail.Argument("VhdNeedsFileTarget", "-Format Vhd writes a .vhd file; give a file path as the target.", target);
            if (!isDevice)
            {
                if (Directory.Exists(target)) throw Fail.Argument("TargetIsDirectory", $"The target '{target}' is a folder; give a file or a block device.", target);
                var parent = Path.GetDirectoryName(Path.GetFullPath(target));
                if (parent == null || !Directory.Exists(parent)) throw Fail.NotFound("TargetNotFound", $"The folder of the target '{target}' does not exist.", target);
            }
            else if (DeviceSize(target, windowsDevice) is long size && size < needed)
            {
                throw TooSmall(target, size, imageId, needed);
            }
            return new GhostRestoreCheck(repo, m, target, format, windowsDevice, isDevice, needed);
        }

        internal static NekkBackupException TooSmall(string target, long capacity, string imageId, long needed) =>
            new("TargetTooSmall", FailureKind.LimitsExceeded,
                $"The target '{target}' holds {Primitives.ByteSize.Format(capacity)} ({capacity} bytes); image '{imageId}' needs {Primitives.ByteSize.Format(needed)} ({needed} bytes).", target);

        /// <summary>A device's size, read without writing; null when it cannot be read now (the engine checks again when it opens it).</summary>
        private static long? DeviceSize(string target, string? windowsDevice)
        {
            try
            {
                if (windowsDevice != null)
                {
                    using var v = WindowsVolume.Open(windowsDevice, write: false, 1 << 20);
                    return v.Length;
                }
                using var fs = new FileStream(target, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1);
                return LinuxBlockDevice.GetSize(fs.SafeFileHandle);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                return null;
            }
        }
    }
}
