using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Validation;

namespace NekkBackup.Core.Plans
{
    /// <summary>
    /// Image leg evidence read straight from a Ghost repository's documented files (docs/ghost-repository.md):
    /// images/&lt;id&gt;.json (committed captures: imageId, host, created, finished) and drills/*.json (restore drills:
    /// imageId, host, started, finished, status Passed|Failed). Only this plan's host counts.
    /// </summary>
    public sealed class ImageEvidenceSource : ILegEvidenceSource
    {
        public PlanLeg Leg => PlanLeg.Image;

        public Task<LegEvidence> ReadAsync(BackupPlan plan, CancellationToken cancellationToken)
        {
            // A repository on a workgroup NAS is reached through the stored credential, as the folder leg's (review W1).
            var repo = plan.ImageRepository!;
            NasConnection connection;
            try { connection = NasConnection.Open(repo); }
            catch (Errors.NekkBackupException ex) { return Task.FromResult(new LegEvidence { Leg = Leg, Location = repo, Problem = ex.Message }); }
            using (connection) return Task.FromResult(Read(plan, repo));
        }

        private LegEvidence Read(BackupPlan plan, string repo)
        {
            if (!Directory.Exists(repo))
                return new LegEvidence { Leg = Leg, Location = repo, Problem = $"the image repository '{repo}' is not reachable (or does not exist yet)" };
            // Read as documented files, inside the repository: no link followed, no FIFO opened, sizes bounded.
            var store = new StoreRoot(repo, "the image repository");
            var images = new List<EvidenceRecord>();
            var ids = new HashSet<string>(StringComparer.Ordinal);
            foreach (var f in Files(store, Path.Combine(store.Path, "images")))
            {
                var o = Read(store, f);
                if (o == null) continue;
                var host = Str(o.Value, "host");
                if (!string.Equals(host, plan.Host, StringComparison.OrdinalIgnoreCase)) continue;
                // Evidence only from a manifest whose id is its file's name and a safe name (anything else is damage).
                var id = Str(o.Value, "imageId") ?? Path.GetFileNameWithoutExtension(f);
                if (!SafeName.IsSafe(id) || id != Path.GetFileNameWithoutExtension(f)) continue;
                var created = Time(o.Value, "created");
                if (created == null) continue;
                ids.Add(id);
                images.Add(new EvidenceRecord
                {
                    StartedUtc = created.Value,
                    FinishedUtc = Time(o.Value, "finished") ?? created.Value,
                    Status = "Succeeded",
                    Id = id,
                    From = f,
                    Bytes = TryProp(o.Value, "newBytes", out var nb) && nb.ValueKind == JsonValueKind.Number && nb.TryGetInt64(out var n) && n >= 0 ? n : null,
                });
            }
            var drills = new List<EvidenceRecord>();
            foreach (var f in Files(store, Path.Combine(store.Path, "drills")))
            {
                var o = Read(store, f);
                if (o == null) continue;
                var id = Str(o.Value, "imageId") ?? "";
                var host = Str(o.Value, "host");
                var status = Str(o.Value, "status");
                if (!SafeName.IsSafe(id) || (status != "Passed" && status != "Failed")) continue; // not a drill record
                if (!ids.Contains(id) && !string.Equals(host, plan.Host, StringComparison.OrdinalIgnoreCase)) continue;
                var started = Time(o.Value, "started") ?? Time(o.Value, "finished");
                if (started == null) continue;
                drills.Add(new EvidenceRecord
                {
                    StartedUtc = started.Value,
                    FinishedUtc = Time(o.Value, "finished") ?? started.Value,
                    Status = status,
                    Id = id,
                    From = f,
                    Detail = Str(o.Value, "method"),
                });
            }
            return new LegEvidence
            {
                Leg = Leg,
                Location = repo,
                Runs = images.OrderBy(r => r.StartedUtc).ToList(),
                Checks = drills.OrderBy(r => r.StartedUtc).ToList(),
                Drills = drills.OrderBy(r => r.StartedUtc).ToList(),
            };
        }

        private static IEnumerable<string> Files(StoreRoot store, string dir)
        {
            try { return store.List(dir, Reasons.RepositoryCorrupt, ".json").Where(e => e.Kind == StoredKind.File).Select(e => e.Path).ToList(); }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is NekkBackupException) { return Array.Empty<string>(); }
        }

        private static JsonElement? Read(StoreRoot store, string file)
        {
            try
            {
                var bytes = store.ReadAllBytes(file, GhostRules.MaxManifestBytes, Reasons.ManifestCorrupt, "the repository file");
                if (bytes == null) return null;
                using var doc = JsonDocument.Parse(bytes);
                return doc.RootElement.ValueKind == JsonValueKind.Object ? doc.RootElement.Clone() : null;
            }
            catch (Exception ex) when (ex is IOException || ex is JsonException || ex is UnauthorizedAccessException || ex is NekkBackupException) { return null; }
        }

        private static bool TryProp(JsonElement o, string name, out JsonElement v)
        {
            v = default;
            try
            {
                foreach (var p in o.EnumerateObject())
                    if (string.Equals(p.Name, name, StringComparison.OrdinalIgnoreCase)) { v = p.Value; return true; }
            }
            catch (InvalidOperationException) { } // a name that is not valid UTF-8: not the property
            return false;
        }

        private static string? Str(JsonElement o, string name)
        {
            if (!TryProp(o, name, out var v) || v.ValueKind != JsonValueKind.String) return null;
            try { return v.GetString(); }
            catch (InvalidOperationException) { return null; } // not valid UTF-8 text: not evidence
        }

        private static DateTime? Time(JsonElement o, string name) =>
            TryProp(o, name, out var v) && v.ValueKind == JsonValueKind.String && v.TryGetDateTime(out var t)
                ? (t.Kind == DateTimeKind.Local ? t.ToUniversalTime() : DateTime.SpecifyKind(t, DateTimeKind.Utc))
                : null;
    }
}
