using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Primitives;

namespace NekkBackup.Core.Cloud
{
    /// <summary>
    /// Phase 2 of Send-NekkCloudBackup: every scanned file, ThrottleLimit at a time. An unchanged file (same size and
    /// time as the previous run, its object known) keeps its entry unread; the rest is hashed and its content stored
    /// once (<see cref="ContentStore"/>), however many paths hold it. A file that fails is one item error and keeps its
    /// last good entry. The entries are what the commit phase writes.
    /// </summary>
    internal sealed class UploadPhase
    {
        private readonly UploadContext _ctx;
        private readonly ContentStore _store;
        private readonly CloudBackupOptions _options;
        private readonly PreviousRun _previous;
        private readonly IRunObserver _observer;
        private readonly CancellationToken _ct;
        private readonly DateTime? _cutoff;
        private readonly ConcurrentDictionary<string, Lazy<Task<ManifestEntry>>> _inflightByHash = new(StringComparer.Ordinal);
        private readonly ProgressThrottle _progress = new();
        private readonly Stopwatch _clock;
        private long _uploaded, _skipped, _errors, _filesDone, _bytesDone, _filesTotal, _bytesTotal;

        public UploadPhase(UploadContext ctx, ContentStore store, CloudBackupOptions options, PreviousRun previous, IRunObserver observer, Stopwatch clock, CancellationToken ct)
        {
            _ctx = ctx;
            _store = store;
            _options = options;
            _previous = previous;
            _observer = observer;
            _clock = clock;
            _ct = ct;
            _cutoff = options.ModifiedWithin is TimeSpan mw ? DateTime.UtcNow - mw : null;
        }

        /// <summary>The run's entries by manifest path.</summary>
        public ConcurrentDictionary<string, ManifestEntry> Entries { get; } = new(StringComparer.Ordinal);

        /// <summary>The content hash of each live path read (to abort journaled uploads of content no longer wanted).</summary>
        public ConcurrentDictionary<string, string> ScannedHashes { get; } = new(StringComparer.Ordinal);

        public long Uploaded => Interlocked.Read(ref _uploaded);
        public long Skipped => Interlocked.Read(ref _skipped);
        public long Errors => Interlocked.Read(ref _errors);

        public Task RunAsync(IReadOnlyList<SourceFile> files)
        {
            _filesTotal = files.Count;
            _bytesTotal = files.Sum(f => f.Size);
            return BoundedParallel.ForEachAsync(files, _options.ThrottleLimit, ProcessAsync, _ct);
        }

        public void ReportDone() => Report(null, done: true);

        /// <summary>Links found by the scan: recorded as they are (no content to send).</summary>
        public void RecordLinks(IEnumerable<ManifestEntry> links)
        {
            foreach (var l in links) Entries[l.Path] = l;
        }

        /// <summary>Below a folder the scan could not list nothing is known: what the last run recorded there stays.</summary>
        public void KeepUnder(IReadOnlyList<string> unknownFolders)
        {
            if (unknownFolders.Count == 0) return;
            foreach (var prev in _previous.ByPath.Values)
                if (!Entries.ContainsKey(prev.Path) && unknownFolders.Any(u => prev.Path == u || prev.Path.StartsWith(u + "/", StringComparison.Ordinal)))
                    Entries[prev.Path] = prev;
        }

        private void Report(string? item, bool done = false)
        {
            if (!done && !_progress.TryEnter()) return;
            _observer.Progress(new RunProgress(CloudBackupEngine.Activity, $"{Interlocked.Read(ref _filesDone)}/{_filesTotal} files, {_ctx.BytesSent / 1048576.0:0.0} MiB sent")
            {
                CurrentItem = item, BytesDone = Interlocked.Read(ref _bytesDone), BytesTotal = _bytesTotal,
                ItemsDone = Interlocked.Read(ref _filesDone), ItemsTotal = _filesTotal,
                BytesPerSecond = _clock.Elapsed.TotalSeconds > 0 ? _ctx.BytesSent / _clock.Elapsed.TotalSeconds : 0, Completed = done,
            });
        }

