using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Primitives;
using NekkBackup.Core.Sources;
using NekkBackup.Core.Storage;
using NekkBackup.Core.Validation;

namespace NekkBackup.Core.Folder
{
    /// <summary>
    /// One backup run, phase by phase (each step leaves the last good run restorable):
    /// lock → load the last manifest and replay journals of interrupted runs (<see cref="Baseline"/>) →
    /// scan the sources (<see cref="ScanPhase"/>, the shared walker) → plan against the mirror and guard against
    /// ransomware (<see cref="PlanPhase"/>, <see cref="GuardPhase"/>; nothing written yet) → copy
    /// (<see cref="CopyPhase"/>: deleted items, new folders, files and links; journal lines) → commit
    /// (<see cref="CommitPhase"/>: the manifest, only while the lock is held) → retain (<see cref="Retention"/>).
    /// </summary>
    internal sealed class BackupRunner
    {
        private readonly BackupContext _ctx;
        private readonly Serilog.ILogger? _log;
        private readonly PhaseClock _phases = new();

        public BackupRunner(FolderBackupOptions o, IRunObserver obs, string runId, Serilog.ILogger? log = null)
        {
            _ctx = new BackupContext(o, obs, runId);
            _log = log;
        }

        private FolderRepository Repo => _ctx.Repo;

        /// <summary>
        /// What a run would do now, without writing to the destination and without its lock (the basis of a -WhatIf
        /// preview): the baseline, a scan of the live sources and the plan with the guard's verdict.
        /// </summary>
        public FolderRunPlan Plan(CancellationToken ct) => PlanAll(ct).Plan;

        /// <summary>The -WhatIf preview: <see cref="Plan"/> in counts, bytes and one item per file.</summary>
        public FolderBackupPreview Preview(CancellationToken ct)
        {
            var (plan, baseline, scan) = PlanAll(ct);
            _ctx.Progress.Report(null, true);
            return FolderPreview.Build(_ctx, plan, baseline, scan);
        }

        private (FolderRunPlan Plan, Baseline Baseline, ScanResult Scan) PlanAll(CancellationToken ct)
        {
            if (Repo.Exists) Repo.CheckFormat();
            var baseline = Repo.Exists ? Baseline.Load(Repo, _ctx.Paths, _ctx.Observer) : Baseline.Empty(_ctx.Paths);
            var views = _ctx.Options.Sources.Select(s => new SourceView(s, s)).ToList();
            var probes = GuardProbes.For(_ctx, baseline, ct);
            var scan = ScanPhase.Run(_ctx, views, probes, ct);
            return (PlanPhase.Build(_ctx, baseline, scan, probes, ct), baseline, scan);
        }

        public async Task<FolderBackupRun> RunAsync(CancellationToken ct)
        {
            FolderLock held;
            try
            {
                if (!Directory.Exists(Repo.Destination)) Directory.CreateDirectory(Repo.Destination);
                // A destination written by a newer version is refused before anything (even the lock) is written.
                if (Repo.Store.Kind(Repo.FormatFile) != StoredKind.Missing) Repo.CheckFormat();
                Repo.OpenTarget(_ctx.Observer, _log);
                held = await FolderLock.AcquireAsync(Repo, "Backup-NekkFolder", _ctx.Options.LockOptions, _ctx.Observer, ct).ConfigureAwait(false);
                _phases.Mark("open and lock");
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is TargetException)
            {
                throw _ctx.DestinationSetupError(ex);
            }
            try
            {
                _ctx.StartedUtc = DateTime.UtcNow;
                try { await Repo.EnsureFormatAsync(ct).ConfigureAwait(false); }
                catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is TargetException)
                {
                    throw _ctx.DestinationSetupError(ex);
                }
                var baseline = Baseline.Load(Repo, _ctx.Paths, _ctx.Observer);
                _phases.Mark("format and baseline");
                // Run ids order the catalog (and which journals a manifest supersedes): never let a clock
                // step make a new run sort before the last run or an interrupted one.
                var newest = baseline.NewestRunId;
                if (newest != null && string.CompareOrdinal(_ctx.RunId, newest) <= 0)
                {
                    _ctx.RunId = RunId.NewAfter(newest, DateTime.UtcNow);
                    if (_ctx.RunId.StartsWith(newest, StringComparison.Ordinal))
                        _ctx.Observer.Message(RunMessageLevel.Warning, $"The clock is behind an earlier run ({newest}); this run is recorded after it.");
                }
                await Repo.CleanTempFilesAsync(_ctx.Observer, ct).ConfigureAwait(false);
                _phases.Mark("temp clean-up");
                // A lost lock stops the scan and the copy like Ctrl+C does, and is then reported as the failure it is.
                using var run = CancellationTokenSource.CreateLinkedTokenSource(ct, held.LostToken);
                return await ReadAndWriteAsync(baseline, held, ct, run.Token).ConfigureAwait(false);
            }
            finally
            {
                await held.DisposeAsync().ConfigureAwait(false);
            }
        }

