using System;
using System.IO;
using System.Security.Cryptography;
using NekkBackup.Core.Validation;

namespace NekkBackup.Core.Folder
{
    internal static class HashUtil
    {
        public const string EmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

        public static string ToHex(byte[] bytes)
        {
            var c = new char[bytes.Length * 2];
            for (int i = 0; i < bytes.Length; i++)
            {
                int b = bytes[i];
                c[2 * i] = "0123456789abcdef"[b >> 4];
                c[2 * i + 1] = "0123456789abcdef"[b & 15];
            }
            return new string(c);
        }

        /// <summary>
        /// SHA-256 of a whole file with a 1 MiB buffer; returns (hash, length). With <paramref name="store"/> the file is
        /// one of the destination's own (mirror, history object): it is opened only as a regular file inside the store.
        /// </summary>
        public static (string Hash, long Length) HashFile(string path, byte[] buffer, System.Threading.CancellationToken ct, Action<int>? onBytes = null, StoreRoot? store = null)
        {
            using var sha = SHA256.Create();
            using var fs = store != null
                ? store.OpenRead(path, Reasons.CorruptCatalog, "the stored copy") ?? throw new FileNotFoundException($"'{path}' disappeared.", path)
                : new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan);
            long total = 0;
            int n;
            while ((n = fs.Read(buffer, 0, buffer.Length)) > 0)
            {
                ct.ThrowIfCancellationRequested();
                sha.TransformBlock(buffer, 0, n, null, 0);
                total += n;
                onBytes?.Invoke(n);
            }
            sha.TransformFinalBlock(buffer, 0, 0);
            return (ToHex(sha.Hash!), total);
        }
    }
}
