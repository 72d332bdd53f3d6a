#pragma warning disable CA1416 // DataProtectionScope / Unix file modes: the fakes model Windows on any OS
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using NekkBackup.Core.Plans;

namespace NekkBackup.Core.Tests.Review
{
    /// <summary>WNetAddConnection2/WNetCancelConnection2 in memory: every call recorded in order, a scripted return code.</summary>
    public sealed class FakeNas : INasConnector
    {
        private readonly object _gate = new();
        public List<string> Calls { get; } = new();
        /// <summary>What Connect returns (0 = connected; 1326 logon failure…).</summary>
        public int ConnectResult { get; set; }
        /// <summary>Shares currently connected.</summary>
        public HashSet<string> Connected { get; } = new(StringComparer.OrdinalIgnoreCase);

        public int Connect(string share, string userName, string secret)
        {
            lock (_gate)
            {
                Calls.Add($"Connect {share} as {userName}");
                if (ConnectResult == 0) Connected.Add(share);
                return ConnectResult;
            }
        }

        public int Disconnect(string share)
        {
            lock (_gate)
            {
                Calls.Add("Disconnect " + share);
                Connected.Remove(share);
                return 0;
            }
        }
    }

    /// <summary>
    /// DPAPI's documented scope rules, in memory: CurrentUser data opens only for the account that protected it,
    /// LocalMachine data for any account on the machine; the entropy must match. <see cref="Account"/> is who calls now.
    /// </summary>
    public sealed class FakeDpapi : IDpapi
    {
        public string Account { get; set; } = "STUDIO-PC\\admin";
        public List<DataProtectionScope> ScopesUsed { get; } = new();

        public byte[] Protect(byte[] data, byte[] entropy, DataProtectionScope scope)
        {
            ScopesUsed.Add(scope);
            var owner = scope == DataProtectionScope.CurrentUser ? Account : "*machine*";
            var header = Encoding.UTF8.GetBytes(owner + "\n" + Convert.ToBase64String(SHA256.HashData(entropy)) + "\n");
            var body = data.Select(b => (byte)(b ^ 0x5A)).ToArray();
            return new[] { (byte)header.Length }.Concat(header).Concat(body).ToArray();
        }

        public byte[] Unprotect(byte[] data, byte[] entropy, DataProtectionScope scope)
        {
            ScopesUsed.Add(scope);
            var header = Encoding.UTF8.GetString(data, 1, data[0]).Split('\n');
            if (header[0] != "*machine*" && header[0] != Account)
                throw new CryptographicException("Key not valid for use in specified state.");
            if (header[1] != Convert.ToBase64String(SHA256.HashData(entropy)))
                throw new CryptographicException("The parameter is incorrect.");
            return data.Skip(1 + data[0]).Select(b => (byte)(b ^ 0x5A)).ToArray();
        }
    }

    /// <summary>Folder ACL state in memory (the folders themselves are real): which are locked down, which were reset to inherit.</summary>
    public sealed class FakeAcl : IFolderAcl
    {
        public HashSet<string> LockedDown { get; } = new(StringComparer.Ordinal);
        public List<string> Calls { get; } = new();

        public bool IsLockedDown(string directory) => LockedDown.Contains(Norm(directory));

        public void LockDown(string directory)
        {
            Calls.Add("LockDown " + Norm(directory));
            LockedDown.Add(Norm(directory));
        }

        public void ResetToInherited(string path, bool isDirectory) => Calls.Add("Reset " + Norm(path));

        private static string Norm(string p) => Path.GetFullPath(p).TrimEnd('/');
    }
}
