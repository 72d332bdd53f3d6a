namespace NekkBackup
{
    /// <summary>One schedule Register-NekkBackupPlan created (or -WhatIf would create).</summary>
    public sealed class PlanRegistration
    {
        public string Plan { get; init; } = "";
        public string Job { get; init; } = "";
        /// <summary>TaskScheduler, Systemd or Cron.</summary>
        public string Scheduler { get; init; } = "";
        /// <summary>Task path (\NekkBackup\name), unit name or cron file.</summary>
        public string Name { get; init; } = "";
        /// <summary>The schedule in words, and its native form (OnCalendar / cron fields).</summary>
        public string Schedule { get; init; } = "";
        public string Native { get; init; } = "";
        /// <summary>Files written (units, cron file); empty for Task Scheduler.</summary>
        public string[] Files { get; init; } = System.Array.Empty<string>();
        /// <summary>Registered (or Removed for Unregister-NekkBackupPlan; Absent when there was nothing).</summary>
        public string Status { get; init; } = "";

        public override string ToString() => Name;
    }
}
