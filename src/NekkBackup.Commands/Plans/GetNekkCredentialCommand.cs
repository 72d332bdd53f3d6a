using System;
using System.Linq;
using System.Management.Automation;
using NekkBackup.Commands.Infrastructure;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Plans;

namespace NekkBackup.Commands.Plans
{
    /// <summary>
    /// Get-NekkCredential: the targets Set-NekkCredential stored for this account's backup principal (NAS shares,
    /// buckets, smtp:/webhook: channels) with user name, kind, protection and when stored — never a secret.
    /// </summary>
    [Cmdlet(VerbsCommon.Get, "NekkCredential")]
    [OutputType(typeof(StoredCredential))]
    public sealed class GetNekkCredentialCommand : NekkCmdlet
    {
        /// <summary>Targets to show (wildcards); all when omitted.</summary>
        [Parameter(Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(CredentialTargetCompleter))]
        public string[]? Target { get; set; }

        protected override void ProcessRecord()
        {
            var stored = CredentialStores.List(this);
            if (Target == null)
            {
                foreach (var c in stored) WriteObject(c);
                return;
            }
            foreach (var t in Target)
            {
                var matches = CredentialStores.Matching(stored, t);
                if (matches.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(t))
                    WriteNekkError(CredentialStores.NotFound(t), t);
                foreach (var c in matches) WriteObject(c);
            }
        }
    }

    /// <summary>Remove-NekkCredential: deletes stored credentials by target (binds Target from Get-NekkCredential).</summary>
    [Cmdlet(VerbsCommon.Remove, "NekkCredential", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
    [OutputType(typeof(PreviewItem))]
    public sealed class RemoveNekkCredentialCommand : NekkCmdlet
    {
        [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
        [SupportsWildcards]
        [ValidateNotNullOrEmpty]
        [ArgumentCompleter(typeof(CredentialTargetCompleter))]
        public string[] Target { get; set; } = null!;

        protected override void ProcessRecord()
        {
            var stored = CredentialStores.List(this);
            foreach (var t in Target)
            {
                var matches = CredentialStores.Matching(stored, t);
                if (matches.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(t))
                {
                    WriteNekkError(CredentialStores.NotFound(t), t);
                    continue;
                }
                foreach (var c in matches)
                {
                    if (!ShouldProcess(c.Target, $"Remove the stored {c.Kind.ToLowerInvariant()} credential of '{c.UserName}' ({c.Path})"))
                    {
                        // -WhatIf: the entry that would go, as a typed row (never its secret).
                        if (WhatIfRequested)
                            WriteObject(new PreviewItem { Action = "Remove", Path = c.Target, Detail = $"{c.Kind.ToLowerInvariant()} credential of '{c.UserName}', stored {c.Updated.ToLocalTime():yyyy-MM-dd HH:mm} ({c.Protection})" });
                        continue;
                    }
                    try
                    {
                        CredentialStore.Remove(c.Target);
                        WriteVerbose($"Removed the credential for {c.Target}.");
                    }
                    catch (Exception ex) when (ex is System.IO.IOException || ex is UnauthorizedAccessException)
                    {
                        WriteNekkError(CredentialStores.AccessDenied(ex, c.Target), c.Target);
                    }
                }
            }
        }
    }

    /// <summary>What the credential cmdlets share: listing the store as a cmdlet, target matching, errors.</summary>
    internal static class CredentialStores
    {
        public static System.Collections.Generic.IReadOnlyList<StoredCredential> List(NekkCmdlet cmdlet)
        {
            try
            {
                return CredentialStore.List((path, ex) => cmdlet.WriteError(ErrorMapping.ToRecord(ex, path)));
            }
            catch (Exception ex) when (ex is System.IO.IOException || ex is UnauthorizedAccessException)
            {
                cmdlet.ThrowTerminatingError(ErrorMapping.ToRecord(AccessDenied(ex, CredentialStore.Directory_), CredentialStore.Directory_));
                throw; // unreachable
            }
        }

        /// <summary>Exact match after the same normalisation Set-NekkCredential applies, or a wildcard over the stored targets.</summary>
        public static System.Collections.Generic.List<StoredCredential> Matching(System.Collections.Generic.IEnumerable<StoredCredential> stored, string target)
        {
            if (WildcardPattern.ContainsWildcardCharacters(target))
            {
                var pattern = new WildcardPattern(target, WildcardOptions.IgnoreCase);
                return stored.Where(c => pattern.IsMatch(c.Target)).ToList();
            }
            string normalized;
            try { normalized = CredentialStore.NormalizeTarget(target); }
            catch (NekkBackupException) { return new System.Collections.Generic.List<StoredCredential>(); }
            return stored.Where(c => string.Equals(c.Target, normalized, StringComparison.OrdinalIgnoreCase)).ToList();
        }

        public static NekkBackupException NotFound(string target) =>
            Core.Errors.Fail.NotFound("CredentialNotFound",
                $"No credential is stored for '{target}' (Get-NekkCredential lists the stored targets; Set-NekkCredential stores one).", target);

        public static NekkBackupException AccessDenied(Exception ex, string what) =>
            new("AccessDenied", FailureKind.PermissionDenied,
                $"Cannot read or change the credential store ({ex.Message}). Run elevated: as root on Linux, as SYSTEM or Administrator on Windows.", what, ex);
    }
}
