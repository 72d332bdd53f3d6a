using System;
using System.Management.Automation;
using System.Runtime.InteropServices;
using System.Security;
using NekkBackup.Commands.Infrastructure;
using NekkBackup.Core.Cloud;
using NekkBackup.Core.Errors;

namespace NekkBackup.Commands.Cloud
{
    /// <summary>Parameters every cloud cmdlet shares: where the bucket is and who we are there.</summary>
    public abstract class CloudCmdletBase : NekkCmdlet
    {
        [Parameter(Mandatory = true)]
        [ValidateNotNullOrEmpty]
        public string Bucket { get; set; } = null!;

        [Parameter]
        public string Prefix { get; set; } = "";

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Endpoint { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? Region { get; set; }

        [Parameter]
        [ValidateNotNullOrEmpty]
        public string? ProfileName { get; set; }

        [Parameter]
        [Credential]
        public PSCredential? Credential { get; set; }

        /// <summary>Host segment of the layout; default this machine (set it to restore another machine's backup).</summary>
        protected virtual string? HostNameValue => null;

        protected CloudTarget BuildTarget()
        {
            if (Credential != null && ProfileName != null)
                Terminate(Fail.Argument("ConflictingCredential", "Give either -Credential or -ProfileName, not both.", ProfileName));
            string? key = null, secret = null;
            if (Credential != null)
            {
                key = Credential.UserName;
                secret = Plain(Credential.Password);
            }
            var target = new CloudTarget
            {
                Bucket = Bucket, Prefix = Prefix ?? "", Endpoint = Endpoint, Region = Region, ProfileName = ProfileName,
                AccessKey = key, SecretKey = secret, Host = HostNameValue,
            };
            try
            {
                CloudClient.Validate(target);
            }
            catch (NekkBackupException ex)
            {
                Terminate(ex);
            }
            return target;
        }

        internal static string Plain(SecureString s)
        {
            IntPtr p = IntPtr.Zero;
            try
            {
                p = Marshal.SecureStringToGlobalAllocUnicode(s);
                return Marshal.PtrToStringUni(p) ?? "";
            }
            finally
            {
                if (p != IntPtr.Zero) Marshal.ZeroFreeGlobalAllocUnicode(p);
            }
        }

        /// <summary>-EncryptionKey: a SecureString or string passphrase, or 32 raw key bytes.</summary>
        protected ContentCipher? CipherFrom(object? value)
        {
            if (value is PSObject pso) value = pso.BaseObject;
            try
            {
                return value switch
                {
                    null => null,
                    SecureString ss => ContentCipher.FromPassphrase(Plain(ss)),
                    string s => ContentCipher.FromPassphrase(s),
                    byte[] b => ContentCipher.FromKey(b),
                    object[] arr when Array.TrueForAll(arr, o => (o is PSObject p ? p.BaseObject : o) is byte) =>
                        ContentCipher.FromKey(Array.ConvertAll(arr, o => (byte)(o is PSObject p ? p.BaseObject : o))),
                    _ => throw Fail.Argument("InvalidEncryptionKey", "-EncryptionKey takes a SecureString or string passphrase, or a 32-byte key.", value.GetType().Name),
                };
            }
            catch (NekkBackupException ex)
            {
                Terminate(ex);
                return null;
            }
        }

        protected string Where(CloudTarget t) => $"{(t.Endpoint ?? "s3")}/{t.Bucket}/{t.HostRoot}";
    }
}
