using System;
using System.Management.Automation;
using System.Runtime.InteropServices;
using System.Security;
using NekkBackup.Commands.Infrastructure;
using NekkBackup.Core.Cloud;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Plans;

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
        [ArgumentCompleter(typeof(AwsProfileCompleter))]
        public string? ProfileName { get; set; }

        [Parameter]
        [Credential]
        public PSCredential? Credential { get; set; }

        /// <summary>Host segment of the layout; default this machine (set it to restore another machine's backup).</summary>
        protected virtual string? HostNameValue => null;

        protected CloudTarget BuildTarget()
        {
            if (CredentialConflict(Credential, ProfileName) is { } conflict) Terminate(conflict);
            try
            {
                var target = TargetFor(Bucket, Prefix, Endpoint, Region, ProfileName, Credential, HostNameValue, out var stored);
                if (stored) WriteVerbose($"Using the credential Set-NekkCredential stored for the bucket '{Bucket}'.");
                CloudClient.Validate(target);
                return target;
            }
            catch (NekkBackupException ex)
            {
                Terminate(ex, Bucket);
                throw; // unreachable
            }
        }

        /// <summary>
        /// The bucket target with its credentials: -Credential, else -ProfileName, else the one Set-NekkCredential stored
        /// for the bucket (what plans use, PRODUCT.md §3.6), else the AWS environment and default profile (resolved by
        /// the client, which fails with NekkBackup.CloudCredentialsMissing when there are none anywhere).
        /// </summary>
        internal static CloudTarget TargetFor(string bucket, string? prefix, string? endpoint, string? region, string? profileName,
            PSCredential? credential, string? host, out bool storedCredential)
        {
            string? key = null, secret = null;
            storedCredential = false;
            if (credential != null)
            {
                key = credential.UserName;
                secret = Plain(credential.Password);
            }
            else if (string.IsNullOrEmpty(profileName))
            {
                var stored = CredentialStore.TryGet(bucket);
                if (stored != null)
                {
                    key = stored.UserName;
                    secret = stored.Secret;
                    storedCredential = true;
                }
            }
            return new CloudTarget
            {
                Bucket = bucket, Prefix = prefix ?? "", Endpoint = endpoint, Region = region, ProfileName = profileName,
                AccessKey = key, SecretKey = secret, Host = host,
            };
        }

        /// <summary>
        /// Where the fleet's status objects are read (Get-NekkFleetStatus, Export-NekkBackupReport -Bucket), with the
        /// credentials resolved exactly as <see cref="TargetFor"/> does for the cloud cmdlets.
        /// </summary>
        internal static FleetBucketTarget FleetTargetFor(string bucket, string? prefix, string? endpoint, string? region, string? profileName,
            PSCredential? credential, out bool storedCredential)
        {
            if (CredentialConflict(credential, profileName) is { } conflict) throw conflict;
            var t = TargetFor(bucket, prefix, endpoint, region, profileName, credential, null, out storedCredential);
            return new FleetBucketTarget
            {
                Bucket = t.Bucket, Prefix = t.Prefix, Endpoint = t.Endpoint, Region = t.Region, ProfileName = t.ProfileName,
                AccessKey = t.AccessKey, SecretKey = t.SecretKey,
            };
        }

        /// <summary>-Credential and -ProfileName together: which keys were meant cannot be told.</summary>
        private static NekkBackupException? CredentialConflict(PSCredential? credential, string? profileName) =>
            credential != null && profileName != null ? Fail.Argument("ConflictingCredential", "Give either -Credential or -ProfileName, not both.", profileName) : null;

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
