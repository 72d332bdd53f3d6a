using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Storage;

namespace NekkBackup.Core.Folder
{
    /// <summary>
    /// Commit: folder times (after everything inside them landed), then the run manifest — the commit point, written
    /// atomically and durably through the target, and only while this run still holds the lock — then the journals it
    /// supersedes go.
    /// </summary>
    internal static class CommitPhase
    {
        /// <summary>Returns the run's status (Succeeded or CompletedWithErrors); throws NekkBackup.LockLost or the write's error.</summary>
        public static async Task<string> CommitAsync(BackupContext ctx, FolderRunPlan plan, ScanResult scan, Dictionary<string, ManifestEntry> state, MirrorWriter mirror, FolderLock held)
        {
            var repo = ctx.Repo;
            foreach (var op in plan.Ops)
                if (op.Result != null) state[op.Item.Path] = op.Result;
            mirror.SetDirTimes(scan.Items, state);
            // Everything still in the state: current files, failed items' previous versions,
            // items under folders that could not be read, other sources' entries.
            var status = ctx.Errors > 0 ? "CompletedWithErrors" : "Succeeded";
            var manifest = new RunManifest
            {
                FormatVersionValue = FolderRepository.VersionElement,
                Format = FolderRepository.Version.Major,
                RunId = ctx.RunId,
                StartedUtc = ctx.StartedUtc,
                FinishedUtc = DateTime.UtcNow,
                Sources = ctx.Options.Sources.Select(Path.GetFullPath).ToArray(),
                SourceNames = ctx.Names,
                SnapshotUsed = ctx.SnapshotUsed,
                Status = status,
                FilesScanned = ctx.FilesScanned,
                FilesCopied = ctx.FilesCopied,
                FilesVersioned = ctx.FilesVersioned,
                FilesDeleted = ctx.FilesDeleted,
                BytesCopied = ctx.BytesCopied,
                Errors = ctx.Errors,
                Host = OperatingSystemInfo.HostName,
                Entries = state.Values.OrderBy(e => e.Path, StringComparer.Ordinal).ToList(),
            };
            // A commit is not cut short: once the lock is confirmed, the manifest is written whole.
            await held.EnsureHeldAsync(CancellationToken.None).ConfigureAwait(false);
            try
            {
                await repo.WriteManifestAsync(manifest, CancellationToken.None).ConfigureAwait(false);
            }
            catch (TargetException ex)
            {
                var where = repo.ManifestPath(ctx.RunId);
                throw ex.ErrorKind == TargetErrorKind.Full ? ctx.DestinationFull(where, ex) : ex.InnerException is IOException io ? Fail.FromIo(io, where) : ex;
            }
            // The manifest supersedes this run's journal and any older one.
            foreach (var j in RunJournal.Superseded(repo, ctx.RunId)) await repo.TryDeleteAsync(j, ctx.Observer, CancellationToken.None).ConfigureAwait(false);
            return status;
        }
    }
}
