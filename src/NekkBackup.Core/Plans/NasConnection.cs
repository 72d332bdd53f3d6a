using System;
using System.Collections.Generic;
using System.Linq;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Plans
{
    /// <summary>
    /// A connection to \\nas\share with the credential Set-NekkCredential stored for it (windows-notes.md §4.4):
    /// SYSTEM presents the computer account, which a workgroup NAS refuses, so every reader and writer of a share —
    /// backups, tests, compliance, fleet status — opens one around its work. Windows: WNetAddConnection2
    /// (CONNECT_TEMPORARY) through <see cref="PlatformServices.Nas"/>, cancelled without force when the last user in
    /// this process disposes it (a nested open, e.g. a run publishing its status, never drops the outer run's
    /// connection). Elsewhere, or without a stored credential, a no-op: Linux shares are mounts, and a domain
    /// machine presents its own account.
    /// </summary>
    public sealed class NasConnection : IDisposable
    {
        private static readonly object Gate = new();
        private static readonly Dictionary<(INasConnector Connector, string Share), int> Users = new();

        private readonly INasConnector? _connector;
        private readonly string? _share;
        private int _disposed;

        private NasConnection(INasConnector? connector, string? share, string credentialSource)
        {
            _connector = connector;
            _share = share;
            CredentialSource = credentialSource;
        }

        /// <summary>"stored credential (user)" or "the account's own identity (…)".</summary>
        public string CredentialSource { get; }

        /// <summary>
        /// Opens the connection for the share holding <paramref name="path"/> (any UNC spelling, PathIdentity.UncShare).
        /// Throws NekkBackup.NasLogonFailed / DestinationNotFound / NasCredentialConflict / NasConnectFailed /
        /// CredentialUnreadable when the share cannot be reached with the stored credential.
        /// </summary>
        public static NasConnection Open(string path)
        {
            var share = PathIdentity.UncShare(path ?? "");
            if (share == null) return new NasConnection(null, null, "the account's own identity (local path or mount)");
            var cred = CredentialStore.TryGet(share);
            if (cred == null) return new NasConnection(null, null, "the account's own identity (no stored credential for " + share + ")");
            var connector = PlatformServices.Current.Nas;
            if (connector == null) return new NasConnection(null, null, $"stored credential ({cred.UserName}); mount the share on this OS");
            var key = (connector, share.ToLowerInvariant());
            lock (Gate)
            {
                if (Users.TryGetValue(key, out var n))
                {
                    Users[key] = n + 1;
                    return new NasConnection(connector, key.Item2, $"stored credential ({cred.UserName})");
                }
                int rc = connector.Connect(share, cred.UserName, cred.Secret);
                if (rc == ErrorAlreadyAssigned) return new NasConnection(null, null, $"stored credential ({cred.UserName}), connection already open");
                if (rc != 0) throw Failure(rc, share, cred.UserName);
                Users[key] = 1;
                return new NasConnection(connector, key.Item2, $"stored credential ({cred.UserName})");
            }
        }

        /// <summary>One connection per distinct share among <paramref name="paths"/> (nulls and local paths skipped); all or none.</summary>
        public static IDisposable OpenAll(IEnumerable<string?> paths)
        {
            var opened = new List<NasConnection>();
            try
            {
                foreach (var share in paths.Where(p => p != null).Select(p => PathIdentity.UncShare(p!)).Where(s => s != null)
                             .Distinct(PathIdentity.Windows.Comparer))
                    opened.Add(Open(share!));
            }
            catch
            {
                foreach (var c in opened) c.Dispose();
                throw;
            }
            return new All(opened);
        }

        internal static NekkBackupException Failure(int rc, string share, string user)
        {
            var (reason, kind, hint) = rc switch
            {
                1326 => ("NasLogonFailed", FailureKind.PermissionDenied, "the user name or password is wrong (ERROR_LOGON_FAILURE)"),
                67 => ("DestinationNotFound", FailureKind.NotFound, "the share name does not exist (ERROR_BAD_NET_NAME)"),
                53 => ("DestinationNotFound", FailureKind.ConnectionError, "the NAS is not reachable (ERROR_BAD_NETPATH)"),
                1219 => ("NasCredentialConflict", FailureKind.InvalidOperation, "this account already has a connection to that server under other credentials (ERROR_SESSION_CREDENTIAL_CONFLICT); use the NAS's IP or another alias name in the plan"),
                _ => ("NasConnectFailed", FailureKind.ConnectionError, $"WNetAddConnection2 returned {rc}"),
            };
            return new NekkBackupException(reason, kind, $"Cannot connect to '{share}' as {user}: {hint}.", share);
        }

        public void Dispose()
        {
            if (_connector == null || _share == null || System.Threading.Interlocked.Exchange(ref _disposed, 1) == 1) return;
            var key = (_connector, _share);
            lock (Gate)
            {
                if (!Users.TryGetValue(key, out var n)) return;
                if (n > 1) { Users[key] = n - 1; return; }
                Users.Remove(key);
                // Never forced (INasConnector has no force): with files still open elsewhere it fails and the connection stays.
                try { _connector.Disconnect(_share); } catch (Exception) { }
            }
        }

        private const int ErrorAlreadyAssigned = 85;

        private sealed class All : IDisposable
        {
            private readonly List<NasConnection> _list;

            public All(List<NasConnection> list) => _list = list;

            public void Dispose()
            {
                for (int i = _list.Count - 1; i >= 0; i--) _list[i].Dispose();
            }
        }
    }
}
