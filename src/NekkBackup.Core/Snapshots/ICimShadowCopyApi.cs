using System;

namespace NekkBackup.Core.Snapshots
{
    /// <summary>A Win32_ShadowCopy instance, as far as NekkBackup needs it.</summary>
    public sealed class VssShadowInfo
    {
        public VssShadowInfo(string id, string deviceObject, string volumeName, DateTime? installDate)
        {
            Id = id;
            DeviceObject = deviceObject;
            VolumeName = volumeName;
            InstallDate = installDate;
        }

        /// <summary>"{GUID}".</summary>
        public string Id { get; }
        /// <summary>\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopyN (no trailing backslash).</summary>
        public string DeviceObject { get; }
        /// <summary>The original volume (\\?\Volume{…}\).</summary>
        public string VolumeName { get; }
        public DateTime? InstallDate { get; }
    }

    /// <summary>The return value and out parameter of Win32_ShadowCopy.Create.</summary>
    public sealed class VssCreateResult
    {
        public VssCreateResult(uint returnValue, string? shadowId)
        {
            ReturnValue = returnValue;
            ShadowId = shadowId;
        }

        public uint ReturnValue { get; }
        public string? ShadowId { get; }
    }

    /// <summary>
    /// The CIM calls the VSS provider makes (root\cimv2 Win32_ShadowCopy), as a seam: the real one
    /// (<see cref="CimShadowCopyApi"/>) uses Microsoft.Management.Infrastructure with the 64-bit provider
    /// forced; tests use a fake.
    /// </summary>
    public interface ICimShadowCopyApi : IDisposable
    {
        /// <summary>Win32_ShadowCopy.Create(Volume, Context).</summary>
        VssCreateResult Create(string volume, string context);

        /// <summary>The instance with this ID, or null.</summary>
        VssShadowInfo? Get(string shadowId);

        /// <summary>Deletes the instance with this ID (DeleteInstance); false when it no longer exists.</summary>
        bool Delete(string shadowId);
    }

    /// <summary>Volume lookups (GetVolumePathNameW / GetVolumeNameForVolumeMountPointW) and directory links, as a seam.</summary>
    public interface IWindowsVolumeApi
    {
        /// <summary>The mount point holding the path, with a trailing backslash ("C:\", "D:\Mount\X\").</summary>
        string GetVolumePathName(string path);

        /// <summary>"\\?\Volume{GUID}\" for a mount point, or null when it has none.</summary>
        string? GetVolumeGuidPath(string mountPoint);

        /// <summary>
        /// CreateSymbolicLinkW(<paramref name="link"/>, <paramref name="target"/>, SYMBOLIC_LINK_FLAG_DIRECTORY): how a
        /// shadow copy's root is read (windows-notes.md §1.7); the target keeps its trailing backslash.
        /// </summary>
        void CreateDirectoryLink(string link, string target);

        /// <summary>RemoveDirectoryW(<paramref name="link"/>): removes the link itself, never what it points to. No-op when absent.</summary>
        void RemoveDirectoryLink(string link);
    }
}
