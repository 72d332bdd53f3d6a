using System.Management.Automation;
using NekkBackup.Commands.Infrastructure;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Plans;

namespace NekkBackup.Commands.Plans
{
    /// <summary>
    /// Set-NekkCredential: stores a NAS share's or a bucket's secret for the machine's backup principal (Windows: DPAPI
    /// LocalMachine scope in a SYSTEM/Administrators-only folder, readable by the SYSTEM task; Linux: root-only 0600 file).
    /// </summary>
    [Cmdlet(VerbsCommon.Set, "NekkCredential", SupportsShouldProcess = true, DefaultParameterSetName = "Credential")]
    [OutputType(typeof(StoredCredential))]
    public sealed class SetNekkCredentialCommand : Infrastructure.NekkCmdlet
    {
        /// <summary>\\nas\share (any path on the share), a bucket name, smtp:&lt;server&gt; or webhook:&lt;name&gt;.</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(CredentialTargetCompleter))]
        public string Target { get; set; } = null!;

        [Parameter(Mandatory = true, Position = 1, ParameterSetName = "Credential")]
        [Credential]
        public PSCredential Credential { get; set; } = null!;

        /// <summary>A secret without a user name: a webhook's URL (Target webhook:&lt;name&gt;).</summary>
        [Parameter(Mandatory = true, ParameterSetName = "Secret")]
        public System.Security.SecureString Secret { get; set; } = null!;

        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void ProcessRecord()
        {
            string normalized;
            try { normalized = CredentialStore.NormalizeTarget(Target); }
            catch (NekkBackupException ex) { Terminate(ex, Target); return; }
            var user = ParameterSetName == "Secret" ? (normalized.StartsWith("webhook:", System.StringComparison.Ordinal) ? "webhook" : "secret") : Credential.UserName;
            if (!ShouldProcess(normalized, ParameterSetName == "Secret" ? "Store the secret" : $"Store the credential of '{user}'")) return;
            // PowerShell types stop here: plain values go to Core and are dropped after the write.
            var secret = ParameterSetName == "Secret" ? Cloud.CloudCmdletBase.Plain(Secret) : Credential.GetNetworkCredential().Password;
            StoredCredential stored;
            try
            {
                Core.Notify.NotifySecrets.Validate(normalized, secret);
                stored = CredentialStore.Set(normalized, user, secret);
            }
            catch (NekkBackupException ex) { Terminate(ex, normalized); return; }
            catch (System.UnauthorizedAccessException ex)
            {
                Terminate(new NekkBackupException("AccessDenied", FailureKind.PermissionDenied,
                    $"Cannot write the credential store ({ex.Message}). Run elevated: as root on Linux, as SYSTEM or Administrator on Windows.", normalized, ex));
                return;
            }
            WriteVerbose($"Stored the credential for {stored.Target} ({stored.Protection}) in {stored.Path}.");
            if (PassThru) WriteObject(stored);
        }
    }
}
