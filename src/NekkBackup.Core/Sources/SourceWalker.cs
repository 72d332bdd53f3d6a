using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Sources
{
    /// <summary>
    /// The one tree walker every leg reads its sources with (rclone's fs/walk with its filter is the model): a stat walk
    /// of a <see cref="SourceView"/>'s read path — the live folder or the same folder inside a snapshot — that yields
    /// relative paths laid out as in the live source, so a run compares and records by the same names whichever it
    /// reads. It applies the include/exclude <see cref="PathFilter"/> (an excluded folder is not entered), the
    /// <see cref="LinkPolicy"/>, and leaves out the btrfs provider's <c>.nekk-snapshots</c> at the root.
    /// <para>Order: the entries of a folder by name (ordinal), then its sub-folders the same way, depth first. A folder
    /// that cannot be listed and an item that cannot be inspected are yielded as <see cref="WalkEntryKind.Failed"/>
    /// entries and the walk goes on. Cancellation throws <see cref="OperationCanceledException"/> (a walk that stopped
    /// early must never read as a complete one: its consumer would take the rest as deleted).</para>
    /// <para>With include rules, folders are entered but not yielded (a folder is not selected by a file pattern).</para>
    /// </summary>
    public sealed class SourceWalker
    {
        public SourceWalker(WalkOptions? options = null)
        {
            Options = options ?? new WalkOptions();
        }

        public WalkOptions Options { get; }

        /// <summary>Walks what <paramref name="view"/> reads (its snapshot path when it has one).</summary>
        public IEnumerable<WalkEntry> Walk(SourceView view, CancellationToken cancellationToken)
        {
            if (view == null) throw new ArgumentNullException(nameof(view));
            return Walk(view.ReadPath, cancellationToken);
        }

        /// <summary>Walks the folder <paramref name="root"/>; relative paths are relative to it.</summary>
        public IEnumerable<WalkEntry> Walk(string root, CancellationToken cancellationToken)
        {
            if (string.IsNullOrEmpty(root)) throw new ArgumentException("No folder to walk.", nameof(root));
            return WalkIterator(root, cancellationToken);
        }

        private IEnumerable<WalkEntry> WalkIterator(string root, CancellationToken ct)
        {
            var filter = Options.Filter;
            bool follow = Options.Links == LinkPolicy.Follow;
            var visited = new HashSet<string>(Options.PathIdentity.Comparer) { Path.GetFullPath(root) };
            var stack = new Stack<(string Dir, string Rel)>();
            stack.Push((root, ""));
            var subdirs = new List<(string, string)>();
            var lister = new ListAhead();
            while (stack.Count > 0)
            {
                ct.ThrowIfCancellationRequested();
                var (dir, relDir) = stack.Pop();
                var (infos, listError) = lister.Take(dir);
                lister.Ahead(stack);
                if (listError != null)
                {
                    yield return new WalkEntry { Kind = WalkEntryKind.Failed, RelativePath = relDir, FullPath = dir, Error = listError, ContentsUnknown = true };
                    continue;
                }
                subdirs.Clear();
                foreach (var info in infos!)
                {
                    var rel = relDir.Length == 0 ? info.Name : relDir + "/" + info.Name;
                    if (filter.IsExcluded(rel)) continue;
                    bool isDir = info is DirectoryInfo;
                    // The btrfs provider keeps its snapshots in .nekk-snapshots/ at the file system's root:
                    // never back up snapshots of the source into the backup of the source.
                    if (isDir && relDir.Length == 0 && Options.SkipSnapshotFolder && info.Name == Snapshots.BtrfsSnapshotProvider.SnapshotDirName) continue;
                    string? link;
                    try { link = FileLinks.TargetOf(info); }
                    catch (IOException) { link = null; }
                    if (link != null && !follow)
                    {
                        if (!filter.IsIncluded(rel)) continue;
                        yield return new WalkEntry
                        {
                            Kind = WalkEntryKind.Link, RelativePath = rel, FullPath = info.FullName, LinkTarget = link, LinkIsDirectory = isDir,
                            LastWriteTimeUtc = SafeTime(info), Attributes = SafeAttributes(info),
                        };
                        continue;
                    }
                    if (isDir)
                    {
                        if (!filter.HasIncludes)
                            yield return new WalkEntry
                            {
                                Kind = WalkEntryKind.Directory, RelativePath = rel, FullPath = info.FullName, LastWriteTimeUtc = SafeTime(info),
                                Attributes = SafeAttributes(info), Followed = link != null,
                            };
                        // Following: enter each real folder once, so a link back up the tree ends.
                        if (link != null)
                        {
                            var real = SafeResolve(info);
                            if (real == null || !visited.Add(real)) continue;
                        }
                        subdirs.Add((info.FullName, rel));
                        continue;
                    }
                    if (!filter.IsIncluded(rel)) continue;
                    yield return FileEntry((FileInfo)info, rel, link != null);
                }
                for (int i = subdirs.Count - 1; i >= 0; i--) stack.Push(subdirs[i]);
                lister.Ahead(stack);
            }
        }

        /// <summary>
        /// Lists the next few folders the walk will enter on pool threads while it yields the current one, each entry
        /// inspected there, so on a cold cache (a scheduled run, a network share) the metadata reads of several folders
        /// overlap instead of queueing one by one. The order the walk yields is unchanged. The <see cref="Depth"/> folders
        /// on top of the walk's stack are listed ahead, and at most <see cref="MaxHeld"/> listings are held at once (a
        /// deep tree leaves earlier ones waiting further down the stack).
        /// </summary>
        private sealed class ListAhead
        {
            private const int Depth = 6, MaxHeld = 16;
            private readonly Dictionary<string, Task<(List<FileSystemInfo>?, NekkBackupException?)>> _ahead = new(StringComparer.Ordinal);

            public (List<FileSystemInfo>? Infos, NekkBackupException? Error) Take(string dir)
            {
                if (!_ahead.TryGetValue(dir, out var listed)) return ListInspected(dir);
                _ahead.Remove(dir);
                return listed.GetAwaiter().GetResult();
            }

            /// <summary>Starts listing the folders on top of <paramref name="stack"/> (the next ones the walk enters).</summary>
            public void Ahead(Stack<(string Dir, string Rel)> stack)
            {
                int n = 0;
                foreach (var (dir, _) in stack)
                {
                    if (n++ >= Depth || _ahead.Count >= MaxHeld) break;
                    if (!_ahead.ContainsKey(dir)) _ahead[dir] = Task.Run(() => ListInspected(dir));
                }
            }

            private static (List<FileSystemInfo>?, NekkBackupException?) ListInspected(string dir)
            {
                var listed = List(dir);
                if (listed.Infos != null)
                    foreach (var info in listed.Infos)
                    {
                        // The inspection is cached in the object; an error here is met again, and reported, where the walk reads it.
                        try { _ = info.Attributes; }
                        catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { }
                    }
                return listed;
            }
        }

        private static (List<FileSystemInfo>? Infos, NekkBackupException? Error) List(string dir)
        {
            try
            {
                var list = new DirectoryInfo(dir).EnumerateFileSystemInfos().ToList();
                list.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
                return (list, null);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                return (null, Fail.FromIo(ex, dir));
            }
        }

        /// <summary>A file (the link's target when followed), or the reason it cannot be inspected.</summary>
        private static WalkEntry FileEntry(FileInfo info, string rel, bool followed)
        {
            try
            {
                var fi = info;
                if (followed)
                {
                    fi = new FileInfo(FileLinks.ResolveFinal(info));
                    if (!fi.Exists)
                        return new WalkEntry
                        {
                            Kind = WalkEntryKind.Failed, RelativePath = rel, FullPath = info.FullName,
                            Error = Fail.NotFound("ItemVanished", $"The link '{info.FullName}' points to nothing.", info.FullName),
                        };
                }
                return new WalkEntry
                {
                    Kind = WalkEntryKind.File, RelativePath = rel, FullPath = info.FullName, Size = fi.Length,
                    LastWriteTimeUtc = fi.LastWriteTimeUtc, Attributes = fi.Attributes, Followed = followed,
                };
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                return new WalkEntry { Kind = WalkEntryKind.Failed, RelativePath = rel, FullPath = info.FullName, Error = Fail.FromIo(ex, info.FullName), ContentsUnknown = true };
            }
        }

        private static string? SafeResolve(FileSystemInfo info)
        {
            try { return FileLinks.ResolveFinal(info); }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { return null; }
        }

        private static DateTime SafeTime(FileSystemInfo i)
        {
            try { return i.LastWriteTimeUtc; }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { return DateTime.MinValue; }
        }

        private static FileAttributes SafeAttributes(FileSystemInfo i)
        {
            try { return i.Attributes; }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { return 0; }
        }
    }
}
