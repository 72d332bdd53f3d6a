using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;

namespace NekkBackup.Commands.Infrastructure
{
    /// <summary>
    /// Base of every NekkBackup cmdlet. Runs engine work on the thread pool and replays its progress,
    /// messages and per-item errors on the pipeline thread (PowerShell only accepts them there);
    /// Ctrl+C / Stop-Job cancels the engine through a CancellationToken; engine failures become
    /// ErrorRecords with NekkBackup.* ids in one place (<see cref="ErrorMapping"/>).
    /// </summary>
    public abstract class NekkCmdlet : PSCmdlet, IDisposable
    {
        private static readonly TimeSpan ProgressInterval = TimeSpan.FromMilliseconds(250);
        private readonly CancellationTokenSource _cts = new();
        private readonly ConcurrentQueue<Action> _pending = new();
        private readonly object _progressLock = new();
        private readonly Dictionary<int, RunProgress> _latestProgress = new();
        private readonly HashSet<int> _shownActivities = new();
        private DateTime _lastProgressWrite = DateTime.MinValue;
        private volatile RunScope? _scope;

        protected CancellationToken CancellationToken => _cts.Token;

        /// <summary>
        /// True for the cmdlets that move gigabytes through part and chunk buffers (uploads, restores, images, plan runs):
        /// when their run ends, one full, compacting collection hands those buffers back to the operating system, so an
        /// admin's session or an RMM agent's host does not keep a run's high-water mark until the next one (measured in
        /// bench/: a session's resident set grew by ~90 MB over a few uploads without it).
        /// </summary>
        protected virtual bool HandsMemoryBack => false;

        private static void HandMemoryBack()
        {
            System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
#if NET
            GC.Collect(2, GCCollectionMode.Aggressive, blocking: true, compacting: true);
#else
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
#endif
        }

        protected override void StopProcessing() => _cts.Cancel();

        public void Dispose()
        {
            foreach (var c in _shares.Values) c.Dispose();
            _shares.Clear();
            _cts.Dispose();
            GC.SuppressFinalize(this);
        }

        /// <summary>Resolves a user path (relative to the current location, PSDrive, ~) to a file-system path; need not exist.</summary>
        protected string ResolvePath(string path) => GetUnresolvedProviderPathFromPSPath(path);

        private readonly Dictionary<string, Core.Plans.NasConnection> _shares = new(StringComparer.OrdinalIgnoreCase);

        /// <summary>
        /// Resolves a destination or repository path and, when it is on a \\nas\share with a credential Set-NekkCredential
        /// stored, opens that connection until the cmdlet ends — as plans, compliance and the fleet view do — so a script
        /// running as SYSTEM reaches a workgroup NAS (windows-notes.md §4.4). Elsewhere a no-op.
        /// </summary>
        protected string ResolveStorePath(string path)
        {
            var full = ResolvePath(path);
            var share = Core.PathIdentity.UncShare(full);
            if (share != null && !_shares.ContainsKey(share))
            {
                try { _shares[share] = Core.Plans.NasConnection.Open(full); }
                catch (NekkBackupException ex) { Terminate(ex, full); }
            }
            return full;
        }

        /// <summary>True when the caller asked for -WhatIf (or $WhatIfPreference is set): the cmdlet then writes a preview, not a change.</summary>
        protected bool WhatIfRequested =>
            MyInvocation.BoundParameters.TryGetValue("WhatIf", out var v)
                ? LanguagePrimitives.IsTrue(v is SwitchParameter sw ? sw.IsPresent : v)
                : LanguagePrimitives.IsTrue(GetVariableValue("WhatIfPreference"));

        /// <summary>
        /// A -WhatIf preview: one Verbose line per item (what would happen to each file, run or entry), then the typed
        /// preview object on the pipeline.
        /// </summary>
        protected void WritePreview(object preview, IEnumerable<PreviewItem> items)
        {
            foreach (var i in items)
                WriteVerbose($"What if: {i.Action,-9} {i.Path}{(i.Size is long n ? " " + Format.Bytes(n) : "")}{(i.Detail != null ? " — " + i.Detail : "")}");
            WriteObject(preview);
        }

        /// <summary>Throws the engine error as a terminating error with its NekkBackup id (and logs it at Error).</summary>
        protected void Terminate(NekkBackupException ex, object? target = null) => ThrowFailure(ErrorMapping.ToRecord(ex, target));

        /// <summary>Writes the engine error as a non-terminating error (and logs it at Error).</summary>
        protected void WriteNekkError(NekkBackupException ex, object? target = null)
        {
            LogFailure(ex.ErrorId, ex.Message);
            WriteError(ErrorMapping.ToRecord(ex, target));
        }

        /// <summary>
        /// Every command that fails leaves an Error line in the run log (PRODUCT.md §4, issue 13): with the RunId of the
        /// run log its engine work opened, or a new one when it failed before opening any. Never throws.
        /// </summary>
        protected void LogFailure(string errorId, string reason)
        {
            try
            {
                var scope = _scope;
                RunLog.Failure(scope?.RunId, scope?.Operation ?? CommandName, CommandName, errorId, reason);
            }
            catch (Exception) { }
        }

        private string CommandName => MyInvocation?.MyCommand?.Name ?? GetType().Name;

