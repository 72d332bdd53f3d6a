using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Imaging;

namespace NekkBackup.Core.Plans
{
    /// <summary>
    /// Image leg evidence, read through the Ghost repository's own validated readers (the one source of truth for images
    /// and drills): committed captures from the sound manifests (imageId, host, created, finished, newBytes) and restore
    /// drills from the sound drill records (imageId, host, started, finished, status Passed|Failed). Only this plan's host
    /// counts: its images, and drills of its images or run on it.
    /// </summary>
    public sealed class ImageEvidenceSource : ILegEvidenceSource
    {
        public PlanLeg Leg => PlanLeg.Image;

        public Task<LegEvidence> ReadAsync(BackupPlan plan, CancellationToken cancellationToken)
        {
            // A repository on a workgroup NAS is reached through the stored credential, as the folder leg's (review W1).
            var location = plan.ImageRepository!;
            try
            {
                using var connection = NasConnection.Open(location);
                return Task.FromResult(Read(plan, ImageRepository.Open(location), location, cancellationToken));
            }
            catch (NekkBackupException ex) when (ex.Kind != FailureKind.OperationStopped)
            {
                return Task.FromResult(new LegEvidence { Leg = Leg, Location = location, Problem = ex.Message });
            }
        }

        private LegEvidence Read(BackupPlan plan, ImageRepository repo, string location, CancellationToken ct)
        {
            var images = new List<EvidenceRecord>();
            var ids = new HashSet<string>(StringComparer.Ordinal);
            foreach (var m in repo.ReadManifests(null, ct))
            {
                if (!string.Equals(m.Host, plan.Host, StringComparison.OrdinalIgnoreCase)) continue;
                ids.Add(m.ImageId);
                images.Add(new EvidenceRecord
                {
                    StartedUtc = Utc(m.Created),
                    FinishedUtc = m.Finished != default ? Utc(m.Finished) : Utc(m.Created),
                    Status = "Succeeded",
                    Id = m.ImageId,
                    From = repo.Where(repo.ManifestKey(m.ImageId)),
                    Bytes = m.NewBytes,
                });
            }
            var drills = new List<EvidenceRecord>();
            foreach (var (where, d) in repo.ReadDrills(null, ct))
            {
                if (!ids.Contains(d.ImageId) && !string.Equals(d.Host, plan.Host, StringComparison.OrdinalIgnoreCase)) continue;
                var started = d.Started != default ? d.Started : d.Finished;
                drills.Add(new EvidenceRecord
                {
                    StartedUtc = Utc(started),
                    FinishedUtc = d.Finished != default ? Utc(d.Finished) : Utc(started),
                    Status = d.Status,
                    Id = d.ImageId,
                    From = where,
                    Detail = d.Method,
                });
            }
            return new LegEvidence
            {
                Leg = Leg,
                Location = location,
                Runs = images.OrderBy(r => r.StartedUtc).ToList(),
                Checks = drills.OrderBy(r => r.StartedUtc).ToList(),
                Drills = drills.OrderBy(r => r.StartedUtc).ToList(),
            };
        }

        private static DateTime Utc(DateTime t) => t.Kind == DateTimeKind.Local ? t.ToUniversalTime() : DateTime.SpecifyKind(t, DateTimeKind.Utc);
    }
}
