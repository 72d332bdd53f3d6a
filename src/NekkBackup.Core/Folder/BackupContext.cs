using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;

namespace NekkBackup.Core.Folder
{
    /// <summary>
    /// What the phases of one backup run share: the options, the destination, the run id and times, the counters, the
    /// per-item error list and progress. Counters are updated from the copy workers (interlocked).
    /// </summary>
    internal sealed class BackupContext
    {
        private const int MaxErrorDetails = 1000;
        private readonly ConcurrentQueue<string> _errorDetails = new();
        private readonly Stopwatch _sw = Stopwatch.StartNew();
        private NekkBackupException? _fatal;

        public BackupContext(FolderBackupOptions options, IRunObserver observer, string runId)
        {
            Options = options;
            Observer = observer;
            RunId = runId;
            Repo = new FolderRepository(options.Destination);
            Identity = options.PathIdentity ?? PathIdentity.Platform;
            Names = options.Sources.Select(SourceName).ToArray();
            Progress = new FolderProgress(observer, "Backup-NekkFolder " + Repo.Destination) { Phase = "Scanning" };
        }

        public FolderBackupOptions Options { get; }
        public IRunObserver Observer { get; }
        public FolderRepository Repo { get; }

        /// <summary>When two recorded paths are one item (W7: case-insensitive on Windows); every path set of the run uses it.</summary>
        public PathIdentity Identity { get; }
        public StringComparer Paths => Identity.Comparer;

        /// <summary>Each source's folder name: its top-level name in the mirror and in recorded paths.</summary>
        public string[] Names { get; }

        public string RunId { get; set; }

        /// <summary>When the run could start writing (after the lock): runs never overlap between StartedUtc and FinishedUtc.</summary>
        public DateTime StartedUtc { get; set; } = DateTime.UtcNow;
        public string? SnapshotUsed { get; set; }
        public FolderProgress Progress { get; }

        public long FilesScanned, FilesCopied, FilesVersioned, FilesDeleted, BytesCopied;
        private int _errors;
        public int Errors => Volatile.Read(ref _errors);

        /// <summary>The error that stops the run (the destination is full, the lock was lost); the first one wins.</summary>
        public NekkBackupException? Fatal => Volatile.Read(ref _fatal);

        public void SetFatal(NekkBackupException ex) => Interlocked.CompareExchange(ref _fatal, ex, null);

        public static string SourceName(string source) =>
            Path.GetFileName(Path.GetFullPath(source).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));

        /// <summary>The source name a recorded path starts with.</summary>
        public static string TopName(string recorded)
        {
            int i = recorded.IndexOf('/');
            return i < 0 ? recorded : recorded.Substring(0, i);
        }

        /// <summary>One item could not be backed up: counted, listed (the first 1,000) and reported; the run goes on.</summary>
        public void ItemFailed(string item, NekkBackupException ex)
        {
            if (Interlocked.Increment(ref _errors) <= MaxErrorDetails)
                _errorDetails.Enqueue($"{ex.ErrorId}: {item}: {ex.Message}");
            try { Observer.ItemFailed(item, ex); } catch (Exception) { }
        }

        public NekkBackupException DestinationFull(string item, Exception ex) =>
            new("DestinationFull", FailureKind.LimitsExceeded,
                $"The destination '{Repo.Destination}' is full (no space left while copying '{item}'). Nothing of the last good run was lost and no partial files are left; free space or apply retention, then run again — files that already landed are not copied again.",
                Repo.Destination, ex);

        /// <summary>The destination cannot be written at all: read-only (EROFS / ERROR_WRITE_PROTECT), denied, or another I/O fault.</summary>
        public NekkBackupException DestinationSetupError(Exception ex)
        {
            var dest = Repo.Destination;
            if (ex is Storage.TargetException t && t.InnerException != null) ex = t.InnerException;
            int code = ex.HResult & 0xFFFF;
            bool readOnly = OperatingSystemInfo.IsWindows ? code == 19 : (ex is IOException && code == 30);
            if (readOnly)
                return new NekkBackupException("DestinationReadOnly", FailureKind.PermissionDenied,
                    $"The destination '{dest}' is read-only ({ex.Message}); nothing was written.", dest, ex);
            if (ex is UnauthorizedAccessException)
                return new NekkBackupException("AccessDenied", FailureKind.PermissionDenied,
                    $"NekkBackup may not write to the destination '{dest}': {ex.Message}", dest, ex);
            return Fail.FromIo(ex, dest);
        }

        /// <summary>The run record the cmdlet writes (and the run's result).</summary>
        public FolderBackupRun Finish(string status, string? reason)
        {
            Progress.Report(null, true);
            return new FolderBackupRun
            {
                RunId = RunId,
                Source = Options.Sources.Select(Path.GetFullPath).ToArray(),
                Destination = Repo.Destination,
                Started = StartedUtc.ToLocalTime(),
                Duration = _sw.Elapsed,
                FilesScanned = FilesScanned,
                FilesCopied = FilesCopied,
                FilesVersioned = FilesVersioned,
                FilesDeleted = FilesDeleted,
                BytesCopied = BytesCopied,
                Errors = Errors,
                SnapshotUsed = SnapshotUsed,
                Status = status,
                Reason = reason,
                ErrorDetails = _errorDetails.ToArray(),
            };
        }
    }
}