        private async Task ProcessAsync(SourceFile f)
        {
            bool unchanged = _previous.Unchanged(f, out var prev);
            if ((_cutoff is DateTime cut && f.MTime < cut) || unchanged)
            {
                // Outside -ModifiedWithin, or unchanged: the last entry stands, the file is not read.
                if (prev != null) Entries[f.RelPath] = prev;
                Interlocked.Increment(ref _skipped);
                return;
            }
            byte[]? small = null;
            try
            {
                int smallLen = 0;
                byte[]? md5 = null;
                string hash;
                if (_options.Cipher == null && f.Size <= _ctx.PartSize)
                {
                    // Small file: read once into a pooled part buffer, hash it there and send those same bytes.
                    small = await _ctx.Pool.RentAsync(_ct).ConfigureAwait(false);
                    smallLen = await ContentStore.ReadUpToAsync(f.ReadPath, small, _ct).ConfigureAwait(false);
                    if (smallLen == small.Length && new FileInfo(f.ReadPath).Length > smallLen)
                    {
                        _ctx.Pool.Return(small); // grew past one part since the scan: stream it instead
                        small = null;
                        (hash, _, f.Size) = await ContentStore.HashFileAsync(f.ReadPath, false, _ct).ConfigureAwait(false);
                    }
                    else
                    {
                        f.Size = smallLen;
                        hash = Sha256.Of(small, 0, smallLen);
                    }
                }
                else
                {
                    bool streamPut = _options.Cipher == null && _ctx.Limiter.IsUnlimited && f.Size <= _options.SinglePutMaxBytes;
                    // The manifest records what was hashed, even if the file changed since the scan.
                    (hash, md5, f.Size) = await ContentStore.HashFileAsync(f.ReadPath, streamPut, _ct).ConfigureAwait(false);
                }
                ScannedHashes[f.LivePath] = hash;
                // A failed upload fails every path holding that content (each one an item error).
                var stored = await StoreOnceAsync(f, hash, small, smallLen, md5).ConfigureAwait(false);
                var entry = new ManifestEntry
                {
                    Path = f.RelPath, Size = f.Size, LastWriteTimeUtc = f.MTime, Hash = hash, Key = stored.Key,
                    StorageClass = stored.StorageClass == ContentStore.Existing ? _store.StorageClassOrDefault : stored.StorageClass,
                    StoredSize = stored.StoredSize,
                };
                Entries[f.RelPath] = entry;
                _previous.KnownObjects.TryAdd(stored.Key, entry);
            }
            catch (NekkBackupException ex) when (!CloudErrors.IsFatal(ex))
            {
                Failed(f, prev, ex);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Failed(f, prev, Fail.FromIo(ex, f.LivePath));
            }
            finally
            {
                if (small != null) _ctx.Pool.Return(small);
                Interlocked.Increment(ref _filesDone);
                Interlocked.Add(ref _bytesDone, f.Size);
                Report(f.RelPath);
            }
        }

        /// <summary>Stores a content at most once per run, whichever path meets it first; the others wait for that upload.</summary>
        private async Task<ManifestEntry> StoreOnceAsync(SourceFile f, string hash, byte[]? small, int smallLen, byte[]? md5)
        {
            var key = _ctx.Client.Target.DataKey(hash);
            if (_previous.KnownObjects.TryGetValue(key, out var known))
            {
                Interlocked.Increment(ref _skipped);
                return known;
            }
            bool mine = false;
            var lazy = _inflightByHash.GetOrAdd(hash, _ => new Lazy<Task<ManifestEntry>>(() =>
            {
                mine = true;
                return small != null ? _store.StoreSmallAsync(small, smallLen, hash, key)
                    : md5 != null && !_store.HasJournaledUpload(key) ? _store.StoreStreamedAsync(f, hash, md5, key)
                    : _store.StoreMultipartAsync(f, hash, key);
            }));
            var stored = await lazy.Value.ConfigureAwait(false);
            if (mine && stored.StorageClass != ContentStore.Existing) Interlocked.Increment(ref _uploaded);
            else Interlocked.Increment(ref _skipped);
            return stored;
        }

        private void Failed(SourceFile f, ManifestEntry? prev, NekkBackupException ex)
        {
            Interlocked.Increment(ref _errors);
            _observer.ItemFailed(f.LivePath, ex);
            if (prev != null) Entries[f.RelPath] = prev; // the last good content stays recorded
        }
    }
}
