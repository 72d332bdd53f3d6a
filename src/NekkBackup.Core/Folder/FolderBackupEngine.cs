using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;

namespace NekkBackup.Core.Folder
{
    /// <summary>
    /// Versioned NAS folder backup (PRODUCT.md §3.1): a plain browsable mirror per source plus
    /// <c>.nekkbackup/</c> (run manifests, content-addressed history of displaced versions).
    /// Everything needed to restore any run lives on the destination.
    /// </summary>
    public static class FolderBackupEngine
    {
        /// <summary>Checks the options; throws <see cref="NekkBackupException"/> for bad input. Writes nothing.</summary>
        public static void Validate(FolderBackupOptions o)
        {
            if (o == null) throw new ArgumentNullException(nameof(o));
            if (o.Sources == null || o.Sources.Count == 0)
                throw Fail.Argument("SourceNotFound", "Give at least one source folder.");
            if (string.IsNullOrWhiteSpace(o.Destination))
                throw Fail.Argument("DestinationNotFound", "Give a destination folder.");
            if (!Path.IsPathRooted(o.Destination))
                throw Fail.Argument("InvalidPath", $"The destination '{o.Destination}' must be an absolute path.", o.Destination);
            var dest = Normalize(o.Destination);
            if (File.Exists(dest))
                throw Fail.Argument("DestinationNotFound", $"The destination '{dest}' is a file, not a folder.", dest);
            if (!Directory.Exists(dest))
            {
                var parent = Path.GetDirectoryName(dest);
                if (parent == null || !Directory.Exists(parent))
                    throw Fail.NotFound("DestinationNotFound", $"The destination '{dest}' does not exist and neither does its parent folder (is the NAS share mounted?).", dest);
            }
            var names = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var s in o.Sources)
            {
                if (string.IsNullOrWhiteSpace(s))
                    throw Fail.Argument("SourceNotFound", "A source path is empty.");
                if (!Path.IsPathRooted(s))
                    throw Fail.Argument("InvalidPath", $"The source '{s}' must be an absolute path.", s);
                var src = Normalize(s);
                if (!Directory.Exists(src) && File.Exists(src))
                    throw Fail.Argument("SourceIsFile",
                        $"The source '{src}' is a file; Backup-NekkFolder backs up folders. Give its folder and pick the file with -Include: -Path '{Path.GetDirectoryName(src)}' -Include '{Path.GetFileName(src)}'.", src);
                if (!Directory.Exists(src))
                    throw Fail.NotFound("SourceNotFound", $"The source folder '{src}' does not exist.", src);
                if (IsInside(dest, src, o.PathIdentity))
                    throw Fail.Argument("DestinationInsideSource", $"The destination '{dest}' is inside the source '{src}'; the backup would copy itself.", dest);
                if (IsInside(src, dest, o.PathIdentity))
                    throw Fail.Argument("SourceInsideDestination", $"The source '{src}' is inside the destination '{dest}'.", src);
                var name = Path.GetFileName(src);
                if (string.IsNullOrEmpty(name) || name == FolderRepository.MetaDirName)
                    throw Fail.Argument("InvalidPath", $"The source '{src}' has no usable folder name (a drive or file-system root cannot be mirrored by name).", src);
                if (names.TryGetValue(name, out var other))
                    throw Fail.Argument("SourceNameConflict", $"The sources '{other}' and '{src}' have the same folder name '{name}'; each source is mirrored to <Destination>/<folder name>.", src);
                names[name] = src;
            }
            if (double.IsNaN(o.MaxChangedPercent) || o.MaxChangedPercent < 0 || o.MaxChangedPercent > 100)
                throw Fail.Argument("InvalidArgument", $"MaxChangedPercent must be between 0 and 100 (was {o.MaxChangedPercent}).", o.MaxChangedPercent);
            if (o.SourceResolver == null)
                throw Fail.Argument("InvalidArgument", "SourceResolver is null.");
            Retention.Validate(o.Retention);
        }

