using System;
using System.Buffers;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Primitives;
using NekkBackup.Core.Storage;
using NekkBackup.Core.Validation;

namespace NekkBackup.Core.Folder
{
    /// <summary>
    /// Test-NekkFolderBackup. Quick: every manifest parses and is sane, and every file of every kept run
    /// is available (its history object exists with the right size, or the mirror file has the recorded
    /// size and time). Full: additionally every stored byte is re-hashed — every history object against
    /// its name, every mirror file the last run relies on against its recorded hash. An interrupted run
    /// (a journal without a manifest), a stale lock or left-over partial files are warnings, not damage.
    /// </summary>
    internal static class Verifier
    {
        public static async Task<FolderBackupTestResult> RunAsync(string destination, bool full, IRunObserver obs, CancellationToken ct, PathIdentity? identity = null)
        {
            var repo = FolderBackupEngine.OpenExisting(destination);
            var paths = (identity ?? PathIdentity.Platform).Comparer;
            var problems = new ConcurrentQueue<string>();
            var warnings = new List<string>();
            long filesChecked = 0, bytesVerified = 0;
            var progress = new FolderProgress(obs, "Test-NekkFolderBackup " + repo.Destination) { Phase = full ? "Re-hashing" : "Checking catalog" };

            var ids = repo.ListRunIds();
            foreach (var j in RunJournal.Pending(repo, ids.Count > 0 ? ids[ids.Count - 1] : null))
                warnings.Add($"run {Path.GetFileNameWithoutExtension(j)} was interrupted (no manifest); the next backup resumes it. The last good run is unaffected.");
            warnings.AddRange(LockWarnings(repo));
            if (PartialsLeft(repo))
                warnings.Add("partial copies of an interrupted run are left in .nekkbackup/partial; the next run removes them.");
            if (ids.Count == 0)
                warnings.Add("the destination holds no completed run yet.");

            // Catalog: each manifest and each of its entries through the folder catalog rules.
            var manifests = new List<(RunManifest Manifest, List<ManifestEntry> Entries)>();
            foreach (var id in ids)
            {
                ct.ThrowIfCancellationRequested();
                try
                {
                    var m = repo.LoadManifest(id);
                    var (good, bad) = repo.Entries(m);
                    foreach (var (item, error) in bad) problems.Enqueue($"run {id}: {Short(error)}: '{item}': {error.Message}");
                    manifests.Add((m, good));
                }
                catch (NekkBackupException ex)
                {
                    problems.Enqueue($"run {id}: {Short(ex)}: {ex.Message}");
                }
            }

            // Availability of every recorded file (nothing is followed: a FIFO or a link is not a copy).
            var last = manifests.Count > 0 ? manifests[manifests.Count - 1].Manifest : null;
            var byHash = new Dictionary<string, (string Path, string RunId)>(StringComparer.Ordinal);
            var mirrorToHash = new List<ManifestEntry>();
            var statCache = new Dictionary<string, StoredCopy>(paths);
            var objCache = new Dictionary<string, StoredCopy>(StringComparer.Ordinal);
            foreach (var (m, entries) in manifests)
            {
                foreach (var e in entries)
                {
                    if (!e.IsFile) continue;
                    filesChecked++;
                    if (!byHash.ContainsKey(e.Hash!)) byHash[e.Hash!] = (e.Path, m.RunId);
                    var obj = repo.ObjectPath(e.Hash!);
                    if (!objCache.TryGetValue(e.Hash!, out var of))
                    {
                        of = repo.Copy(obj);
                        objCache[e.Hash!] = of;
                        if (of.Note != null) problems.Enqueue($"history object {Rel(repo, obj)} cannot be used: {of.Note}.");
                    }
                    bool objOk = of.IsFile && of.Length == e.Size;
                    if (of.IsFile && of.Length != e.Size)
                        problems.Enqueue($"history object {Rel(repo, obj)} ('{e.Path}', run {m.RunId}) has {of.Length} bytes, the run recorded {e.Size}.");
                    if (!statCache.TryGetValue(e.Path, out var st))
                    {
                        st = repo.Copy(repo.MirrorPath(e.Path));
                        statCache[e.Path] = st;
                        if (st.Problem != null) problems.Enqueue($"mirror file '{e.Path}' cannot be used: {st.Problem}.");
                    }
                    bool mirrorOk = st.IsFile && st.Length == e.Size && st.MTime == e.MTime;
                    if (full && mirrorOk && ReferenceEquals(m, last)) mirrorToHash.Add(e);
                    if (!objOk && !mirrorOk && !(e.Size == 0 && e.Hash == Sha256.EmptyHex))
                        problems.Enqueue($"'{e.Path}' of run {m.RunId} is not available: the mirror file {(st.Problem != null ? "cannot be used (" + st.Problem + ")" : st.IsFile ? "differs" : "is missing")} and the history object {Rel(repo, obj)} is missing.");
                }
            }

            if (full)
            {
                var objects = new List<string>();
                try
                {
                    foreach (var (f, kind) in repo.Store.EntriesBelow(repo.ObjectsDir, Reasons.CorruptCatalog))
                    {
                        if (kind == StoredKind.File) objects.Add(f);
                        else if (Path.GetFileName(f).IndexOf(AtomicFile.TempMarker, StringComparison.Ordinal) < 0)
                            problems.Enqueue($"history object {Rel(repo, f)} {StoredKindText.Describe(kind)}.");
                    }
                }
                catch (NekkBackupException ex) { problems.Enqueue($"{Short(ex)}: {ex.Message}"); }
                progress.BytesTotal = objects.Sum(f => new FileInfo(f).Length) + mirrorToHash.Sum(e => e.Size);
                var po = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, Math.Min(4, Environment.ProcessorCount)), CancellationToken = ct };
                await Task.Run(() =>
                {
                    Parallel.ForEach(objects, po, () => ArrayPool<byte>.Shared.Rent(FileOps.BufferSize), (f, _, buf) =>
                    {
                        var name = Path.GetFileName(f);
                        try
                        {
                            var (h, len) = HashStored(repo, f, buf, n => progress.AddBytes(n), ct);
                            Interlocked.Add(ref bytesVerified, len);
                            if (h != name)
                            {
                                var who = byHash.TryGetValue(name, out var w) ? $"'{w.Path}' of run {w.RunId}" : "no kept run";
                                problems.Enqueue($"history object {Rel(repo, f)} is corrupt (bit rot?): its content hashes to {h}; it holds {who}.");
                            }
                        }
                        catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is NekkBackupException)
                        {
                            problems.Enqueue($"history object {Rel(repo, f)} cannot be read: {ex.Message}");
                        }
                        return buf;
                    }, buf => ArrayPool<byte>.Shared.Return(buf));
                    Parallel.ForEach(mirrorToHash, po, () => ArrayPool<byte>.Shared.Rent(FileOps.BufferSize), (e, _, buf) =>
                    {
                        var path = repo.MirrorPath(e.Path);
                        try
                        {
                            var (h, len) = HashStored(repo, path, buf, n => progress.AddBytes(n), ct);
                            Interlocked.Add(ref bytesVerified, len);
                            if (h != e.Hash)
                            {
                                var backup = File.Exists(repo.ObjectPath(e.Hash!)) ? "a good copy is in history" : "no other copy exists";
                                problems.Enqueue($"mirror file '{e.Path}' is corrupt (bit rot?): its content hashes to {h}, run {last!.RunId} recorded {e.Hash}; {backup}.");
                            }
                        }
                        catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is NekkBackupException)
                        {
                            problems.Enqueue($"mirror file '{e.Path}' cannot be read: {ex.Message}");
                        }
                        return buf;
                    }, buf => ArrayPool<byte>.Shared.Return(buf));
                }, ct).ConfigureAwait(false);
            }
            progress.Report(null, true);

            var probs = problems.ToArray();
            foreach (var w in warnings) obs.Message(RunMessageLevel.Warning, w);
            return new FolderBackupTestResult
            {
                Destination = repo.Destination,
                Full = full,
                RunsChecked = ids.Count,
                FilesChecked = filesChecked,
                BytesVerified = bytesVerified,
                Problems = probs,
                Warnings = warnings.ToArray(),
                Status = probs.Length > 0 ? "Failed" : warnings.Count > 0 ? "Warning" : "Passed",
            };
        }

        private static string Rel(FolderRepository repo, string path) =>
            repo.Store.Contains(path) ? path.Substring(repo.Destination.Length).TrimStart(Path.DirectorySeparatorChar).Replace('\\', '/') : path;

        /// <summary>SHA-256 of a stored copy, opened only as a regular file inside the destination.</summary>
        private static (string Hash, long Length) HashStored(FolderRepository repo, string path, byte[] buffer, Action<int> onBytes, CancellationToken ct)
        {
            using var fs = repo.Store.OpenRead(path, Reasons.CorruptCatalog, "the stored copy") ?? throw new FileNotFoundException($"'{path}' disappeared.", path);
            return Sha256.OfStream(fs, buffer, ct, onBytes);
        }

        /// <summary>A run holding the destination now, or a lock a killed run left (this version's and 0.1.0's).</summary>
        private static IEnumerable<string> LockWarnings(FolderRepository repo)
        {
            var legacy = Path.Combine(repo.Meta, FolderLock.LegacyKey);
            bool live = false, stale = false;
            string? why = null;
            if (repo.Store.Kind(legacy) != StoredKind.Missing)
            {
                why = FolderLock.LegacyStaleReason(repo, legacy);
                if (why == null) live = true; else stale = true;
            }
            var options = FolderLock.DefaultOptions;
            foreach (var (f, kind) in SafeList(repo, Path.Combine(repo.Meta, "locks")))
            {
                if (kind != StoredKind.File || !f.EndsWith(".json", StringComparison.Ordinal)) continue;
                byte[]? bytes;
                try { bytes = repo.Store.ReadAllBytes(f, 64 * 1024 + 1, Reasons.CorruptCatalog, "the lock"); }
                catch (NekkBackupException) { continue; }
                if (bytes == null) continue;
                var holder = LockRecords.Judge(new TargetEntry("locks/" + Path.GetFileName(f), bytes.Length, File.GetLastWriteTimeUtc(f)), bytes, options.Lease, options.ClockSkew);
                if (holder.IsStale) { stale = true; why ??= holder.StaleReason; }
                else live = true;
            }
            if (live) yield return "a backup run is writing to this destination right now.";
            else if (stale) yield return $"a stale lock is left ({why}); the next run clears it.";
        }

        private static List<(string Path, StoredKind Kind)> SafeList(FolderRepository repo, string dir)
        {
            try { return repo.Store.List(dir, Reasons.CorruptCatalog); }
            catch (NekkBackupException) { return new List<(string, StoredKind)>(); }
        }

        private static bool PartialsLeft(FolderRepository repo)
        {
            try { return repo.Store.List(repo.PartialDir, Reasons.CorruptCatalog).Count > 0; }
            catch (NekkBackupException) { return true; }
        }

        /// <summary>The reason of an error without its "NekkBackup." prefix, as Problems name it.</summary>
        private static string Short(NekkBackupException ex) =>
            ex.ErrorId.StartsWith("NekkBackup.", StringComparison.Ordinal) ? ex.ErrorId.Substring(11) : ex.ErrorId;
    }
}
