using System;
using System.Runtime.InteropServices;

namespace NekkBackup.Core
{
    internal static class WindowsIdentityProbe
    {
        // shell32!IsUserAnAdmin: true when the process token is elevated (UAC) and in Administrators.
        [DllImport("shell32.dll", SetLastError = true)]
        [return: MarshalAs(UnmanagedType.Bool)]
        private static extern bool IsUserAnAdmin();

        public static bool IsAdministrator()
        {
            try { return IsUserAnAdmin(); }
            catch (Exception) { return false; }
        }
    }
}