        internal static string Normalize(string p)
        {
            var full = Path.GetFullPath(p);
            var root = Path.GetPathRoot(full) ?? "";
            return full.Length > root.Length ? full.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar) : full;
        }

        /// <summary>True when <paramref name="inner"/> equals <paramref name="outer"/> or is below it (the platform's rules by default).</summary>
        internal static bool IsInside(string inner, string outer, PathIdentity? identity = null) =>
            (identity ?? PathIdentity.Platform).IsSameOrInside(inner, outer, Path.DirectorySeparatorChar);

        /// <summary>
        /// Runs one backup. Refused/Cancelled/Succeeded/CompletedWithErrors come back as the run's Status;
        /// a run that must stop (destination full) throws <see cref="FolderBackupException"/> after cleanup.
        /// </summary>
        public static async Task<FolderBackupRun> BackupAsync(FolderBackupOptions o, IRunObserver obs, CancellationToken ct)
        {
            Validate(o);
            obs ??= NullRunObserver.Instance;
            var runId = BackupRunner.NewRunId();
            using var log = RunLog.Open(runId, "Backup-NekkFolder");
            var observer = log.Wrap(obs);
            var normalized = new FolderBackupOptions
            {
                Sources = o.Sources.Select(Normalize).ToArray(),
                Destination = Normalize(o.Destination),
                Include = o.Include,
                Exclude = o.Exclude,
                Checksum = o.Checksum,
                ThrottleLimit = Math.Max(1, o.ThrottleLimit),
                MaxChangedPercent = o.MaxChangedPercent,
                Force = o.Force,
                Retention = o.Retention,
                FollowSymlinks = o.FollowSymlinks,
                SourceResolver = new Sources.NotingSourceResolver(o.SourceResolver, observer),
                PathIdentity = o.PathIdentity ?? PathIdentity.Platform,
            };
            log.Logger.Information("Backup {RunId} of {Sources} to {Destination}", runId, normalized.Sources, normalized.Destination);
            var run = await new BackupRunner(normalized, observer, runId).RunAsync(ct).ConfigureAwait(false);
            // One summary line per run; Refused and Failed are Errors (RunLog.LevelFor), the reason only when there is one.
            const string Summary = "Backup {RunId} {Status}: {FilesScanned} scanned, {FilesCopied} copied ({BytesCopied} bytes), {FilesVersioned} versioned, {FilesDeleted} deleted, {Errors} errors";
            if (string.IsNullOrEmpty(run.Reason))
                log.Finished(run.Status, Summary, run.RunId, run.Status, run.FilesScanned, run.FilesCopied, run.BytesCopied, run.FilesVersioned, run.FilesDeleted, run.Errors);
            else
                log.Finished(run.Status, Summary + "; {Reason}", run.RunId, run.Status, run.FilesScanned, run.FilesCopied, run.BytesCopied, run.FilesVersioned, run.FilesDeleted, run.Errors, run.Reason);
            return run;
        }

        /// <summary>The committed runs on a destination, oldest first (read from the manifests).</summary>
        public static IReadOnlyList<FolderBackupRun> GetRuns(string destination)
        {
            var repo = OpenExisting(destination);
            var list = new List<FolderBackupRun>();
            foreach (var id in repo.ListRunIds())
            {
                RunHeader h;
                try { h = repo.LoadHeader(id); }
                catch (NekkBackupException ex)
                {
                    list.Add(new FolderBackupRun { RunId = id, Destination = repo.Destination, Status = "Damaged", Reason = ex.Message });
                    continue;
                }
                list.Add(new FolderBackupRun
                {
                    RunId = h.RunId,
                    Source = h.Sources,
                    Destination = repo.Destination,
                    Started = h.StartedUtc.ToLocalTime(),
                    Duration = h.FinishedUtc - h.StartedUtc,
                    FilesScanned = h.FilesScanned,
                    FilesCopied = h.FilesCopied,
                    FilesVersioned = h.FilesVersioned,
                    FilesDeleted = h.FilesDeleted,
                    BytesCopied = h.BytesCopied,
                    Errors = h.Errors,
                    SnapshotUsed = h.SnapshotUsed,
                    Status = h.Status,
                });
            }
            return list;
        }

        /// <summary>The versions of one file across the runs (path as recorded: "&lt;source name&gt;/rel/path").</summary>
        public static IReadOnlyList<FolderFileVersion> GetFileVersions(string destination, string relativePath)
        {
            var repo = OpenExisting(destination);
            var path = (relativePath ?? "").Replace('\\', '/').Trim('/');
            while (path.StartsWith("./", StringComparison.Ordinal)) path = path.Substring(2);
            var ids = repo.ListRunIds();
            // A path inside the only source ("Sessions/a.ptx" for source "Studio") is accepted too.
            if (ids.Count > 0)
            {
                try
                {
                    var names = repo.LoadHeader(ids[ids.Count - 1]).SourceNames;
                    int slash = path.IndexOf('/');
                    var top = slash < 0 ? path : path.Substring(0, slash);
                    if (names.Length == 1 && !string.Equals(top, names[0], StringComparison.Ordinal)) path = names[0] + "/" + path;
                }
                catch (NekkBackupException) { }
            }
            var list = new List<FolderFileVersion>();
            ManifestEntry? prev = null;
            foreach (var id in ids)
            {
                var m = repo.LoadManifest(id);
                var e = m.Entries.FirstOrDefault(x => x.Path == path);
                var started = m.StartedUtc.ToLocalTime();
                if (e == null)
                {
                    if (prev != null)
                        list.Add(new FolderFileVersion { Path = path, RunId = id, RunStarted = started, State = "Deleted" });
                    prev = null;
                    continue;
                }
                string state = prev == null ? "Added"
                    : (prev.Hash == e.Hash && prev.Link == e.Link && prev.Size == e.Size) ? "Unchanged" : "Changed";
                list.Add(new FolderFileVersion
                {
                    Path = path,
                    RunId = id,
                    RunStarted = started,
                    Size = e.Size,
                    LastWriteTimeUtc = new DateTime(e.MTime, DateTimeKind.Utc),
                    Hash = e.Hash,
                    LinkTarget = e.Link,
                    State = state,
                });
                prev = e;
            }
            return list;
        }

        public static Task<FolderRestoreResult> RestoreAsync(FolderRestoreOptions o, IRunObserver obs, CancellationToken ct) =>
            RestoreRunner.RunAsync(o, obs ?? NullRunObserver.Instance, ct);

        public static Task<FolderBackupTestResult> TestAsync(string destination, bool full, IRunObserver obs, CancellationToken ct) =>
            Verifier.RunAsync(destination, full, obs ?? NullRunObserver.Instance, ct);

        internal static FolderRepository OpenExisting(string destination)
        {
            if (string.IsNullOrWhiteSpace(destination) || !Path.IsPathRooted(destination))
                throw Fail.Argument("InvalidPath", $"The destination '{destination}' must be an absolute path.", destination);
            var repo = new FolderRepository(Normalize(destination));
            if (!Directory.Exists(repo.Destination))
                throw Fail.NotFound("DestinationNotFound", $"The destination '{repo.Destination}' does not exist.", repo.Destination);
            if (!repo.Exists)
                throw Fail.NotFound("BackupNotFound", $"'{repo.Destination}' holds no NekkBackup folder backup (no {FolderRepository.MetaDirName} catalog).", repo.Destination);
            repo.CheckFormat();
            return repo;
        }
    }
}
