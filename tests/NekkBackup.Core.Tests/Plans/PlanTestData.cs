using System;
using System.Collections;

namespace NekkBackup.Core.Tests.Plans
{
    /// <summary>Plan hashtables as the cmdlet layer hands them to Core (what Import-PowerShellDataFile yields).</summary>
    internal static class PlanTestData
    {
        public static Hashtable Full() => new(StringComparer.OrdinalIgnoreCase)
        {
            ["SchemaVersion"] = 1,
            ["Name"] = "studio-a",
            ["Sources"] = new object[] { "/srv/Sessions", "/srv/Samples" },
            ["NasDestination"] = "/mnt/nas/studio-a",
            ["Folder"] = new Hashtable { ["Snapshot"] = "None", ["Exclude"] = new object[] { "*.tmp" }, ["MaxChangedPercent"] = 40 },
            ["Retention"] = new Hashtable { ["KeepLast"] = 12, ["Daily"] = 14 },
            ["Image"] = new Hashtable { ["Source"] = "/dev/sda2", ["Repository"] = "/mnt/nas2/ghost" },
            ["Cloud"] = new Hashtable { ["Bucket"] = "offsite", ["Endpoint"] = "http://127.0.0.1:4568", ["Prefix"] = "nekk", ["Region"] = "us-east-1" },
            ["Schedules"] = new Hashtable { ["Cloud"] = new Hashtable { ["At"] = "23:30" } },
            ["Daw"] = new Hashtable { ["Processes"] = new object[] { "Pro Tools", "reaper" }, ["Policy"] = "Throttle" },
        };

        public static Hashtable Minimal() => new(StringComparer.OrdinalIgnoreCase)
        {
            ["SchemaVersion"] = 1,
            ["Sources"] = "/srv/Sessions",
            ["NasDestination"] = "/mnt/nas/studio-a",
        };
    }
}
