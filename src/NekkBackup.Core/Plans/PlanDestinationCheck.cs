namespace NekkBackup
{
    /// <summary>One destination checked by Test-NekkBackupPlan.</summary>
    public sealed class PlanDestinationCheck
    {
        public string Plan { get; init; } = "";
        /// <summary>Folder, Image or Cloud.</summary>
        public string Leg { get; init; } = "";
        public string Target { get; init; } = "";
        public bool Reachable { get; init; }
        public bool Writable { get; init; }
        /// <summary>Stored credential used (Set-NekkCredential), the machine's own identity, or an AWS profile.</summary>
        public string CredentialSource { get; init; } = "";
        /// <summary>Passed or Failed.</summary>
        public string Status { get; init; } = "";
        public string Detail { get; init; } = "";

        public override string ToString() => $"{Leg} {Target} {Status}";
    }
}
