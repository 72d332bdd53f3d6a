using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Primitives;
using NekkBackup.Core.Sources;

namespace NekkBackup.Core.Cloud
{
    /// <summary>
    /// Send-NekkCloudBackup -WhatIf: the run's decisions (<see cref="UploadPhase"/>) made without sending anything. Files
    /// outside -ModifiedWithin and files unchanged since the latest run are not read; the rest are hashed locally and
    /// their content looked up where the run would look (the latest run's objects, then a HEAD for a large file), so
    /// a copy or a rename shows as already stored. Reads the bucket (listing, manifests, HEAD), never writes to it:
    /// no lock object, no journal, no manifest.
    /// </summary>
    internal static class CloudPreview
    {
        public static async Task<CloudBackupPreview> RunAsync(CloudTarget target, CloudBackupOptions options, IRunObserver observer, CancellationToken ct)
        {
            options.Validate();
            var roots = CloudScan.ResolveRoots(options.Paths);
            CloudClient.Validate(target);
            using var client = await CloudClient.OpenAsync(target, observer, null, ct).ConfigureAwait(false);
            var encryption = options.Cipher != null ? ContentCipher.Name : null;
            var previous = await PreviousRun.LoadAsync(client, encryption, observer, ct).ConfigureAwait(false);
            using var scan = await CloudScan.RunAsync(roots, options, observer, ct, LiveSourceResolver.Instance).ConfigureAwait(false);

            var cutoff = options.ModifiedWithin is TimeSpan mw ? DateTime.UtcNow - mw : (DateTime?)null;
            var files = scan.Files.OrderBy(f => f.RelPath, StringComparer.Ordinal).ToList();
            // The run's own test (UploadPhase): same size and time as recorded, and the recorded object known to be there.
            bool Unchanged(SourceFile f) => previous.Unchanged(f, out _);
            var toHash = files.Where(f => !(cutoff is DateTime c && f.MTime < c) && !Unchanged(f)).ToList();
            var hashes = await HashAsync(toHash, options.ThrottleLimit, observer, ct).ConfigureAwait(false);

            var items = new List<PreviewItem>();
            var sending = new Dictionary<string, string>(StringComparer.Ordinal);   // key → first path that would send it
            long up = 0, upBytes = 0, same = 0, sameBytes = 0, stored = 0, storedBytes = 0, old = 0, errors = scan.Errors;
            foreach (var f in files)
            {
                if (cutoff is DateTime cut && f.MTime < cut)
                {
                    old++;
                    items.Add(new PreviewItem { Action = "NotRead", Path = f.RelPath, Size = f.Size, Detail = "older than -ModifiedWithin: " + (previous.ByPath.ContainsKey(f.RelPath) ? "its last entry stays" : "not in the bucket") });
                }
                else if (Unchanged(f))
                {
                    same++;
                    sameBytes += f.Size;
                    items.Add(new PreviewItem { Action = "Unchanged", Path = f.RelPath, Size = f.Size, Detail = "same size and time as the latest run: not read" });
                }
                else if (!hashes.TryGetValue(f.RelPath, out var hash))
                    errors++;   // reported by HashAsync
                else
                {
                    var key = client.Target.DataKey(hash);
                    string? where = previous.KnownObjects.ContainsKey(key) ? "content already in the bucket"
                        : sending.TryGetValue(key, out var first) ? $"same content as {first}, sent once"
                        : f.Size >= ContentStore.HeadCheckThreshold && await HeldAsync(client, key, hash, encryption, ct).ConfigureAwait(false) ? "content already in the bucket"
                        : null;
                    if (where != null)
                    {
                        stored++;
                        storedBytes += f.Size;
                        items.Add(new PreviewItem { Action = "Stored", Path = f.RelPath, Size = f.Size, Detail = where + ": recorded, not sent" });
                        continue;
                    }
                    sending[key] = f.RelPath;
                    up++;
                    upBytes += f.Size;
                    items.Add(new PreviewItem { Action = "Upload", Path = f.RelPath, Size = f.Size, Detail = previous.ByPath.ContainsKey(f.RelPath) ? "changed" : "new" });
                }
            }
            foreach (var l in scan.Links.OrderBy(l => l.Path, StringComparer.Ordinal))
                items.Add(new PreviewItem { Action = "Link", Path = l.Path, Detail = "recorded with its target " + l.LinkTarget });
            return new CloudBackupPreview
            {
                Bucket = target.Bucket, Prefix = target.HostRoot.TrimEnd('/'), Source = roots.Select(r => r.Full).ToArray(), PreviousRunId = previous.RunId,
                FilesScanned = scan.Files.Count + scan.Links.Count,
                FilesToUpload = up, BytesToUpload = upBytes, FilesUnchanged = same, BytesUnchanged = sameBytes,
                FilesAlreadyStored = stored, BytesAlreadyStored = storedBytes, FilesOutsideWindow = old, LinksToRecord = scan.Links.Count,
                Errors = errors, Items = items.ToArray(),
            };
        }

        /// <summary>The object the run's HEAD check would accept (<see cref="ContentStore.Holds"/>).</summary>
        private static async Task<bool> HeldAsync(CloudClient client, string key, string hash, string? encryption, CancellationToken ct) =>
            ContentStore.Holds(await client.HeadAsync(key, ct).ConfigureAwait(false), hash, encryption);

        /// <summary>SHA-256 of each file the run would read, ThrottleLimit at a time, with progress; a file that cannot be read is an item error.</summary>
        private static async Task<Dictionary<string, string>> HashAsync(List<SourceFile> files, int parallel, IRunObserver observer, CancellationToken ct)
        {
            var result = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
            long total = files.Sum(f => f.Size), done = 0, count = 0;
            var progress = new ProgressThrottle();
            await BoundedParallel.ForEachAsync(files, Math.Max(1, parallel), async f =>
            {
                try { result[f.RelPath] = (await ContentStore.HashFileAsync(f.ReadPath, false, ct).ConfigureAwait(false)).Sha256; }
                catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException) { observer.ItemFailed(f.LivePath, Fail.FromIo(ex, f.LivePath)); }
                Interlocked.Add(ref done, f.Size);
                var n = Interlocked.Increment(ref count);
                if (progress.TryEnter())
                    observer.Progress(new RunProgress(CloudBackupEngine.Activity + " -WhatIf", $"hashing changed files to compare with the bucket: {n}/{files.Count}")
                    {
                        CurrentItem = f.RelPath, BytesDone = Interlocked.Read(ref done), BytesTotal = total, ItemsDone = n, ItemsTotal = files.Count,
                    });
            }, ct).ConfigureAwait(false);
            observer.Progress(new RunProgress(CloudBackupEngine.Activity + " -WhatIf", "done") { Completed = true });
            return new Dictionary<string, string>(result, StringComparer.Ordinal);
        }
    }
}
