using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace NekkBackup.Core
{
    /// <summary>The real DPAPI (System.Security.Cryptography.ProtectedData). Windows only.</summary>
    public sealed class WindowsDpapi : IDpapi
    {
        public static readonly WindowsDpapi Instance = new();

        private WindowsDpapi() { }

        [MethodImpl(MethodImplOptions.NoInlining)]
        public byte[] Protect(byte[] data, byte[] entropy, DataProtectionScope scope)
        {
#pragma warning disable CA1416 // Windows only: PlatformServices hands it out on Windows alone
            return ProtectedData.Protect(data, entropy, scope);
#pragma warning restore CA1416
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        public byte[] Unprotect(byte[] data, byte[] entropy, DataProtectionScope scope)
        {
#pragma warning disable CA1416
            return ProtectedData.Unprotect(data, entropy, scope);
#pragma warning restore CA1416
        }
    }
}
