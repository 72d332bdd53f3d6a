using System;
using System.IO;
using System.Runtime.CompilerServices;
using System.Security.AccessControl;
using System.Security.Principal;

namespace NekkBackup.Core
{
    /// <summary>SYSTEM and Administrators only (windows-notes.md §4.4), through System.Security.AccessControl. Windows only.</summary>
    public sealed class WindowsFolderAcl : IFolderAcl
    {
        public static readonly WindowsFolderAcl Instance = new();

        private WindowsFolderAcl() { }

#pragma warning disable CA1416 // Windows only: PlatformServices hands it out on Windows alone
        private static SecurityIdentifier System_ => new(WellKnownSidType.LocalSystemSid, null);
        private static SecurityIdentifier Administrators => new(WellKnownSidType.BuiltinAdministratorsSid, null);

        [MethodImpl(MethodImplOptions.NoInlining)]
        public bool IsLockedDown(string directory)
        {
            var sd = GetDirectory(directory);
            var owner = sd.GetOwner(typeof(SecurityIdentifier)) as SecurityIdentifier;
            if (owner == null || !(owner.Equals(System_) || owner.Equals(Administrators))) return false;
            if (!sd.AreAccessRulesProtected) return false;
            bool system = false, admins = false;
            foreach (FileSystemAccessRule rule in sd.GetAccessRules(true, true, typeof(SecurityIdentifier)))
            {
                if (rule.AccessControlType != AccessControlType.Allow) continue;
                var sid = (SecurityIdentifier)rule.IdentityReference;
                if (sid.Equals(System_)) system = true;
                else if (sid.Equals(Administrators)) admins = true;
                else return false; // anyone else allowed in: not locked down
            }
            return system && admins;
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        public void LockDown(string directory)
        {
            var security = new DirectorySecurity();
            security.SetOwner(Administrators);
            security.SetAccessRuleProtection(true, false);
            var inherit = InheritanceFlags.ContainerInherit | InheritanceFlags.ObjectInherit;
            security.AddAccessRule(new FileSystemAccessRule(System_, FileSystemRights.FullControl, inherit, PropagationFlags.None, AccessControlType.Allow));
            security.AddAccessRule(new FileSystemAccessRule(Administrators, FileSystemRights.FullControl, inherit, PropagationFlags.None, AccessControlType.Allow));
            SetDirectory(directory, security);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        public void ResetToInherited(string path, bool isDirectory)
        {
            if (isDirectory)
            {
                var d = new DirectorySecurity();
                d.SetOwner(Administrators);
                d.SetAccessRuleProtection(false, false);
                SetDirectory(path, d);
            }
            else
            {
                var f = new FileSecurity();
                f.SetOwner(Administrators);
                f.SetAccessRuleProtection(false, false);
#if NET
                new FileInfo(path).SetAccessControl(f);
#else
                File.SetAccessControl(path, f);
#endif
            }
        }

        private static DirectorySecurity GetDirectory(string directory)
        {
#if NET
            return new DirectoryInfo(directory).GetAccessControl(AccessControlSections.Owner | AccessControlSections.Access);
#else
            return Directory.GetAccessControl(directory, AccessControlSections.Owner | AccessControlSections.Access);
#endif
        }

        private static void SetDirectory(string directory, DirectorySecurity security)
        {
#if NET
            new DirectoryInfo(directory).SetAccessControl(security);
#else
            Directory.SetAccessControl(directory, security);
#endif
        }
#pragma warning restore CA1416
    }
}
