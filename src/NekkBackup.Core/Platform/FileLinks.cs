using System.IO;

namespace NekkBackup.Core
{
    /// <summary>Symbolic links and junctions as the walker and the folder leg see them (net472 and net8.0).</summary>
    internal static class FileLinks
    {
        /// <summary>The link target when <paramref name="info"/> is a symbolic link or junction, else null.</summary>
        public static string? TargetOf(FileSystemInfo info)
        {
#if NET
            // Attributes come from the enumeration's cached lstat: only links pay for a readlink.
            if ((info.Attributes & FileAttributes.ReparsePoint) == 0) return null;
            return info.LinkTarget;
#else
            return (info.Attributes & FileAttributes.ReparsePoint) != 0 ? "" : null;
#endif
        }

        public static bool IsLink(FileSystemInfo info) => (info.Attributes & FileAttributes.ReparsePoint) != 0 || TargetOf(info) != null;

        /// <summary>The final target of a link chain (the item itself when it is no link, or on net472).</summary>
        public static string ResolveFinal(FileSystemInfo info)
        {
#if NET
            return info.ResolveLinkTarget(true)?.FullName ?? info.FullName;
#else
            return info.FullName;
#endif
        }
    }
}
