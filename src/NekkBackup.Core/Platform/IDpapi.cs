using System.Security.Cryptography;

namespace NekkBackup.Core
{
    /// <summary>
    /// DPAPI (CryptProtectData / CryptUnprotectData) as a seam. The scope is the caller's choice and matters:
    /// CurrentUser data can be read back only by the account that protected it; LocalMachine data by any process on
    /// the machine that can read the bytes (windows-notes.md §4.4).
    /// </summary>
    public interface IDpapi
    {
        byte[] Protect(byte[] data, byte[] entropy, DataProtectionScope scope);

        /// <summary>Throws <see cref="CryptographicException"/> when this account may not decrypt the data.</summary>
        byte[] Unprotect(byte[] data, byte[] entropy, DataProtectionScope scope);
    }
}
