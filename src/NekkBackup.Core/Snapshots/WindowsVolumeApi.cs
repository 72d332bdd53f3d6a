using System.ComponentModel;
using System.Runtime.InteropServices;
using System.Text;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Snapshots
{
    /// <summary>kernel32 volume lookups (windows-notes.md §1.1). Windows only.</summary>
    public sealed class WindowsVolumeApi : IWindowsVolumeApi
    {
        public static readonly WindowsVolumeApi Instance = new();

        [DllImport("kernel32.dll", CharSet = CharSet.Unicode, SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static extern bool GetVolumePathNameW(string lpszFileName, StringBuilder lpszVolumePathName, int cchBufferLength);

        [DllImport("kernel32.dll", CharSet = CharSet.Unicode, SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static extern bool GetVolumeNameForVolumeMountPointW(string lpszVolumeMountPoint, StringBuilder lpszVolumeName, int cchBufferLength);

        public string GetVolumePathName(string path)
        {
            var sb = new StringBuilder(1024);
            if (!GetVolumePathNameW(path, sb, sb.Capacity))
                throw Fail.NotFound("SnapshotVolumeNotFound", $"No volume holds '{path}': {new Win32Exception(Marshal.GetLastWin32Error()).Message}", path);
            return VssPaths.WithTrailingBackslash(sb.ToString());
        }

        public string? GetVolumeGuidPath(string mountPoint)
        {
            var sb = new StringBuilder(64);
            return GetVolumeNameForVolumeMountPointW(VssPaths.WithTrailingBackslash(mountPoint), sb, sb.Capacity) ? sb.ToString() : null;
        }
    }
}
