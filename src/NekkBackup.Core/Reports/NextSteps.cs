using System;

namespace NekkBackup.Core.Reports
{
    /// <summary>What to do next, in plain words, for a failing compliance rule or a run that did not succeed (reports and alerts share it).</summary>
    public static class NextSteps
    {
        public static string ForRule(string rule, string plan, bool planHasCloud = true, bool planHasImage = true) => rule switch
        {
            "ThreeCopies" or "OneOffsite" or "CloudFresh" when !planHasCloud =>
                $"Add an off-site copy: give the plan a Cloud key (a bucket) and store its keys with Set-NekkCredential, then run Invoke-NekkBackupPlan -Path {plan} -Job Cloud.",
            "ThreeCopies" or "OneOffsite" or "CloudFresh" =>
                $"Get the cloud upload going again: run Test-NekkBackupPlan -Path {plan} to check the bucket and its credentials, then Invoke-NekkBackupPlan -Path {plan} -Job Cloud.",
            "TwoMedia" => "Keep the backups on another device than the working data: point NasDestination at the NAS, not at the workstation's own disk.",
            "FolderFresh" =>
                $"The NAS backup is late: check that the NAS is online and the schedule is registered (Register-NekkBackupPlan -Path {plan}), then run Invoke-NekkBackupPlan -Path {plan} -Job Folder.",
            "ImageFresh" when !planHasImage => "Image the system disk too: add an Image key (Source and Repository) to the plan so the studio can be rebuilt after a disk failure.",
            "ImageFresh" => $"The system image is late: run Invoke-NekkBackupPlan -Path {plan} -Job Image outside session hours.",
            "DrillWithin92Days" => $"Prove a restore works: run Invoke-NekkBackupPlan -Path {plan} -Job Drill (it restores to scratch space and checks every byte).",
            "ImageRepositorySeparate" when !planHasImage => "Add a Ghost image repository on a different share than the folder backups.",
            "ImageRepositorySeparate" => "Move the Ghost image repository to a different share or volume than the folder backups, so one failure cannot take both.",
            "IntegrityCheckPassed" => "A check found damage: run Test-NekkFolderBackup -Full and Test-NekkGhostImage -Full to name it, and run a fresh backup so a good copy exists.",
            _ => $"Run Test-NekkBackupCompliance -Path {plan} for the details.",
        };

        /// <summary>For an alert or a report line about a run whose status is not a success.</summary>
        public static string ForRun(string status, string? leg, string plan) => status switch
        {
            "Unreachable" => $"Check that the destination is online and that the schedule's account can reach it: run Test-NekkBackupPlan -Path {plan}.",
            "Refused" when string.Equals(leg, "Folder", StringComparison.OrdinalIgnoreCase) || leg == null =>
                "The ransomware guard stopped the backup because too many files changed or look encrypted. Check the workstation before anything else; if the change is expected, run Backup-NekkFolder once with -Force.",
            "Refused" => $"The run was refused (another run may hold the plan); see Get-NekkBackupHistory -Path {plan} -Last 5.",
            "Cancelled" => $"The run was stopped before it finished; the next scheduled run catches up, or run Invoke-NekkBackupPlan -Path {plan} now.",
            "CompletedWithErrors" => $"Some files could not be copied (locked or denied); see Get-NekkBackupHistory -Path {plan} -Last 5 and the run log.",
            "Deferred" => "A DAW was running, so the run waited; the next scheduled run catches up.",
            _ => $"Read the reason above, fix it, then run Invoke-NekkBackupPlan -Path {plan}{(leg != null ? " -Job " + leg : "")} and check it succeeds.",
        };
    }
}
