using System.Collections.Generic;
using NekkBackup.Core.Snapshots;

namespace NekkBackup.Core.Validation
{
    /// <summary>
    /// What snapshots.json (the data folder's list of snapshots this module made) must look like. Its records drive
    /// deletions, so a damaged record is never skipped or guessed at: the whole file is
    /// <c>NekkBackup.SnapshotStateCorrupt</c> naming the record and field (move it aside; the providers also refuse to
    /// delete anything that is not theirs).
    /// </summary>
    internal static class SnapshotRules
    {
        public const long MaxStateBytes = 16L << 20;

        public static List<SnapshotRecord> Check(List<SnapshotRecord>? list, StoredCheck c)
        {
            c.List(list, "Snapshots", 100_000);
            var ids = new HashSet<string>(System.StringComparer.Ordinal);
            for (int i = 0; i < list!.Count; i++)
            {
                var r = list[i];
                var f = $"Snapshots[{i}]";
                c.Text(r.SnapshotId, f + ".SnapshotId", 512, allowEmpty: false);
                if (!ids.Add(r.SnapshotId)) throw c.Error(f + ".SnapshotId", $"repeats '{r.SnapshotId}'");
                c.Text(r.Provider, f + ".Provider", 64);
                c.Text(r.Volume, f + ".Volume");
                c.Text(r.SourcePath, f + ".SourcePath");
                c.Text(r.SnapshotPath, f + ".SnapshotPath");
                c.OneOf(r.State, f + ".State", SnapshotStates.Creating, SnapshotStates.Ready, SnapshotStates.ReleaseFailed);
                c.Text(r.OwnerHost, f + ".OwnerHost", 256);
                if (r.Data == null) throw c.Error(f + ".Data", "is missing (null)");
                foreach (var kv in r.Data) c.Text(kv.Value, $"{f}.Data.{kv.Key}");
            }
            return list;
        }
    }
}
