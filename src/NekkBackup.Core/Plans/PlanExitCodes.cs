namespace NekkBackup.Core.Plans
{
    /// <summary>The one exit-code map of Invoke-NekkBackupPlan (docs/exit-codes.md, PRODUCT.md §4).</summary>
    public static class PlanExitCodes
    {
        public const int Succeeded = 0;
        public const int Failed = 1;
        public const int CompletedWithErrors = 2;
        public const int InvalidPlan = 3;
        public const int DestinationUnreachable = 4;

        /// <summary>Event Log ids, one per outcome (windows-notes.md §6).</summary>
        public const int EventOk = 1000;
        public const int EventWarning = 1001;
        public const int EventFailure = 1002;

        public static int For(string status) => status switch
        {
            "Succeeded" or "NothingDue" or "Deferred" => Succeeded,
            "CompletedWithErrors" => CompletedWithErrors,
            "Unreachable" => DestinationUnreachable,
            "InvalidPlan" => InvalidPlan,
            _ => Failed, // Failed, Refused, Cancelled
        };

        public static int EventId(string status) => status switch
        {
            "Succeeded" or "NothingDue" => EventOk,
            "CompletedWithErrors" or "Deferred" => EventWarning,
            _ => EventFailure,
        };
    }
}
