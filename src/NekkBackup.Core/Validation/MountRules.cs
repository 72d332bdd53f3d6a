using System.Collections.Generic;
using System.IO;
using NekkBackup.Core.Imaging;

namespace NekkBackup.Core.Validation
{
    /// <summary>
    /// What mounts.json (the data folder's list of image mounts this module made) must look like. Its records drive
    /// unmounts, loop-device detaches and folder deletions, so a damaged record is never skipped or guessed at: the
    /// whole file is <c>NekkBackup.MountStateCorrupt</c> naming the record and field, and a record's work folder must
    /// be the repository's own <c>mounts/&lt;MountId&gt;</c> with the image file directly inside it.
    /// </summary>
    internal static class MountRules
    {
        public const long MaxStateBytes = 4L << 20;

        public static void Check(List<MountRecord>? list, StoredCheck c)
        {
            c.List(list, "Mounts", 10_000);
            var ids = new HashSet<string>(System.StringComparer.Ordinal);
            for (int i = 0; i < list!.Count; i++)
            {
                var r = list[i];
                var f = $"Mounts[{i}]";
                c.Name(r.MountId, f + ".MountId");
                if (!ids.Add(r.MountId)) throw c.Error(f + ".MountId", $"repeats '{r.MountId}'");
                c.Text(r.Repository, f + ".Repository", allowEmpty: false);
                c.Text(r.ImageId, f + ".ImageId", 512);
                c.Text(r.Source, f + ".Source");
                c.Text(r.Host, f + ".Host", 256);
                c.Range(r.SizeBytes, 0, long.MaxValue, f + ".SizeBytes");
                c.Text(r.MountPoint, f + ".MountPoint", allowEmpty: false);
                c.Text(r.WorkDirectory, f + ".WorkDirectory", allowEmpty: false);
                c.Text(r.ImageFile, f + ".ImageFile", allowEmpty: false);
                c.OptionalText(r.Device, f + ".Device", 256);
                c.OptionalText(r.FileSystem, f + ".FileSystem", 64);
                c.OneOf(r.State, f + ".State", MountStates.Creating, MountStates.Ready);
                c.Text(r.OwnerHost, f + ".OwnerHost", 256);
                if (!Path.IsPathRooted(r.Repository)) throw c.Error(f + ".Repository", "is not an absolute path");
                var work = Path.Combine(r.Repository, GhostMountManager.MountsFolder, r.MountId);
                if (!string.Equals(Path.GetFullPath(r.WorkDirectory), Path.GetFullPath(work), System.StringComparison.Ordinal))
                    throw c.Error(f + ".WorkDirectory", $"is not the repository's own mounts/{r.MountId} folder");
                if (!string.Equals(Path.GetDirectoryName(Path.GetFullPath(r.ImageFile)), Path.GetFullPath(work), System.StringComparison.Ordinal))
                    throw c.Error(f + ".ImageFile", "is not directly inside the record's work folder");
            }
        }
    }
}
