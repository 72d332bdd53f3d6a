using System;
using System.Buffers;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Sources;
using NekkBackup.Core.Validation;

namespace NekkBackup.Core.Folder
{
    /// <summary>
    /// Point-in-time restore from the destination alone. Each file is read from its history object or
    /// from the mirror (the first candidate whose bytes hash to the recorded SHA-256 wins), written to a
    /// temp name beside the target file, verified, timestamped, renamed. Nothing is written outside
    /// Target: recorded paths with '..', roots or empty segments are refused, and a folder on the way
    /// that is a link is never followed.
    /// </summary>
    internal static class RestoreRunner
    {
        public static async Task<FolderRestoreResult> RunAsync(FolderRestoreOptions o, IRunObserver obs, CancellationToken ct)
        {
            if (o == null) throw new ArgumentNullException(nameof(o));
            var sw = Stopwatch.StartNew();
            var repo = FolderBackupEngine.OpenExisting(o.Destination);
            if (string.IsNullOrWhiteSpace(o.Target) || !Path.IsPathRooted(o.Target))
                throw Fail.Argument("InvalidPath", $"The restore target '{o.Target}' must be an absolute path.", o.Target);
            var target = FolderBackupEngine.Normalize(o.Target);
            if (FolderBackupEngine.IsInside(target, repo.Destination))
                throw Fail.Argument("TargetInsideDestination", $"The restore target '{target}' is inside the backup destination '{repo.Destination}'.", target);
            if (File.Exists(target))
                throw Fail.Argument("InvalidPath", $"The restore target '{target}' is a file.", target);

            var runId = SelectRun(repo, o.RunId, o.AsOf);
            if (Directory.Exists(target) && !o.Overwrite && Directory.EnumerateFileSystemEntries(target).Any())
                throw new NekkBackupException("TargetNotEmpty", FailureKind.ResourceExists,
                    $"The restore target '{target}' is not empty. Choose an empty folder or use -Overwrite.", target);
            var manifest = repo.LoadManifest(runId);
            var (entries, damaged) = repo.Entries(manifest);

            using var log = RunLog.Open(runId, "Restore-NekkFolder");
            var observer = log.Wrap(obs);
            var globs = new GlobSet(o.Paths);
            bool Selected(string p) => globs.IsEmpty || globs.Matches(p) || MatchesInside(globs, p);
            var selected = entries.Where(e => Selected(e.Path)).ToList();
            damaged = damaged.Where(d => globs.IsEmpty || Selected(d.Item)).ToList();
            if (!globs.IsEmpty && selected.Count == 0 && damaged.Count == 0)
                throw Fail.NotFound("PathNotFound", $"No file of run {runId} matches {string.Join(", ", o.Paths!)}.", string.Join(", ", o.Paths!));

            Directory.CreateDirectory(target);
            var ctx = new Ctx(repo, target, observer, ct);
            // Damaged, unsafe or repeated entries are one error each; everything else is restored.
            foreach (var (item, error) in damaged) ctx.ItemFailed(item, error);
            ctx.Progress.ItemsTotal = selected.Count(e => !e.IsDir);
            ctx.Progress.BytesTotal = selected.Sum(e => e.Size);
            ctx.Progress.Phase = "Restoring run " + runId;

            foreach (var d in selected.Where(e => e.IsDir).OrderBy(e => e.Path, StringComparer.Ordinal))
            {
                try { ctx.EnsureSafeDir(ctx.SafeTargetPath(d.Path)); }
                catch (Exception ex) when (IsItemFault(ex))
                {
                    ctx.ItemFailed(d.Path, Fail.FromIo(ex, d.Path));
                }
            }
            var files = new ConcurrentQueue<ManifestEntry>(selected.Where(e => e.IsFile).OrderByDescending(e => e.Size));
            int workers = Math.Max(1, Math.Min(Environment.ProcessorCount * 2, files.Count));
            var tasks = new Task[workers];
            for (int i = 0; i < workers; i++)
                tasks[i] = Task.Factory.StartNew(() => Worker(ctx, files), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            await Task.WhenAll(tasks).ConfigureAwait(false);

            // Links last, so no file is ever written through a link this restore made.
            if (!ct.IsCancellationRequested)
                foreach (var e in selected.Where(e => e.IsLink))
                {
                    try
                    {
                        var dst = ctx.SafeTargetPath(e.Path);
                        ctx.EnsureSafeDir(Path.GetDirectoryName(dst)!);
                        FileOps.DeleteItem(dst);
                        FileOps.CreateSymlink(dst, e.Link!, false);
                        Interlocked.Increment(ref ctx.Files);
                    }
                    catch (Exception ex) when (IsItemFault(ex))
                    {
                        ctx.ItemFailed(e.Path, Fail.FromIo(ex, e.Path));
                    }
                }

            // Folder times last (writing inside a folder changes its time), deepest first.
            if (!ct.IsCancellationRequested)
                foreach (var d in selected.Where(e => e.IsDir).OrderByDescending(e => e.Path.Length))
                {
                    try
                    {
                        var p = ctx.SafeTargetPath(d.Path);
                        if (Directory.Exists(p) && FileLinks.TargetOf(new DirectoryInfo(p)) == null)
                            Directory.SetLastWriteTimeUtc(p, new DateTime(d.MTime, DateTimeKind.Utc));
                    }
                    catch (Exception ex) when (IsItemFault(ex)) { }
                }

            ctx.Progress.Report(null, true);
            string status = ct.IsCancellationRequested ? "Cancelled" : ctx.Errors > 0 ? (ctx.Files > 0 ? "CompletedWithErrors" : "Failed") : "Succeeded";
            log.Logger.Information("Restore of {RunId} to {Target}: {Status}, {Files} files, {Bytes} bytes, {Errors} errors", runId, target, status, ctx.Files, ctx.Bytes, ctx.Errors);
            return new FolderRestoreResult
            {
                RunId = runId,
                Target = target,
                FilesRestored = ctx.Files,
                BytesRestored = ctx.Bytes,
                Errors = ctx.Errors,
                Duration = sw.Elapsed,
                Status = status,
                ErrorDetails = ctx.Details.ToArray(),
            };
        }

        /// <summary>Failures that concern one item (the run goes on): I/O, access, a named engine error, a path the platform refuses.</summary>
        internal static bool IsItemFault(Exception ex) =>
            ex is IOException || ex is UnauthorizedAccessException || ex is NekkBackupException || ex is ArgumentException || ex is NotSupportedException;

        private static bool MatchesInside(GlobSet globs, string recorded)
        {
            int i = recorded.IndexOf('/');
            return i > 0 && globs.Matches(recorded.Substring(i + 1));
        }

        internal static string SelectRun(FolderRepository repo, string? runId, DateTime? asOf)
        {
            var ids = repo.ListRunIds();
            if (!string.IsNullOrEmpty(runId))
            {
                if (!ids.Contains(runId!, StringComparer.Ordinal))
                    throw Fail.NotFound("RunNotFound", $"There is no run '{runId}' in '{repo.Destination}'.", runId);
                return runId!;
            }
            if (ids.Count == 0)
                throw Fail.NotFound("RunNotFound", $"'{repo.Destination}' holds no completed run.", repo.Destination);
            if (asOf == null) return ids[ids.Count - 1];
            var limitUtc = asOf.Value.Kind == DateTimeKind.Utc ? asOf.Value : asOf.Value.ToUniversalTime();
            string? best = null;
            DateTime bestStart = DateTime.MinValue;
            foreach (var id in ids)
            {
                RunHeader h;
                try { h = repo.LoadHeader(id); }
                catch (NekkBackupException) { continue; }
                if (h.StartedUtc <= limitUtc && h.StartedUtc >= bestStart) { best = id; bestStart = h.StartedUtc; }
            }
            return best ?? throw Fail.NotFound("RunNotFound", $"No run in '{repo.Destination}' started at or before {asOf.Value:u}.", asOf.Value);
        }

        private sealed class Ctx
        {
            public readonly FolderRepository Repo;
            public readonly string Target;
            public readonly IRunObserver Obs;
            public readonly CancellationToken Ct;
            public readonly ProgressMeter Progress;
            public readonly ConcurrentQueue<string> Details = new();
            public readonly ConcurrentDictionary<string, byte> SafeDirs = new(StringComparer.Ordinal);
            public long Files, Bytes;
            public int Errors;

            public Ctx(FolderRepository repo, string target, IRunObserver obs, CancellationToken ct)
            {
                Repo = repo;
                Target = target;
                Obs = obs;
                Ct = ct;
                Progress = new ProgressMeter(obs, "Restore-NekkFolder " + target);
            }

            public void ItemFailed(string item, NekkBackupException ex)
            {
                Interlocked.Increment(ref Errors);
                Details.Enqueue($"{ex.ErrorId}: {item}: {ex.Message}");
                try { Obs.ItemFailed(item, ex); } catch (Exception) { }
            }

            /// <summary>The target path of a recorded path, or UnsafePath when it would leave Target.</summary>
            public string SafeTargetPath(string recorded)
            {
                if (!RecordedPath.IsSafe(recorded)) throw Unsafe(recorded);
                var full = Path.GetFullPath(Path.Combine(Target, recorded.Replace('/', Path.DirectorySeparatorChar)));
                if (!FolderBackupEngine.IsInside(full, Target) || string.Equals(full, Target, StringComparison.Ordinal)) throw Unsafe(recorded);
                return full;
            }

            private NekkBackupException Unsafe(string recorded) =>
                new("UnsafePath", FailureKind.SecurityError, $"The recorded path '{recorded}' would be written outside the restore target; it is skipped.", recorded);

            /// <summary>Creates the folders from Target down to <paramref name="dir"/>, refusing any that is a link.</summary>
            public void EnsureSafeDir(string dir)
            {
                if (SafeDirs.ContainsKey(dir) || string.Equals(dir, Target, StringComparison.Ordinal)) return;
                var rel = dir.Substring(Target.Length).TrimStart(Path.DirectorySeparatorChar);
                var cur = Target;
                foreach (var seg in rel.Split(Path.DirectorySeparatorChar))
                {
                    cur = Path.Combine(cur, seg);
                    if (SafeDirs.ContainsKey(cur)) continue;
                    var di = new DirectoryInfo(cur);
                    if (FileLinks.TargetOf(di) != null || (di.Exists && (di.Attributes & FileAttributes.ReparsePoint) != 0))
                        throw new NekkBackupException("UnsafePath", FailureKind.SecurityError, $"'{cur}' in the restore target is a link; NekkBackup does not write through links.", cur);
                    if (!di.Exists) Directory.CreateDirectory(cur);
                    SafeDirs.TryAdd(cur, 0);
                }
            }
        }

        private static void Worker(Ctx ctx, ConcurrentQueue<ManifestEntry> files)
        {
            var buffer = ArrayPool<byte>.Shared.Rent(FileOps.BufferSize);
            try
            {
                while (!ctx.Ct.IsCancellationRequested && files.TryDequeue(out var e))
                {
                    try
                    {
                        RestoreFile(ctx, e, buffer);
                        Interlocked.Increment(ref ctx.Files);
                        Interlocked.Add(ref ctx.Bytes, e.Size);
                    }
                    catch (OperationCanceledException) { break; }
                    catch (Exception ex) when (IsItemFault(ex))
                    {
                        ctx.ItemFailed(e.Path, Fail.FromIo(ex, e.Path));
                    }
                    ctx.Progress.ItemDone(e.Path);
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        private static void RestoreFile(Ctx ctx, ManifestEntry e, byte[] buffer)
        {
            var dst = ctx.SafeTargetPath(e.Path);
            var dir = Path.GetDirectoryName(dst)!;
            ctx.EnsureSafeDir(dir);
            if (Directory.Exists(dst) && FileLinks.TargetOf(new DirectoryInfo(dst)) == null)
                throw new IOException($"'{dst}' is a folder in the restore target");

            // Candidates are regular files only (no FIFO, device or link, none behind a linked folder).
            var candidates = new List<string>();
            var mirror = ctx.Repo.Copy(ctx.Repo.MirrorPath(e.Path));
            var obj = ctx.Repo.Copy(ctx.Repo.ObjectPath(e.Hash!));
            bool mirrorMatches = mirror.IsFile && mirror.Length == e.Size;
            if (mirrorMatches && mirror.MTime == e.MTime) candidates.Add(mirror.Path);
            if (obj.IsFile) candidates.Add(obj.Path);
            if (mirrorMatches && !candidates.Contains(mirror.Path)) candidates.Add(mirror.Path);
            if (e.Size == 0 && e.Hash == HashUtil.EmptySha256) candidates.Insert(0, "");
            if (candidates.Count == 0)
            {
                var why = string.Join("; ", new[] { mirror.Note, obj.Note }.Where(p => p != null));
                throw Fail.NotFound("VersionNotFound", $"No stored copy of '{e.Path}' ({e.Hash}) is left on the destination (neither history object nor mirror){(why.Length > 0 ? ": " + why : "")}.", e.Path);
            }

            var partial = Path.Combine(dir, ".nekk-" + Guid.NewGuid().ToString("N").Substring(0, 12) + ".nekk-partial");
            string? lastHash = null;
            var unusable = new List<string>();
            foreach (var c in candidates)
            {
                ctx.Ct.ThrowIfCancellationRequested();
                string hash;
                try
                {
                    hash = CopyVerified(c, partial, buffer, ctx);
                }
                catch (NekkBackupException ex) when (ex.ErrorId != "NekkBackup.DestinationFull")
                {
                    // Swapped for a FIFO, a link or a folder since it was looked at: the next copy may do.
                    TryDelete(partial);
                    unusable.Add(ex.Message);
                    continue;
                }
                catch
                {
                    TryDelete(partial);
                    throw;
                }
                if (hash == e.Hash)
                {
                    FileOps.SetMTime(partial, e.MTime);
                    try
                    {
                        FileOps.ClearReadOnly(dst);
                        AtomicFile.MoveOverwrite(partial, dst);
                        FileOps.ApplyAttributes(dst, e.Attributes, includeReadOnly: true);
                    }
                    catch { TryDelete(partial); throw; }
                    return;
                }
                lastHash = hash;
                TryDelete(partial);
                ctx.Obs.Message(RunMessageLevel.Warning, $"'{c}' does not hold the recorded content of '{e.Path}' (hash {hash}, recorded {e.Hash}); trying another copy.");
            }
            if (lastHash == null)
                throw Fail.NotFound("VersionNotFound", $"No stored copy of '{e.Path}' can be read: {string.Join("; ", unusable)}", e.Path);
            throw Fail.InvalidData("HashMismatch", $"Every stored copy of '{e.Path}' is damaged: content hashes to {lastHash}, the run recorded {e.Hash}.", e.Path);
        }

        /// <summary>Copies <paramref name="source"/> (or nothing, for "") to a new file, keeping holes; returns the SHA-256.</summary>
        private static string CopyVerified(string source, string partial, byte[] buffer, Ctx ctx)
        {
            using var sha = SHA256.Create();
            using (var dst = new FileStream(partial, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1))
            {
                if (source.Length > 0)
                {
                    using var src = ctx.Repo.Store.OpenRead(source, Reasons.CorruptCatalog, "the stored copy")
                        ?? throw Fail.NotFound("VersionNotFound", $"'{source}' disappeared while it was being read.", source);
                    long total = 0;
                    int n;
                    while ((n = src.Read(buffer, 0, FileOps.BufferSize)) > 0)
                    {
                        ctx.Ct.ThrowIfCancellationRequested();
                        sha.TransformBlock(buffer, 0, n, null, 0);
                        FileOps.WriteSparse(dst, buffer, n);
                        total += n;
                        ctx.Progress.AddBytes(n);
                    }
                    dst.SetLength(total);
                }
            }
            sha.TransformFinalBlock(buffer, 0, 0);
            return HashUtil.ToHex(sha.Hash!);
        }

        private static void TryDelete(string path)
        {
            try { File.Delete(path); } catch (Exception) { }
        }
    }
}
