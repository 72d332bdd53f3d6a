using System;
using System.Threading;
using NekkBackup.Core.Plans;

namespace NekkBackup.Core
{
    /// <summary>
    /// The Windows-only services Core calls — DPAPI, folder ACLs, NAS connections — as one seam. On Windows the
    /// real ones; elsewhere none (credentials are root-only files, shares are mounts). A test (or a host) substitutes
    /// its own for the current async flow with <see cref="Use"/>, so the Windows logic runs on any OS.
    /// </summary>
    public sealed class PlatformServices
    {
        private static readonly AsyncLocal<PlatformServices?> s_override = new();

        /// <summary>DPAPI (Set-NekkCredential's store); null: no DPAPI, the store is a root-only file.</summary>
        public IDpapi? Dpapi { get; init; }

        /// <summary>Folder ACLs (the data folder and the credential store); null: POSIX modes instead.</summary>
        public IFolderAcl? Acl { get; init; }

        /// <summary>WNetAddConnection2/WNetCancelConnection2; null: shares are mounts, nothing to connect.</summary>
        public INasConnector? Nas { get; init; }

        /// <summary>The real services of this platform.</summary>
        public static PlatformServices Native { get; } = OperatingSystemInfo.IsWindows
            ? new PlatformServices { Dpapi = WindowsDpapi.Instance, Acl = WindowsFolderAcl.Instance, Nas = WindowsNasConnector.Instance }
            : new PlatformServices();

        /// <summary>What Core uses now: the substitute set by <see cref="Use"/> in this async flow, else <see cref="Native"/>.</summary>
        public static PlatformServices Current => s_override.Value ?? Native;

        /// <summary>Substitutes <paramref name="services"/> until the returned scope is disposed (this async flow only).</summary>
        public static IDisposable Use(PlatformServices services)
        {
            var previous = s_override.Value;
            s_override.Value = services ?? throw new ArgumentNullException(nameof(services));
            return new Scope(previous);
        }

        private sealed class Scope : IDisposable
        {
            private readonly PlatformServices? _previous;
            private int _done;

            public Scope(PlatformServices? previous) => _previous = previous;

            public void Dispose()
            {
                if (Interlocked.Exchange(ref _done, 1) == 0) s_override.Value = _previous;
            }
        }
    }
}
