using System.Management.Automation;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Plans;

namespace NekkBackup.Commands.Plans
{
    /// <summary>
    /// Set-NekkCredential: stores a NAS share's or a bucket's secret for the machine's backup principal (Windows: DPAPI
    /// LocalMachine scope in a SYSTEM/Administrators-only folder, readable by the SYSTEM task; Linux: root-only 0600 file).
    /// </summary>
    [Cmdlet(VerbsCommon.Set, "NekkCredential", SupportsShouldProcess = true)]
    [OutputType(typeof(StoredCredential))]
    public sealed class SetNekkCredentialCommand : Infrastructure.NekkCmdlet
    {
        /// <summary>\\nas\share (any path on the share) or a bucket name.</summary>
        [Parameter(Mandatory = true, Position = 0)]
        [ValidateNotNullOrEmpty]
        public string Target { get; set; } = null!;

        [Parameter(Mandatory = true, Position = 1)]
        [Credential]
        public PSCredential Credential { get; set; } = null!;

        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void ProcessRecord()
        {
            string normalized;
            try { normalized = CredentialStore.NormalizeTarget(Target); }
            catch (NekkBackupException ex) { Terminate(ex, Target); return; }
            if (!ShouldProcess(normalized, $"Store the credential of '{Credential.UserName}'")) return;
            // PowerShell types stop here: plain values go to Core and are dropped after the write.
            var secret = Credential.GetNetworkCredential().Password;
            StoredCredential stored;
            try { stored = CredentialStore.Set(normalized, Credential.UserName, secret); }
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
