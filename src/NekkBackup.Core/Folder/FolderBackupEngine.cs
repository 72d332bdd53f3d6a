using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Primitives;

namespace NekkBackup.Core.Folder
{
    /// <summary>
    /// Versioned NAS folder backup (PRODUCT.md §3.1): a plain browsable mirror per source plus
    /// <c>.nekkbackup/</c> (run manifests, content-addressed history of displaced versions).
    /// Everything needed to restore any run lives on the destination.
    /// </summary>
    public static class FolderBackupEngine
    {
        /// <summary>
        /// Runs one backup. Refused/Cancelled/Succeeded/CompletedWithErrors come back as the run's Status;
        /// a run that must stop (destination full) throws <see cref="FolderBackupException"/> after cleanup.
        /// </summary>
        public static async Task<FolderBackupRun> BackupAsync(FolderBackupOptions o, IRunObserver obs, CancellationToken ct)
        {
            if (o == null) throw new ArgumentNullException(nameof(o));
            o.Validate();
            obs ??= NullRunObserver.Instance;
            var runId = RunId.New();
            using var log = RunLog.Open(runId, "Backup-NekkFolder");
            var observer = log.Wrap(obs);
            var normalized = o.Normalized(observer);
            log.Logger.Information("Backup {RunId} of {Sources} to {Destination}", runId, normalized.Sources, normalized.Destination);
            var run = await new BackupRunner(normalized, observer, runId, log.Logger).RunAsync(ct).ConfigureAwait(false);
            // One summary line per run; Refused and Failed are Errors (RunLog.LevelFor), the reason only when there is one.
            const string Summary = "Backup {RunId} {Status}: {FilesScanned} scanned, {FilesCopied} copied ({BytesCopied} bytes), {FilesVersioned} versioned, {FilesDeleted} deleted, {Errors} errors";
            if (string.IsNullOrEmpty(run.Reason))
                log.Finished(run.Status, Summary, run.RunId, run.Status, run.FilesScanned, run.FilesCopied, run.BytesCopied, run.FilesVersioned, run.FilesDeleted, run.Errors);
            else
                log.Finished(run.Status, Summary + "; {Reason}", run.RunId, run.Status, run.FilesScanned, run.FilesCopied, run.BytesCopied, run.FilesVersioned, run.FilesDeleted, run.Errors, run.Reason);
            return run;
        }

        /// <summary>
        /// What <see cref="BackupAsync"/> would do now (issue 13's -WhatIf): the plan of files to copy, version and delete,
        /// the ransomware guard's verdict and the runs retention would drop — read from the live sources and the
        /// destination without writing to either and without taking the lock.
        /// </summary>
        internal static FolderRunPlan Plan(FolderBackupOptions o, IRunObserver? obs, CancellationToken ct)
        {
            if (o == null) throw new ArgumentNullException(nameof(o));
            o.Validate();
            return new BackupRunner(o.Normalized(obs ?? NullRunObserver.Instance), obs ?? NullRunObserver.Instance, RunId.New()).Plan(ct);
        }

        /// <summary>
        /// Backup-NekkFolder -WhatIf: what <see cref="BackupAsync"/> would do now — files and bytes to copy, version and
        /// delete, the guard's verdict, the runs retention would prune, one item per file — read from the live sources
        /// (no snapshot is made) and the destination, writing nothing to either (no lock, no log, no folder).
        /// </summary>
        public static Task<FolderBackupPreview> PreviewAsync(FolderBackupOptions o, IRunObserver? obs, CancellationToken ct)
        {
            if (o == null) throw new ArgumentNullException(nameof(o));
            o.Validate();
            var observer = obs ?? NullRunObserver.Instance;
            return Task.Run(() => new BackupRunner(o.Normalized(observer), observer, RunId.New()).Preview(ct), ct);
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

        /// <summary>
        /// The versions of one file across the runs (path as recorded: "&lt;source name&gt;/rel/path"), compared by the
        /// platform's rules (<paramref name="identity"/>: case-insensitive on Windows).
        /// </summary>
        public static IReadOnlyList<FolderFileVersion> GetFileVersions(string destination, string relativePath, PathIdentity? identity = null)
        {
            var ident = identity ?? PathIdentity.Platform;
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
                    if (names.Length == 1 && !ident.Same(top, names[0])) path = names[0] + "/" + path;
                }
                catch (NekkBackupException) { }
            }
            var list = new List<FolderFileVersion>();
            ManifestEntry? prev = null;
            foreach (var id in ids)
            {
                var m = repo.LoadManifest(id);
                var e = repo.Entries(m).Good.FirstOrDefault(x => ident.Same(x.Path, path));
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

        /// <summary>True when <paramref name="inner"/> equals <paramref name="outer"/> or is below it (the platform's rules by default).</summary>
        internal static bool IsInside(string inner, string outer, PathIdentity? identity = null) =>
            (identity ?? PathIdentity.Platform).IsSameOrInside(inner, outer, Path.DirectorySeparatorChar);

        internal static FolderRepository OpenExisting(string destination)
        {
            if (string.IsNullOrWhiteSpace(destination) || !Path.IsPathRooted(destination))
                throw Fail.Argument("InvalidPath", $"The destination '{destination}' must be an absolute path.", destination);
            var repo = new FolderRepository(FolderBackupOptions.Normalize(destination));
            if (!Directory.Exists(repo.Destination))
                throw Fail.NotFound("DestinationNotFound", $"The destination '{repo.Destination}' does not exist.", repo.Destination);
            if (!repo.Exists)
                throw Fail.NotFound("BackupNotFound", $"'{repo.Destination}' holds no NekkBackup folder backup (no {FolderRepository.MetaDirName} catalog).", repo.Destination);
            repo.CheckFormat();
            return repo;
        }
    }
}
