using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using NekkBackup.Core.Sources;

namespace NekkBackup.Core.Folder
{
    /// <summary>One item of a source as the scan found it.</summary>
    internal sealed class SourceItem
    {
        public string Path = "";      // recorded: "<name>/rel"
        public string FullPath = "";  // where to read it (inside the snapshot when there is one)
        public long Size;
        public long MTime;
        public int? Attributes;
        public string? Link;
        public bool LinkIsDir;
        public bool IsDir;
        /// <summary>A link followed to its file (FollowSymlinks): size and time are the target's.</summary>
        public bool Followed;

        /// <summary>The file as it is now (the link's target when followed), for the checks around a copy.</summary>
        public FileInfo Stat()
        {
            var fi = new FileInfo(FullPath);
            if (!Followed) return fi;
            try { return new FileInfo(FileLinks.ResolveFinal(fi)); }
            catch (IOException) { return fi; }
        }
    }

    /// <summary>The scan's result: every item of every source, and the places that could not be read.</summary>
    internal sealed class ScanResult
    {
        public List<SourceItem> Items { get; } = new();

        /// <summary>Recorded paths of folders that could not be listed and items that could not be inspected.</summary>
        public List<string> Unreadable { get; } = new();

        /// <summary>Files and links scanned (folders not counted).</summary>
        public long Files { get; set; }

        /// <summary>True when <paramref name="recorded"/> is at or below a place that could not be read (kept, not deleted).</summary>
        public bool UnderUnreadable(string recorded, PathIdentity identity)
        {
            foreach (var u in Unreadable)
                if (identity.IsSameOrInside(recorded, u, '/')) return true;
            return false;
        }
    }

    /// <summary>Scan: a stat walk of every source through the shared walker (<see cref="SourceWalker"/>), snapshot-aware.</summary>
    internal static class ScanPhase
    {
        public static ScanResult Run(BackupContext ctx, IReadOnlyList<SourceView> views, GuardProbes? probes, CancellationToken ct)
        {
            var o = ctx.Options;
            var walker = new SourceWalker(new WalkOptions
            {
                Filter = PathFilter.From(o.Include, o.Exclude, ctx.Identity),
                Links = o.FollowSymlinks ? LinkPolicy.Follow : LinkPolicy.Record,
                PathIdentity = ctx.Identity,
            });
            var result = new ScanResult();
            for (int i = 0; i < views.Count; i++)
            {
                var name = ctx.Names[i];
                foreach (var e in walker.Walk(views[i], ct))
                {
                    var path = e.RelativePath.Length == 0 ? name : name + "/" + e.RelativePath;
                    ctx.Progress.Tick(e.FullPath);
                    switch (e.Kind)
                    {
                        case WalkEntryKind.Failed:
                            ctx.ItemFailed(e.FullPath, e.Error!);
                            // Nothing is known below it: what the last run recorded there is kept, not deleted.
                            if (e.ContentsUnknown) result.Unreadable.Add(path);
                            break;
                        case WalkEntryKind.Link:
                            result.Items.Add(new SourceItem { Path = path, FullPath = e.FullPath, Link = e.LinkTarget, LinkIsDir = e.LinkIsDirectory, MTime = e.LastWriteTimeUtc.Ticks });
                            result.Files++;
                            break;
                        case WalkEntryKind.Directory:
                            result.Items.Add(new SourceItem { Path = path, FullPath = e.FullPath, IsDir = true, MTime = e.LastWriteTimeUtc.Ticks });
                            break;
                        default:
                            var file = new SourceItem
                            {
                                Path = path, FullPath = e.FullPath, Size = e.Size, MTime = e.LastWriteTimeUtc.Ticks,
                                Attributes = FileOps.KeptAttributesOf(e.Attributes), Followed = e.Followed,
                            };
                            result.Items.Add(file);
                            probes?.Seen(file);
                            result.Files++;
                            break;
                    }
                }
            }
            return result;
        }
    }
}
