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
    /// run's <see cref="ISourceResolver"/> (a snapshot or the live folder) and walked into the files to consider.
    /// The views stay open until the run ends: the upload phase reads from them.
    /// </summary>
    internal sealed class CloudScan : IDisposable
    {
        private readonly List<SourceView> _views = new();

        private CloudScan(IReadOnlyList<(string Full, string Name)> roots) => Roots = roots;

        /// <summary>The live source paths and their names in the manifest.</summary>
        public IReadOnlyList<(string Full, string Name)> Roots { get; }
        public List<SourceFile> Files { get; } = new();
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

        public static async Task<CloudScan> RunAsync(IReadOnlyList<(string Full, string Name)> roots, CloudBackupOptions options, IRunObserver observer, CancellationToken ct)
        {
            var scan = new CloudScan(roots);
            try
            {
                var resolver = options.SourceResolver ?? LiveSourceResolver.Instance;
                foreach (var (full, name) in roots)
                {
                    ct.ThrowIfCancellationRequested();
                    if (File.Exists(full))
                    {
                        var fi = new FileInfo(full);
                        scan.Files.Add(new SourceFile { ReadPath = full, LivePath = full, RelPath = name, Size = fi.Length, MTime = fi.LastWriteTimeUtc });
                        continue;
                    }
                    var view = await resolver.OpenAsync(full, ct).ConfigureAwait(false);
                    scan._views.Add(view);
                    if (view.SnapshotId != null)
                        observer.Message(RunMessageLevel.Verbose, $"Reading '{full}' from snapshot {view.SnapshotId}.");
                    foreach (var (fi, rel) in Walk(view.ReadPath, observer, () => scan.Errors++))
                        scan.Files.Add(new SourceFile
                        {
                            ReadPath = fi.FullName, LivePath = Path.Combine(full, rel.Replace('/', Path.DirectorySeparatorChar)),
                            RelPath = name + "/" + rel, Size = fi.Length, MTime = fi.LastWriteTimeUtc,
                        });
                }
                return scan;
            }
            catch
            {
                scan.Dispose();
                throw;
            }
        }

        internal static IEnumerable<(FileInfo File, string Rel)> Walk(string root, IRunObserver observer, Action onError)
        {
            var stack = new Stack<(DirectoryInfo Dir, string Rel)>();
            stack.Push((new DirectoryInfo(root), ""));
            while (stack.Count > 0)
            {
                var (dir, rel) = stack.Pop();
                FileSystemInfo[] items;
                try
                {
                    items = dir.GetFileSystemInfos();
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    onError();
                    observer.ItemFailed(dir.FullName, Fail.FromIo(ex, dir.FullName));
                    continue;
                }
                foreach (var item in items.OrderBy(i => i.Name, StringComparer.Ordinal))
                {
                    // Links are not followed out of the tree.
                    if ((item.Attributes & FileAttributes.ReparsePoint) != 0) continue;
                    var r = rel.Length == 0 ? item.Name : rel + "/" + item.Name;
                    if (item is DirectoryInfo d) stack.Push((d, r));
                    else if (item is FileInfo f) yield return (f, r);
                }
            }
        }

        /// <summary>Releases the snapshots the run read from.</summary>
        public void Dispose()
        {
            foreach (var v in _views) v.Dispose();
            _views.Clear();
        }
    }
}
