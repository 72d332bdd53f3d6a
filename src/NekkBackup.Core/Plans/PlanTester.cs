using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Plans
{
    /// <summary>
    /// Test-NekkBackupPlan: every destination reachable and writable with the credentials the schedule will use
    /// (a probe file written, read back and deleted on the NAS and the image repository; a probe object in the bucket
    /// through <see cref="PlanLegRegistry.Bucket"/>).
    /// </summary>
    public static class PlanTester
    {
        public static async Task<IReadOnlyList<PlanDestinationCheck>> TestAsync(BackupPlan plan, CancellationToken ct)
        {
            var list = new List<PlanDestinationCheck> { ProbeDirectory(plan, "Folder", plan.NasDestination) };
            foreach (var s in plan.Sources)
            {
                bool ok = Directory.Exists(s);
                list.Add(new PlanDestinationCheck
                {
                    Plan = plan.Name, Leg = "Source", Target = s, Reachable = ok, Writable = false, CredentialSource = "the account's own identity",
                    Status = ok ? "Passed" : "Failed", Detail = ok ? "source folder readable" : "the source folder does not exist",
                });
            }
            if (plan.HasImage) list.Add(ProbeDirectory(plan, "Image", plan.ImageRepository!));
            if (plan.HasCloud) list.Add(await PlanLegRegistry.Bucket.ProbeAsync(plan, ct).ConfigureAwait(false));
            return list;
        }

        public static PlanDestinationCheck ProbeDirectory(BackupPlan plan, string leg, string dir)
        {
            string credential = "";
            try
            {
                using var conn = NasConnection.Open(dir);
                credential = conn.CredentialSource;
                var probeDir = Directory.Exists(dir) ? dir : Path.GetDirectoryName(dir.TrimEnd('/', '\\'));
                if (probeDir == null || !Directory.Exists(probeDir))
                    return Check(false, false, $"'{dir}' is not reachable and neither is its parent folder");
                var probe = Path.Combine(probeDir, $".nekkbackup-probe-{OperatingSystemInfo.HostName}-{Guid.NewGuid():N}.tmp");
                var bytes = Guid.NewGuid().ToByteArray();
                File.WriteAllBytes(probe, bytes);
                var back = File.ReadAllBytes(probe);
                File.Delete(probe);
                if (!((IStructuralEquatable)bytes).Equals(back, System.Collections.StructuralComparisons.StructuralEqualityComparer))
                    return Check(true, false, $"a probe file written to '{probeDir}' read back different bytes");
                return Check(true, true, Directory.Exists(dir) ? $"wrote, read back and deleted a probe file in '{dir}'" : $"'{dir}' will be created; its parent '{probeDir}' is writable");
            }
            catch (NekkBackupException ex) { return Check(false, false, ex.Message); }
            catch (UnauthorizedAccessException ex) { return Check(true, false, $"not writable by this account: {ex.Message}"); }
            catch (IOException ex) { return Check(true, false, $"writing a probe file failed: {ex.Message}"); }

            PlanDestinationCheck Check(bool reachable, bool writable, string detail) => new()
            {
                Plan = plan.Name, Leg = leg, Target = dir, Reachable = reachable, Writable = writable, CredentialSource = credential,
                Status = reachable && writable ? "Passed" : "Failed", Detail = detail,
            };
        }
    }
}
