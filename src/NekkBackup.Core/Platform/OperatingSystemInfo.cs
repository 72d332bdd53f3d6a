using System;
using System.IO;
using System.Runtime.InteropServices;

namespace NekkBackup.Core
{
    /// <summary>Platform facts that work on both net472 and net8.0.</summary>
    public static class OperatingSystemInfo
    {
        public static bool IsWindows { get; } = RuntimeInformation.IsOSPlatform(OSPlatform.Windows);
        public static bool IsLinux { get; } = RuntimeInformation.IsOSPlatform(OSPlatform.Linux);
        public static bool IsMacOS { get; } = RuntimeInformation.IsOSPlatform(OSPlatform.OSX);

        /// <summary>Host name as it appears in run records and cloud prefixes (lower case, no domain).</summary>
        public static string HostName
        {
            get
            {
                var n = Environment.MachineName;
                int dot = n.IndexOf('.');
                return (dot > 0 ? n.Substring(0, dot) : n).ToLowerInvariant();
            }
        }

        public static bool IsElevated
        {
            get
            {
                if (IsWindows) return WindowsIdentityProbe.IsAdministrator();
                try { return geteuid() == 0; } catch { return false; }
            }
        }

        [DllImport("libc", SetLastError = true)]
        private static extern uint geteuid();

        /// <summary>
        /// The platform's data folder for NekkBackup (logs, state). NEKKBACKUP_DATA overrides it.
        /// Windows: %ProgramData%\NekkBackup when elevated (SYSTEM runs), else %LOCALAPPDATA%\NekkBackup; an elevated
        /// process locks the folder down to SYSTEM and Administrators before its first use (<see cref="DataFolder"/>).
        /// Linux/macOS: /var/lib/nekkbackup as root, else $XDG_STATE_HOME/nekkbackup (~/.local/state/nekkbackup).
        /// </summary>
        public static string DataDirectory
        {
            get
            {
                var overridden = Environment.GetEnvironmentVariable("NEKKBACKUP_DATA");
                if (IsWindows)
                {
                    bool elevated = IsElevated;
                    var dir = !string.IsNullOrEmpty(overridden) ? overridden!
                        : Path.Combine(Environment.GetFolderPath(elevated ? Environment.SpecialFolder.CommonApplicationData : Environment.SpecialFolder.LocalApplicationData), "NekkBackup");
                    if (elevated) DataFolder.EnsureSecured(dir);
                    return dir;
                }
                if (!string.IsNullOrEmpty(overridden)) return overridden!;
                if (IsElevated) return "/var/lib/nekkbackup";
                var state = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
                if (string.IsNullOrEmpty(state))
                    state = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "state");
                return Path.Combine(state!, "nekkbackup");
            }
        }
    }
}
