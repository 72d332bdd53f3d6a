using System.IO;
using System.Runtime.CompilerServices;
using System.Security.AccessControl;
using System.Security.Principal;

namespace NekkBackup.Core.Plans
{
    /// <summary>SYSTEM and Administrators only, inheritance from the parent removed (windows-notes.md §4.4).</summary>
    internal static class WindowsAcl
    {
        [MethodImpl(MethodImplOptions.NoInlining)]
        public static void RestrictDirectory(string dir)
        {
#pragma warning disable CA1416
            var security = new DirectorySecurity();
            security.SetAccessRuleProtection(true, false);
            var inherit = InheritanceFlags.ContainerInherit | InheritanceFlags.ObjectInherit;
            security.AddAccessRule(new FileSystemAccessRule(new SecurityIdentifier(WellKnownSidType.LocalSystemSid, null), FileSystemRights.FullControl, inherit, PropagationFlags.None, AccessControlType.Allow));
            security.AddAccessRule(new FileSystemAccessRule(new SecurityIdentifier(WellKnownSidType.BuiltinAdministratorsSid, null), FileSystemRights.FullControl, inherit, PropagationFlags.None, AccessControlType.Allow));
#if NET
            new DirectoryInfo(dir).SetAccessControl(security);
#else
            Directory.SetAccessControl(dir, security);
#endif
#pragma warning restore CA1416
        }
    }
}
