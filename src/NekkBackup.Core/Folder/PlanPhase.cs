using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Folder
{
    internal enum OpKind { Copy, Verify, Link }

    /// <summary>One item the copy phase writes; <see cref="Result"/> is what landed.</summary>
    internal sealed class CopyOp
    {
        public OpKind Kind;
        public SourceItem Item = null!;
        /// <summary>What the mirror holds at that path now (as recorded), or null.</summary>
        public ManifestEntry? Cur;
        public ManifestEntry? Result;
    }

    /// <summary>
    /// What a run will do, decided before anything is written (the basis of a -WhatIf preview): which files are copied,
    /// checked, linked, which folders made and which items removed, the ransomware guard's verdict and the runs retention
    /// would drop once this one is committed.
    /// </summary>
    internal sealed class FolderRunPlan
    {
        public List<CopyOp> Ops { get; } = new();
        public List<CopyOp> DirOps { get; } = new();
        /// <summary>Recorded paths to remove, deepest first.</summary>
        public List<string> Deletions { get; } = new();
        /// <summary>Every recorded path the sources hold now.</summary>
        public HashSet<string> Seen { get; }
        public HashSet<string> SourceNames { get; }
        /// <summary>Recorded paths of folders that exist in the mirror but whose time changed.</summary>
        public List<string> TouchedDirs { get; } = new();
        public GuardVerdict Guard { get; set; } = GuardVerdict.Skipped;
        public IReadOnlyList<string> RetentionDrops { get; set; } = Array.Empty<string>();

        public FolderRunPlan(StringComparer paths, IEnumerable<string> names)
        {
            Seen = new HashSet<string>(paths);
            SourceNames = new HashSet<string>(names, paths);
        }

        public string? Refusal => Guard.Refusal;
        public int FilesToCopy => Ops.Count(o => o.Kind == OpKind.Copy);
        /// <summary>Same size, other time (or -Checksum): hashed, copied only when the content differs.</summary>
        public int FilesToCheck => Ops.Count(o => o.Kind == OpKind.Verify);
        public int LinksToMake => Ops.Count(o => o.Kind == OpKind.Link);
        public int FoldersToMake => DirOps.Count;
        public long BytesToCopy => Ops.Where(o => o.Kind == OpKind.Copy).Sum(o => o.Item.Size);
        /// <summary>Current file versions that move into history (replaced or deleted) at most; fewer when history holds them already.</summary>
        public int VersionsToKeep { get; set; }

        /// <summary>Why the retention prune list could not be worked out (a damaged manifest), or null.</summary>
        public string? RetentionProblem { get; set; }
    }

    /// <summary>
    /// Plan: the scan against the mirror as recorded (size + time, or -Checksum), then the guard (with the probes the
    /// scan started, <see cref="GuardProbes"/>). Writes nothing.
    /// </summary>
    internal static class PlanPhase
    {
        public static FolderRunPlan Build(BackupContext ctx, Baseline baseline, ScanResult scan, GuardProbes? probes, CancellationToken ct)
        {
            var o = ctx.Options;
            var state = baseline.State;
            var plan = new FolderRunPlan(ctx.Paths, ctx.Names);
            foreach (var it in scan.Items)
            {
                if (!plan.Seen.Add(it.Path))
                {
                    // Two source names that are one name on the destination (a case-sensitive folder on Windows).
                    ctx.ItemFailed(it.FullPath, new NekkBackupException("NameConflict", FailureKind.InvalidData,
                        $"'{it.FullPath}' differs from another item only in letter case; the destination can hold only one of them, so it is skipped.", it.FullPath));
                    continue;
                }
                state.TryGetValue(it.Path, out var cur);
                if (it.IsDir)
                {
                    if (cur == null || !cur.IsDir) plan.DirOps.Add(new CopyOp { Item = it, Cur = cur });
                    else if (cur.MTime != it.MTime) plan.TouchedDirs.Add(it.Path);
                    continue;
                }
                if (it.Link != null)
                {
                    if (cur == null || cur.Link != it.Link) plan.Ops.Add(new CopyOp { Kind = OpKind.Link, Item = it, Cur = cur });
                    continue;
                }
                if (cur != null && !cur.IsLink && cur.Size == it.Size)
                {
                    if (o.Checksum) { plan.Ops.Add(new CopyOp { Kind = OpKind.Verify, Item = it, Cur = cur }); continue; }
                    if (cur.MTime == it.MTime) continue; // unchanged
                }
                plan.Ops.Add(new CopyOp { Kind = OpKind.Copy, Item = it, Cur = cur });
            }
            // Gone from a source this run read (not from other sources, not under a folder that could not be read).
            plan.Deletions.AddRange(state.Keys
                .Where(p => !plan.Seen.Contains(p) && plan.SourceNames.Contains(BackupContext.TopName(p)) && !scan.UnderUnreadable(p, ctx.Identity))
                .OrderByDescending(p => p, StringComparer.Ordinal));

            plan.VersionsToKeep = plan.Ops.Count(op => op.Cur != null && op.Cur.IsFile) + plan.DirOps.Count(op => op.Cur != null && op.Cur.IsFile)
                + plan.Deletions.Count(p => state.TryGetValue(p, out var e) && e.IsFile);

            // Probes exist exactly when the guard checks this run (GuardProbes.For: a last run, no -Force).
            if (probes != null)
                plan.Guard = GuardPhase.Check(ctx, scan.Items, baseline.LastMap, plan.SourceNames, probes, ct);
            if (o.Retention != null && ctx.Repo.Exists)
            {
                try { plan.RetentionDrops = Retention.Drops(ctx.Repo, o.Retention, (ctx.RunId, ctx.StartedUtc)); }
                catch (NekkBackupException ex) { plan.RetentionProblem = ex.Message; }
            }
            return plan;
        }
    }
}
