using System;

namespace NekkBackup.Core.Snapshots
{
    /// <summary>Path rules for VSS (windows-notes.md §1.1, §1.7), pure so they are unit-tested anywhere.</summary>
    public static class VssPaths
    {
        /// <summary>VSS wants volumes as "D:\", "Y:\MountX\" or "\\?\Volume{GUID}\": always a trailing backslash.</summary>
        public static string WithTrailingBackslash(string volume) =>
            volume.EndsWith("\\", StringComparison.Ordinal) ? volume : volume + "\\";

        /// <summary>
        /// The path inside a shadow copy. DeviceObject (\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopyN) is
        /// the root without a trailing backslash: the root maps to DeviceObject + "\" (.NET trims a lone
        /// root otherwise), a sub-path to DeviceObject + "\" + path relative to the volume mount point.
        /// </summary>
        public static string MapToShadow(string deviceObject, string relativePath)
        {
            var dev = deviceObject.TrimEnd('\\');
            var rel = relativePath.Replace('/', '\\').Trim('\\');
            return rel.Length == 0 ? dev + "\\" : dev + "\\" + rel;
        }

        /// <summary>The part of <paramref name="fullPath"/> below <paramref name="mountPoint"/> (both Windows paths, case-insensitive).</summary>
        public static string RelativeToMountPoint(string mountPoint, string fullPath)
        {
            var mp = WithTrailingBackslash(mountPoint);
            var p = fullPath.Replace('/', '\\');
            if (string.Equals(WithTrailingBackslash(p), mp, StringComparison.OrdinalIgnoreCase)) return "";
            if (!p.StartsWith(mp, StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException($"'{fullPath}' is not under the mount point '{mountPoint}'.");
            return p.Substring(mp.Length).TrimEnd('\\');
        }

        /// <summary>
        /// The VSS volume name for a volume named as a device (Ghost -Source): "C", "C:", "C:\", "\\.\C:",
        /// "\\?\C:" → "C:\"; "\\?\Volume{GUID}" or "\\.\Volume{GUID}\" → "\\?\Volume{GUID}\". Null for anything else
        /// (a file, a whole disk \\.\PhysicalDriveN, a shadow copy device).
        /// </summary>
        public static string? VolumeForDevice(string source)
        {
            if (string.IsNullOrWhiteSpace(source)) return null;
            var s = source.Trim();
            if (s.StartsWith(@"\\.\", StringComparison.Ordinal) || s.StartsWith(@"\\?\", StringComparison.Ordinal))
            {
                var rest = s.Substring(4).TrimEnd('\\');
                if (rest.StartsWith("Volume{", StringComparison.OrdinalIgnoreCase) && rest.EndsWith("}", StringComparison.Ordinal)
                    && Guid.TryParse(rest.Substring(6), out _))
                    return @"\\?\" + rest + @"\";
                s = rest;
                if (!(s.Length == 2 && s[1] == ':')) return null;
            }
            if (s.Length == 1 && IsDriveLetter(s[0])) return char.ToUpperInvariant(s[0]) + @":\";
            if ((s.Length == 2 || (s.Length == 3 && (s[2] == '\\' || s[2] == '/'))) && IsDriveLetter(s[0]) && s[1] == ':')
                return char.ToUpperInvariant(s[0]) + @":\";
            return null;
        }

        /// <summary>"C:\" (a drive-letter root).</summary>
        public static bool IsDriveRoot(string volume) => volume.Length == 3 && IsDriveLetter(volume[0]) && volume[1] == ':' && volume[2] == '\\';

        private static bool IsDriveLetter(char c) => (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');

        public static bool IsUnc(string path) =>
            path.StartsWith("\\\\", StringComparison.Ordinal) && !path.StartsWith("\\\\?\\", StringComparison.Ordinal) && !path.StartsWith("\\\\.\\", StringComparison.Ordinal)
            || path.StartsWith("\\\\?\\UNC\\", StringComparison.OrdinalIgnoreCase);

        /// <summary>A shadow id as WMI returns it: "{GUID}". Validated before it goes into a WQL query.</summary>
        public static bool IsShadowId(string id) =>
            id.Length == 38 && id[0] == '{' && id[37] == '}' && Guid.TryParse(id.Substring(1, 36), out _);
    }

    /// <summary>Bitness check for the VSS path (windows-notes.md §1.5).</summary>
    public static class VssHostCheck
    {
        public enum Result
        {
            /// <summary>Native process: OK.</summary>
            Native,
            /// <summary>32-bit process on 64-bit Windows (Intune's default): only works because the 64-bit WMI provider is forced.</summary>
            Wow64,
        }

        public static Result Evaluate(bool is64BitOperatingSystem, bool is64BitProcess) =>
            is64BitOperatingSystem && !is64BitProcess ? Result.Wow64 : Result.Native;

        public const string Wow64Note =
            "32-bit PowerShell on 64-bit Windows: forcing the 64-bit VSS WMI provider (__ProviderArchitecture=64). If that fails, run the 64-bit host (%SystemRoot%\\Sysnative\\WindowsPowerShell\\v1.0\\powershell.exe).";
    }
}
