using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Sources;

namespace NekkBackup.Core.Cloud
{
    /// <summary>One file a run may send: where it is read from and the path the manifest records.</summary>
    internal sealed class SourceFile
    {
        /// <summary>Where the bytes are read (inside a snapshot when the run reads one).</summary>
        public string ReadPath = "";
        /// <summary>The live path the user knows (messages, the resume journal).</summary>
        public string LivePath = "";
        /// <summary>&lt;source name&gt;/&lt;relative path&gt;, '/'-separated: the manifest path.</summary>
        public string RelPath = "";
        public long Size;
        public DateTime MTime;
    }

    /// <summary>
    /// Phase 1 of Send-NekkCloudBackup: the sources (each one a top-level name in the manifest), opened through the
    /// run's <see cref="ISourceResolver"/> (a snapshot or the live folder) and walked with the one
    /// <see cref="SourceWalker"/>: the run's Include/Exclude (an excluded file is never read, so it never reaches the
    /// bucket), links recorded with their target (<see cref="LinkPolicy.Record"/>: never followed out of the tree),
    /// and every item that cannot be read reported (a folder that cannot be listed keeps what the last run recorded
    /// below it). The views stay open until the run ends: the upload phase reads from them.
    /// </summary>
    internal sealed class CloudScan : IDisposable
    {
        private readonly List<SourceView> _views = new();

        private CloudScan(IReadOnlyList<(string Full, string Name)> roots) => Roots = roots;

        /// <summary>The live source paths and their names in the manifest.</summary>
        public IReadOnlyList<(string Full, string Name)> Roots { get; }
        public List<SourceFile> Files { get; } = new();

        /// <summary>Links, recorded as found (manifest entries without content).</summary>
        public List<ManifestEntry> Links { get; } = new();

        /// <summary>Manifest paths of folders that could not be listed: the last run's entries below them are kept.</summary>
        public List<string> Unknown { get; } = new();

        public long Errors { get; private set; }

        /// <summary>Checks the sources before anything is sent: SourceNotFound, DuplicateSourceName.</summary>
        public static IReadOnlyList<(string Full, string Name)> ResolveRoots(IReadOnlyList<string>? paths)
        {
            if (paths == null || paths.Count == 0)
                throw Fail.Argument("InvalidPath", "At least one -Path is required.");
            var roots = new List<(string Full, string Name)>();
            foreach (var p in paths)
            {
                var full = Path.GetFullPath(p);
                if (!Directory.Exists(full) && !File.Exists(full))
                    throw Fail.NotFound("SourceNotFound", $"The source '{p}' does not exist.", p);
                var name = Path.GetFileName(full.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));
                if (string.IsNullOrEmpty(name)) name = "root";
                if (roots.Any(r => string.Equals(r.Name, name, StringComparison.OrdinalIgnoreCase)))
                    throw Fail.Argument("DuplicateSourceName", $"Two sources are both named '{name}'; their files would collide in the manifest.", p);
                roots.Add((full, name));
            }
            return roots;
        }

        /// <param name="resolver">Overrides the run's resolver (the -WhatIf preview reads the live folders: no snapshot is made).</param>
        public static async Task<CloudScan> RunAsync(IReadOnlyList<(string Full, string Name)> roots, CloudBackupOptions options, IRunObserver observer, CancellationToken ct,
            ISourceResolver? resolver = null)
        {
            var scan = new CloudScan(roots);
            try
            {
                resolver ??= options.SourceResolver ?? LiveSourceResolver.Instance;
                var walker = new SourceWalker(new WalkOptions { Filter = PathFilter.From(options.Include, options.Exclude), Links = LinkPolicy.Record });
                foreach (var (full, name) in roots)
                {
                    ct.ThrowIfCancellationRequested();
                    if (File.Exists(full))
                    {
                        // A file named as a source is sent as it is (a filter selects inside folders).
                        var fi = new FileInfo(full);
                        scan.Files.Add(new SourceFile { ReadPath = full, LivePath = full, RelPath = name, Size = fi.Length, MTime = fi.LastWriteTimeUtc });
                        continue;
                    }
                    var view = await resolver.OpenAsync(full, ct).ConfigureAwait(false);
                    scan._views.Add(view);
                    if (view.SnapshotId != null)
                        observer.Message(RunMessageLevel.Verbose, $"Reading '{full}' from snapshot {view.SnapshotId}.");
                    foreach (var e in walker.Walk(view, ct))
                        scan.Add(e, full, name, observer);
                }
                if (scan.Links.Count > 0)
                    observer.Message(RunMessageLevel.Verbose, $"{scan.Links.Count} link(s) recorded with their targets, not followed (e.g. '{scan.Links[0].Path}' → '{scan.Links[0].LinkTarget}').");
                return scan;
            }
            catch
            {
                scan.Dispose();
                throw;
            }
        }

        private void Add(WalkEntry e, string liveRoot, string name, IRunObserver observer)
        {
            var live = e.RelativePath.Length == 0 ? liveRoot : Path.Combine(liveRoot, e.RelativePath.Replace('/', Path.DirectorySeparatorChar));
            var rel = e.RelativePath.Length == 0 ? name : name + "/" + e.RelativePath;
            switch (e.Kind)
            {
                case WalkEntryKind.File:
                    Files.Add(new SourceFile { ReadPath = e.FullPath, LivePath = live, RelPath = rel, Size = e.Size, MTime = e.LastWriteTimeUtc });
                    break;
                case WalkEntryKind.Link:
                    Links.Add(new ManifestEntry
                    {
                        Path = rel, LastWriteTimeUtc = e.LastWriteTimeUtc, LinkTarget = e.LinkTarget ?? "", LinkIsDirectory = e.LinkIsDirectory ? true : null,
                    });
                    break;
                case WalkEntryKind.Failed:
                    Errors++;
                    if (e.ContentsUnknown) Unknown.Add(rel);
                    observer.ItemFailed(live, e.Error ?? Fail.InvalidData("ItemUnreadable", $"'{live}' could not be read.", live));
                    break;
            }
        }

        /// <summary>Files of a project folder for the tar of Send-NekkCloudArchive: links and unreadable items are reported, never followed or silently left out.</summary>
        internal static List<(string FullPath, string Rel, long Size, DateTime MTime)> ProjectFiles(string root, IRunObserver observer, List<string> warnings)
        {
            var files = new List<(string, string, long, DateTime)>();
            foreach (var e in new SourceWalker(new WalkOptions { Links = LinkPolicy.Record }).Walk(root, CancellationToken.None))
            {
                if (e.Kind == WalkEntryKind.File) files.Add((e.FullPath, e.RelativePath, e.Size, e.LastWriteTimeUtc));
                else if (e.Kind == WalkEntryKind.Link)
                    warnings.Add($"'{e.FullPath}' is a link to '{e.LinkTarget}': an archive holds files only, so it is not in the archive; copy what it points to into the project.");
                else if (e.Kind == WalkEntryKind.Failed)
                    observer.ItemFailed(e.FullPath, e.Error ?? Fail.InvalidData("ItemUnreadable", $"'{e.FullPath}' could not be read.", e.FullPath));
            }
            return files;
        }

        /// <summary>Releases the snapshots the run read from.</summary>
        public void Dispose()
        {
            foreach (var v in _views) v.Dispose();
            _views.Clear();
        }
    }
}