        private void ThrowFailure(ErrorRecord record)
        {
            LogFailure(record.FullyQualifiedErrorId, record.Exception?.Message ?? record.ToString());
            ThrowTerminatingError(record);
        }

        /// <summary>
        /// Runs engine work and pumps its observer calls on the pipeline thread until it ends.
        /// Engine exceptions become terminating errors; cancellation becomes a pipeline stop.
        /// </summary>
        protected T Run<T>(Func<IRunObserver, CancellationToken, Task<T>> operation, object? target = null)
        {
            var observer = new PumpObserver(this);
            var token = _cts.Token;
            _scope = null;
            var work = Task.Run(() =>
            {
                _scope = RunLog.BeginScope();
                return operation(observer, token);
            }, token);
            try
            {
                while (!work.Wait(100))
                    Drain(force: false);
            }
            catch (PipelineStoppedException)
            {
                _cts.Cancel();
                WaitBounded(work);
                throw;
            }
            catch (AggregateException)
            {
                // The task faulted; surfaced below with the original exception.
            }
            finally
            {
                try { Drain(force: true); } catch (PipelineStoppedException) { }
                CompleteProgress();
                if (HandsMemoryBack && work.IsCompleted) HandMemoryBack();
            }

            try
            {
                return work.GetAwaiter().GetResult();
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                throw new PipelineStoppedException();
            }
            catch (NekkBackupException ex)
            {
                ThrowFailure(ErrorMapping.ToRecord(ex, target));
                throw; // unreachable
            }
            catch (Exception ex) when (ex is not PipelineStoppedException)
            {
                ThrowFailure(ErrorMapping.ToRecord(ex, target));
                throw; // unreachable
            }
        }

        private static void WaitBounded(Task work)
        {
            try { work.Wait(TimeSpan.FromSeconds(30)); } catch (AggregateException) { }
        }

        private void Drain(bool force)
        {
            while (_pending.TryDequeue(out var action)) action();
            List<RunProgress>? toWrite = null;
            lock (_progressLock)
            {
                if (_latestProgress.Count > 0 && (force || DateTime.UtcNow - _lastProgressWrite >= ProgressInterval))
                {
                    toWrite = new List<RunProgress>(_latestProgress.Values);
                    _latestProgress.Clear();
                    _lastProgressWrite = DateTime.UtcNow;
                }
            }
            if (toWrite == null) return;
            toWrite.Sort((a, b) => a.Level.CompareTo(b.Level));
            foreach (var p in toWrite) WriteProgress(ToRecord(p));
        }

        private void CompleteProgress()
        {
            int[] ids;
            lock (_progressLock) ids = new List<int>(_shownActivities).ToArray();
            foreach (var id in ids)
            {
                try
                {
                    WriteProgress(new ProgressRecord(id, "NekkBackup", "Done") { RecordType = ProgressRecordType.Completed });
                }
                catch (PipelineStoppedException) { }
                catch (InvalidOperationException) { }
            }
        }

        private ProgressRecord ToRecord(RunProgress p)
        {
            int id = 1 + p.Level;
            var status = p.Status;
            if (p.BytesTotal > 0)
                status += $" — {Format.Bytes(p.BytesDone)} of {Format.Bytes(p.BytesTotal)}";
            if (p.ItemsTotal > 0)
                status += $", {p.ItemsDone:N0} of {p.ItemsTotal:N0} items";
            if (p.BytesPerSecond > 0)
                status += $", {Format.Bytes((long)p.BytesPerSecond)}/s";
            var record = new ProgressRecord(id, p.Activity, string.IsNullOrEmpty(status) ? "Working" : status)
            {
                PercentComplete = p.Completed ? 100 : p.PercentComplete,
                SecondsRemaining = p.SecondsRemaining,
                ParentActivityId = p.Level > 0 ? 1 : -1,
                RecordType = p.Completed ? ProgressRecordType.Completed : ProgressRecordType.Processing,
            };
            if (!string.IsNullOrEmpty(p.CurrentItem)) record.CurrentOperation = p.CurrentItem;
            lock (_progressLock)
            {
                if (p.Completed) _shownActivities.Remove(id);
                else _shownActivities.Add(id);
            }
            return record;
        }

        /// <summary>Queues observer calls from worker threads for the pipeline thread.</summary>
        private sealed class PumpObserver : IRunObserver
        {
            private readonly NekkCmdlet _cmdlet;

            public PumpObserver(NekkCmdlet cmdlet) => _cmdlet = cmdlet;

            public void Progress(RunProgress progress)
            {
                lock (_cmdlet._progressLock) _cmdlet._latestProgress[progress.Level] = progress;
            }

            public void Message(RunMessageLevel level, string text)
            {
                switch (level)
                {
                    case RunMessageLevel.Warning:
                        _cmdlet._pending.Enqueue(() => _cmdlet.WriteWarning(text));
                        break;
                    case RunMessageLevel.Debug:
                        _cmdlet._pending.Enqueue(() => _cmdlet.WriteDebug(text));
                        break;
                    default:
                        _cmdlet._pending.Enqueue(() => _cmdlet.WriteVerbose(text));
                        break;
                }
            }

            public void ItemFailed(string item, NekkBackupException error)
            {
                _cmdlet._pending.Enqueue(() => _cmdlet.WriteError(ErrorMapping.ToRecord(error, item)));
            }
        }
    }
}