        private async Task<FolderBackupRun> ReadAndWriteAsync(Baseline baseline, FolderLock held, CancellationToken ct, CancellationToken runCt)
        {
            var o = _ctx.Options;
            var views = new List<SourceView>();
            try
            {
                foreach (var s in o.Sources)
                    views.Add(await o.SourceResolver.OpenAsync(Path.GetFullPath(s), ct).ConfigureAwait(false));
                var snaps = views.Select(v => v.SnapshotId).Where(x => !string.IsNullOrEmpty(x)).ToArray();
                _ctx.SnapshotUsed = snaps.Length > 0 ? string.Join(", ", snaps) : null;
                _phases.Mark("sources");

                ScanResult scan;
                FolderRunPlan plan;
                try
                {
                    var probes = GuardProbes.For(_ctx, baseline, runCt);
                    scan = ScanPhase.Run(_ctx, views, probes, runCt);
                    _ctx.FilesScanned = scan.Files;
                    _phases.Mark("scan");
                    plan = PlanPhase.Build(_ctx, baseline, scan, probes, runCt);
                    _phases.Mark("plan");
                }
                catch (OperationCanceledException) when (runCt.IsCancellationRequested)
                {
                    return await StoppedAsync(held, ct, "The run was cancelled.", null).ConfigureAwait(false);
                }
                // The refusal is told once: by the run's Status/Reason, the cmdlet's BackupRefused error and the log's summary.
                if (plan.Refusal != null) return _ctx.Finish("Refused", plan.Refusal);

                var mirror = new MirrorWriter(_ctx);
                Repo.Store.EnsureDirectory(Repo.PartialDir, Reasons.CorruptCatalog);
                mirror.CleanPartials();
                using (var journal = RunJournal.Create(Repo, _ctx.RunId))
                    await new CopyPhase(_ctx, mirror, journal).RunAsync(plan, baseline.State, runCt).ConfigureAwait(false);
                _phases.Mark("copy");
                if (_ctx.Fatal != null)
                {
                    mirror.CleanPartials();
                    throw new FolderBackupException(_ctx.Fatal, _ctx.Finish("Failed", _ctx.Fatal.Message));
                }
                if (runCt.IsCancellationRequested)
                    return await StoppedAsync(held, ct, "The run was cancelled; files that landed are kept and the next run resumes from them.", mirror).ConfigureAwait(false);

                string status;
                try { status = await CommitPhase.CommitAsync(_ctx, plan, scan, baseline.State, mirror, held).ConfigureAwait(false); }
                catch (NekkBackupException ex)
                {
                    mirror.CleanPartials();
                    throw new FolderBackupException(ex, _ctx.Finish("Failed", ex.Message));
                }
                mirror.CleanPartials();
                _phases.Mark("commit");
                if (o.Retention != null) await Retention.ApplyAsync(Repo, o.Retention, _ctx.Observer, ct).ConfigureAwait(false);
                _phases.Mark("retention");
                if (_log != null) _phases.Log(_log, "Backup");
                return _ctx.Finish(status, null);
            }
            finally
            {
                foreach (var v in views) v.Dispose();
            }
        }

        /// <summary>The run stopped early: cancelled by the caller, or its lock was lost (then it fails with NekkBackup.LockLost).</summary>
        private async Task<FolderBackupRun> StoppedAsync(FolderLock held, CancellationToken ct, string cancelled, MirrorWriter? mirror)
        {
            mirror?.CleanPartials();
            if (held.IsLost && !ct.IsCancellationRequested)
            {
                try { await held.EnsureHeldAsync(CancellationToken.None).ConfigureAwait(false); }
                catch (NekkBackupException ex) { throw new FolderBackupException(ex, _ctx.Finish("Failed", ex.Message)); }
            }
            return _ctx.Finish("Cancelled", cancelled);
        }
    }
}
