using System;
using System.Collections.Generic;
using System.IO;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Plans
{
    /// <summary>A stored secret for a NAS share or a bucket, in memory only while it is used. Never logged.</summary>
    public sealed class TargetCredential
    {
        public string Target { get; init; } = "";
        public string UserName { get; init; } = "";
        public string Secret { get; init; } = "";

        public override string ToString() => $"{UserName}@{Target}";
    }

    /// <summary>
    /// Set-NekkCredential's store for the machine's backup principal (PRODUCT.md §3.6, windows-notes.md §4.4).
    /// Windows: DPAPI with <b>LocalMachine</b> scope, in %ProgramData%\NekkBackup\credentials, a folder whose ACL
    /// admits only SYSTEM and Administrators (inheritance off). The ACL is what keeps the secret private: LocalMachine
    /// lets any process on the machine that can read the file decrypt it, which is exactly what lets the SYSTEM task
    /// read a secret an admin stored from an elevated console (CurrentUser scope would lock it to that admin).
    /// Linux/macOS: a root-only file (0600, folder 0700) under the data folder. One file per target:
    /// &lt;sha256(normalised target)&gt;.cred.
    /// </summary>
    public static class CredentialStore
    {
        private static readonly byte[] Entropy = Encoding.UTF8.GetBytes("NekkBackup.Credential.v1");
        private static readonly AsyncLocal<string?> s_directoryOverride = new();

        /// <summary>DPAPI scope of the Windows store (windows-notes.md §4.4, corrected after review W2).</summary>
#pragma warning disable CA1416 // a value only: it is used on Windows, through the IDpapi seam
        public const DataProtectionScope Scope = DataProtectionScope.LocalMachine;
#pragma warning restore CA1416

        /// <summary>What <see cref="StoredCredential.Protection"/> says for the Windows store.</summary>
        public const string DpapiProtection = "DpapiLocalMachine";

        /// <summary>Override for tests (this async flow only); default &lt;DataDirectory&gt;/credentials.</summary>
        public static string? DirectoryOverride
        {
            get => s_directoryOverride.Value;
            set => s_directoryOverride.Value = value;
        }

        public static string Directory_ => DirectoryOverride ?? Path.Combine(OperatingSystemInfo.DataDirectory, "credentials");

        /// <summary>\\NAS\Share\sub\ → \\nas\share (credentials are per share); a bucket name as is, lower case.</summary>
        public static string NormalizeTarget(string target)
        {
            if (string.IsNullOrWhiteSpace(target)) throw Fail.Argument("InvalidTarget", "Give a target: a NAS share (\\\\nas\\share) or a bucket name.");
            var t = target.Trim();
            var unc = VolumeIdentity.UncRoot(t);
            if (unc != null) return unc.ToLowerInvariant();
            if (t.StartsWith("s3://", StringComparison.OrdinalIgnoreCase)) t = t.Substring(5);
            return t.TrimEnd('/', '\\').ToLowerInvariant();
        }

        public static string PathFor(string target)
        {
            using var sha = SHA256.Create();
            var h = sha.ComputeHash(Encoding.UTF8.GetBytes(NormalizeTarget(target)));
            var sb = new StringBuilder();
            for (int i = 0; i < 16; i++) sb.Append(h[i].ToString("x2"));
            return Path.Combine(Directory_, sb + ".cred");
        }

        public static StoredCredential Set(string target, string userName, string secret)
        {
            if (string.IsNullOrEmpty(userName)) throw Fail.Argument("InvalidCredential", "The credential has no user name.");
            var norm = NormalizeTarget(target);
            var dir = Directory_;
            var services = PlatformServices.Current;
            PrepareDirectory(dir, services.Acl);
            var payload = JsonSerializer.SerializeToUtf8Bytes(new Payload { Target = norm, UserName = userName, Secret = secret, Updated = DateTime.UtcNow });
            byte[] stored;
            string protection;
            if (services.Dpapi != null)
            {
                stored = services.Dpapi.Protect(payload, Entropy, Scope);
                protection = DpapiProtection;
            }
            else
            {
                stored = payload;
                protection = "File0600";
            }
            var path = PathFor(norm);
            var tmp = path + ".tmp";
            if (File.Exists(tmp)) File.Delete(tmp);
            try
            {
                using var fs = CreateRestricted(tmp);
                fs.Write(stored, 0, stored.Length);
                fs.Flush(true);
            }
            finally
            {
                // The plain secret does not outlive the write.
                Array.Clear(payload, 0, payload.Length);
            }
            if (File.Exists(path)) File.Delete(path);
            File.Move(tmp, path);
            return new StoredCredential { Target = norm, UserName = userName, Kind = KindOf(norm), Protection = protection, Path = path, Updated = DateTime.UtcNow.ToLocalTime() };
        }

        public static TargetCredential? TryGet(string target)
        {
            var path = PathFor(target);
            if (!File.Exists(path)) return null;
            byte[] raw;
            try { raw = File.ReadAllBytes(path); }
            catch (UnauthorizedAccessException ex)
            {
                throw new NekkBackupException("CredentialAccessDenied", FailureKind.PermissionDenied,
                    $"The stored credential for '{NormalizeTarget(target)}' is readable only by the backup principal (root / SYSTEM / Administrators): {ex.Message}", target, ex);
            }
            try
            {
                var dpapi = PlatformServices.Current.Dpapi;
                var json = dpapi != null ? dpapi.Unprotect(raw, Entropy, Scope) : raw;
                var p = JsonSerializer.Deserialize<Payload>(json);
                return p == null ? null : new TargetCredential { Target = p.Target, UserName = p.UserName, Secret = p.Secret };
            }
            catch (Exception ex) when (ex is CryptographicException || ex is JsonException)
            {
                throw new NekkBackupException("CredentialUnreadable", FailureKind.SecurityError,
                    $"The stored credential for '{NormalizeTarget(target)}' cannot be decrypted on this machine (DPAPI LocalMachine: it was stored on another machine, by an older NekkBackup, or the file is damaged); store it again with Set-NekkCredential.", target, ex);
            }
        }

        public static bool Remove(string target)
        {
            var path = PathFor(target);
            if (!File.Exists(path)) return false;
            File.Delete(path);
            return true;
        }

        /// <summary>Share (\\nas\share), Smtp (smtp:…), Webhook (webhook:…) or Bucket: what a normalised target names.</summary>
        public static string KindOf(string normalizedTarget) =>
            normalizedTarget.StartsWith(@"\\", StringComparison.Ordinal) ? "Share"
            : normalizedTarget.StartsWith("smtp:", StringComparison.OrdinalIgnoreCase) ? "Smtp"
            : normalizedTarget.StartsWith("webhook:", StringComparison.OrdinalIgnoreCase) ? "Webhook"
            : "Bucket";

        /// <summary>
        /// Get-NekkCredential: every stored target with its user name, kind, protection and when it was stored — never
        /// the secret (each file is decrypted in memory, the secret dropped at once). A file this machine cannot read
        /// (stored on another machine, damaged) is reported to <paramref name="unreadable"/> and skipped.
        /// </summary>
        public static IReadOnlyList<StoredCredential> List(Action<string, NekkBackupException>? unreadable = null)
        {
            var dir = Directory_;
            var list = new List<StoredCredential>();
            if (!Directory.Exists(dir)) return list;
            var dpapi = PlatformServices.Current.Dpapi;
            foreach (var path in Directory.GetFiles(dir, "*.cred"))
            {
                try
                {
                    var raw = File.ReadAllBytes(path);
                    var json = dpapi != null ? dpapi.Unprotect(raw, Entropy, Scope) : raw;
                    var p = JsonSerializer.Deserialize<Payload>(json);
                    Array.Clear(json, 0, json.Length);
                    if (p == null || string.IsNullOrEmpty(p.Target) || !string.Equals(PathFor(p.Target), path, StringComparison.OrdinalIgnoreCase))
                        throw new JsonException("the file does not hold the credential its name stands for");
                    list.Add(new StoredCredential
                    {
                        Target = p.Target, UserName = p.UserName, Kind = KindOf(p.Target), Path = path,
                        Protection = dpapi != null ? DpapiProtection : "File0600",
                        Updated = p.Updated == default ? File.GetLastWriteTime(path) : p.Updated.ToLocalTime(),
                    });
                }
                catch (Exception ex) when (ex is CryptographicException || ex is JsonException || ex is IOException)
                {
                    unreadable?.Invoke(path, new NekkBackupException("CredentialUnreadable", FailureKind.InvalidData,
                        $"The stored credential '{path}' cannot be read on this machine ({ex.Message}); remove the file, or store the credential again with Set-NekkCredential.", path, ex));
                }
            }
            list.Sort((a, b) => string.CompareOrdinal(a.Target, b.Target));
            return list;
        }

        private sealed class Payload
        {
            public string Target { get; set; } = "";
            public string UserName { get; set; } = "";
            public string Secret { get; set; } = "";
            public DateTime Updated { get; set; }
        }

        private static void PrepareDirectory(string dir, IFolderAcl? acl)
        {
            Directory.CreateDirectory(dir);
            // Windows: locked down again here even though the whole data folder is (DataFolder): the store may live elsewhere.
            if (acl != null) { acl.LockDown(dir); return; }
#if NET
            if (!OperatingSystem.IsWindows())
                File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
#endif
        }

        private static FileStream CreateRestricted(string path)
        {
#if NET
            if (!OperatingSystem.IsWindows())
                return new FileStream(path, new FileStreamOptions
                {
                    Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None,
                    UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
                });
#endif
            return new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        }
    }
}
