using System.ComponentModel;
using System.Runtime.InteropServices;
using System.Text;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Snapshots
{
    /// <summary>kernel32 volume lookups (windows-notes.md §1.1) and directory links (§1.7). Windows only.</summary>
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

        public void CreateDirectoryLink(string link, string target)
        {
            if (!CreateSymbolicLinkW(link, target, SymbolicLinkFlagDirectory))
                throw new NekkBackupException("SnapshotLinkFailed", FailureKind.InvalidOperation,
                    $"Cannot link '{link}' to the shadow copy root '{target}': {new Win32Exception(Marshal.GetLastWin32Error()).Message}", link);
        }

        public void RemoveDirectoryLink(string link)
        {
            if (RemoveDirectoryW(link)) return;
            int err = Marshal.GetLastWin32Error();
            if (err == 2 || err == 3) return; // ERROR_FILE_NOT_FOUND / ERROR_PATH_NOT_FOUND: already gone
            throw new NekkBackupException("SnapshotLinkFailed", FailureKind.InvalidOperation,
                $"Cannot remove the shadow copy link '{link}': {new Win32Exception(err).Message}", link);
        }

        private const int SymbolicLinkFlagDirectory = 1;

        // BOOLEAN (one byte), not BOOL.
        [DllImport("kernel32.dll", CharSet = CharSet.Unicode, SetLastError = true)]
        [return: MarshalAs(UnmanagedType.U1)]
        private static extern bool CreateSymbolicLinkW(string lpSymlinkFileName, string lpTargetFileName, int dwFlags);

        [DllImport("kernel32.dll", CharSet = CharSet.Unicode, SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static extern bool RemoveDirectoryW(string lpPathName);
    }
}
