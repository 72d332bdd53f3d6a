using System;
using System.Runtime.InteropServices;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Plans
{
    /// <summary>
    /// Windows: a temporary connection to \\nas\share with the stored credential (WNetAddConnection2, CONNECT_TEMPORARY),
    /// cancelled on Dispose (windows-notes.md §4.4). Elsewhere, or without a stored credential, a no-op: Linux NAS
    /// shares are mounts, and a domain machine presents its own account.
    /// </summary>
    public sealed class NasConnection : IDisposable
    {
        private readonly string? _remote;

        private NasConnection(string? remote, string credentialSource)
        {
            _remote = remote;
            CredentialSource = credentialSource;
        }

        /// <summary>"stored credential (user)" or "the account's own identity".</summary>
        public string CredentialSource { get; }

        public static NasConnection Open(string path)
        {
            var share = VolumeIdentity.UncRoot(path);
            if (share == null) return new NasConnection(null, "the account's own identity (local path or mount)");
            var cred = CredentialStore.TryGet(share);
            if (cred == null) return new NasConnection(null, "the account's own identity (no stored credential for " + share + ")");
            if (!OperatingSystemInfo.IsWindows) return new NasConnection(null, $"stored credential ({cred.UserName}); mount the share on this OS");
            Connect(share, cred);
            return new NasConnection(share, $"stored credential ({cred.UserName})");
        }

        private static void Connect(string share, TargetCredential cred)
        {
            var nr = new NetResource { dwType = ResourceTypeDisk, lpRemoteName = share };
            int rc = WNetAddConnection2(nr, cred.Secret, cred.UserName, ConnectTemporary);
            if (rc == 0 || rc == ErrorAlreadyAssigned) return;
            var (reason, kind, hint) = rc switch
            {
                1326 => ("NasLogonFailed", FailureKind.PermissionDenied, "the user name or password is wrong (ERROR_LOGON_FAILURE)"),
                67 => ("DestinationNotFound", FailureKind.NotFound, "the share name does not exist (ERROR_BAD_NET_NAME)"),
                53 => ("DestinationNotFound", FailureKind.ConnectionError, "the NAS is not reachable (ERROR_BAD_NETPATH)"),
                1219 => ("NasCredentialConflict", FailureKind.InvalidOperation, "this account already has a connection to that server under other credentials (ERROR_SESSION_CREDENTIAL_CONFLICT); use the NAS's IP or another alias name in the plan"),
                _ => ("NasConnectFailed", FailureKind.ConnectionError, $"WNetAddConnection2 returned {rc}"),
            };
            throw new NekkBackupException(reason, kind, $"Cannot connect to '{share}' as {cred.UserName}: {hint}.", share);
        }

        public void Dispose()
        {
            if (_remote == null) return;
            try { WNetCancelConnection2(_remote, 0, true); } catch (Exception) { }
        }

        private const int ResourceTypeDisk = 1;
        private const int ConnectTemporary = 4;
        private const int ErrorAlreadyAssigned = 85;

        [StructLayout(LayoutKind.Sequential, CharSet = CharSet.Unicode)]
        private sealed class NetResource
        {
            public int dwScope;
            public int dwType;
            public int dwDisplayType;
            public int dwUsage;
            public string? lpLocalName;
            public string? lpRemoteName;
            public string? lpComment;
            public string? lpProvider;
        }

        [DllImport("mpr.dll", CharSet = CharSet.Unicode)]
        private static extern int WNetAddConnection2(NetResource netResource, string? password, string? username, int flags);

        [DllImport("mpr.dll", CharSet = CharSet.Unicode)]
        private static extern int WNetCancelConnection2(string name, int flags, bool force);
    }
}
