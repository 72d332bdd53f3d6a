using System.Collections.Generic;
using System.IO;
using System.Linq;
using NekkBackup.Core.Primitives;

namespace NekkBackup.Core.Folder
{
    /// <summary>
    /// Turns a run's plan (<see cref="PlanPhase"/>: decided before anything is written) into the -WhatIf preview the
    /// cmdlet shows: counts and bytes to copy, version and delete, the guard's verdict and the runs retention would prune.
    /// </summary>
    internal static class FolderPreview
    {
        public static FolderBackupPreview Build(BackupContext ctx, FolderRunPlan plan, Baseline baseline, ScanResult scan)
        {
            var state = baseline.State;
            var items = new List<PreviewItem>();
            long copyBytes = 0, checkBytes = 0, versionBytes = 0, deleteBytes = 0, copies = 0, checks = 0, links = 0, versions = 0, deletes = 0;
            void Version(ManifestEntry cur, string why)
            {
                versions++;
                versionBytes += cur.Size;
                items.Add(new PreviewItem { Action = "Version", Path = cur.Path, Size = cur.Size, Detail = why });
            }
            foreach (var d in plan.DirOps)
            {
                items.Add(new PreviewItem { Action = "Folder", Path = d.Item.Path, Detail = "new folder" });
                if (d.Cur != null && d.Cur.IsFile) Version(d.Cur, "a folder takes its place");
            }
            foreach (var op in plan.Ops.OrderBy(o => o.Item.Path, System.StringComparer.Ordinal))
            {
                switch (op.Kind)
                {
                    case OpKind.Copy:
                        copies++;
                        copyBytes += op.Item.Size;
                        items.Add(new PreviewItem { Action = "Copy", Path = op.Item.Path, Size = op.Item.Size, Detail = op.Cur == null ? "new" : "changed" });
                        break;
                    case OpKind.Verify:
                        checks++;
                        checkBytes += op.Item.Size;
                        items.Add(new PreviewItem { Action = "Check", Path = op.Item.Path, Size = op.Item.Size, Detail = "same size: hashed, copied only if the content differs" });
                        break;
                    default:
                        links++;
                        items.Add(new PreviewItem { Action = "Link", Path = op.Item.Path, Detail = "link to " + op.Item.Link });
                        break;
                }
                // A copy replaces the current version (a check only when the content turns out to differ).
                if (op.Cur != null && op.Cur.IsFile && op.Kind != OpKind.Verify) Version(op.Cur, "replaced");
            }
            foreach (var p in plan.Deletions)
            {
                if (!state.TryGetValue(p, out var e) || e.IsDir)
                {
                    items.Add(new PreviewItem { Action = "Delete", Path = p, Detail = "folder gone from the source" });
                    continue;
                }
                deletes++;
                deleteBytes += e.Size;
                items.Add(new PreviewItem { Action = "Delete", Path = p, Size = e.IsFile ? e.Size : null, Detail = "gone from the source" });
                if (e.IsFile) Version(e, "deleted");
            }
            foreach (var id in plan.RetentionDrops)
                items.Add(new PreviewItem { Action = "Prune", Path = id, Detail = "run retention would drop after this one" });

            var g = plan.Guard;
            string guard = !g.Checked ? "NotChecked" : g.Refusal != null ? "Refuse" : "Pass";
            string guardDetail = !g.Checked
                ? (baseline.Last == null ? "first run: nothing to compare with" : "-Force: the ransomware guard is skipped")
                : g.Refusal ?? $"{g.Replaced} replaced and {g.Deleted} deleted of {g.LastFiles} files ({g.ChangedPercent:0.#} %, limit {ctx.Options.MaxChangedPercent:0.#} %); {g.Suspicious} replaced files look encrypted (compressed before, not now)";
            return new FolderBackupPreview
            {
                Source = ctx.Options.Sources.Select(Path.GetFullPath).ToArray(),
                Destination = ctx.Repo.Destination,
                DestinationHasBackup = baseline.Last != null,
                FilesScanned = scan.Files,
                FilesToCopy = copies, BytesToCopy = copyBytes,
                FilesToCheck = checks, BytesToCheck = checkBytes,
                LinksToRecord = links,
                FoldersToCreate = plan.FoldersToMake,
                FilesToVersion = versions, BytesToVersion = versionBytes,
                FilesToDelete = deletes, BytesToDelete = deleteBytes,
                Guard = guard, ChangedPercent = g.ChangedPercent, GuardDetail = guardDetail,
                RetentionPrunes = plan.RetentionDrops.ToArray(),
                RetentionDetail = plan.RetentionProblem ?? (ctx.Options.Retention == null ? null
                    : plan.RetentionDrops.Count == 0 ? "retention would prune no run" : $"retention would prune {plan.RetentionDrops.Count} run(s) and the history only they hold"),
                Errors = ctx.Errors,
                Items = items.ToArray(),
            };
        }
    }
}
