using System;
using System.Linq;
using System.Management.Automation;
using NekkBackup.Core.Plans;

namespace NekkBackup.Commands.Plans
{
    /// <summary>Get-NekkBackupHistory: the plan's run history across legs, from the NAS (and the local copy), oldest first.</summary>
    [Cmdlet(VerbsCommon.Get, "NekkBackupHistory")]
    [OutputType(typeof(PlanHistoryEntry))]
    public sealed class GetNekkBackupHistoryCommand : PlanCmdletBase
    {
        [Parameter]
        [ValidateSet("Folder", "Image", "Cloud", "Drill")]
        public string[]? Job { get; set; }

        [Parameter]
        public DateTime? After { get; set; }

        [Parameter]
        [ValidateRange(1, int.MaxValue)]
        public int Last { get; set; }

        protected override void ProcessRecord()
        {
            var plan = LoadPlan();
            var entries = PlanHistoryStore.Read(plan).AsEnumerable();
            if (Job != null) entries = entries.Where(e => Job.Any(j => string.Equals(j, e.Job, StringComparison.OrdinalIgnoreCase)));
            if (After != null) entries = entries.Where(e => e.StartedUtc.ToLocalTime() >= After.Value);
            var list = entries.ToList();
            if (Last > 0 && list.Count > Last) list = list.Skip(list.Count - Last).ToList();
            foreach (var e in list) WriteObject(e);
        }
    }
}
