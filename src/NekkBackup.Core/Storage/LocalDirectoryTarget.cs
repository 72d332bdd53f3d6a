using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Primitives;

namespace NekkBackup.Core.Storage
{
    /// <summary>
    /// A target in a folder: a local disk, a loop-mounted file system, or a NAS share (a UNC path on Windows,
    /// a mount on Linux). Key a/b/c is the file &lt;root&gt;/a/b/c. A put writes &lt;root&gt;/.nekk-tmp/&lt;random&gt;,
    /// fsyncs it and renames it into place (then fsyncs the folder), so a reader or a crash never sees half an
    /// object. Keys are confined to the root (<see cref="LocalPathGuard"/>); links, FIFOs and devices where an
    /// object belongs are refused, never followed or opened.
    /// </summary>
    public sealed class LocalDirectoryTarget : IBackupTarget
    {
        private const int CopyBuffer = 1 << 20;
        private readonly string _root;
        private readonly string _tempDir;

        private readonly LocalPathGuard.NoReplace _noReplace;

        private LocalDirectoryTarget(string root, TargetCapabilities capabilities, LocalPathGuard.NoReplace noReplace)
        {
            _root = root;
            _noReplace = noReplace;
            _tempDir = Path.Combine(root, StorageKeys.TempSegment);
            Capabilities = capabilities;
        }

        public string Location => _root;
        public TargetCapabilities Capabilities { get; }

        /// <summary>Opens (and probes) the folder <paramref name="root"/>: TargetNotFound when it (or, with CreateRoot, its parent) is missing.</summary>
        public static LocalDirectoryTarget Open(string root, LocalTargetOptions? options = null)
        {
            options ??= new LocalTargetOptions();
            options.Validate();
            if (string.IsNullOrWhiteSpace(root) || !Path.IsPathRooted(root))
                throw Fail.Argument("InvalidPath", $"The target folder '{root}' must be an absolute path.", root);
            var full = Path.GetFullPath(root);
            var pathRoot = Path.GetPathRoot(full) ?? "";
            if (full.Length > pathRoot.Length) full = full.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
            try
            {
                if (!Directory.Exists(full))
                {
                    var parent = Path.GetDirectoryName(full);
                    if (!options.CreateRoot || parent == null || !Directory.Exists(parent))
                        throw new TargetException(TargetErrorKind.NotFound, $"The target folder '{full}' does not exist (or the share is unreachable).", null);
                    Directory.CreateDirectory(full);
                }
                var temp = Directory.CreateDirectory(Path.Combine(full, StorageKeys.TempSegment)).FullName;
                SweepTemp(temp, options.TempMaxAge);
                var noReplace = LocalPathGuard.ProbeNoReplace(temp);
                var caps = new TargetCapabilities
                {
                    Kind = "local",
                    AtomicPut = true,
                    AtomicRename = true,
                    // link(2) or renameat2(RENAME_NOREPLACE) on Linux, MoveFileEx without REPLACE_EXISTING on Windows.
                    ConditionalCreate = noReplace != LocalPathGuard.NoReplace.CheckThenRename,
                    ServerSideHash = false,
                    ObjectLock = false,
                    MaxKeyLength = 1024,
                    MaxSegmentLength = 255,
                    NameRules = options.NameRules ?? (OperatingSystemInfo.IsWindows ? KeyNameRules.Windows : ProbeNameRules(temp)),
                    CaseSensitive = options.CaseSensitive ?? ProbeCaseSensitive(temp),
                    LocalRoot = full,
                };
                return new LocalDirectoryTarget(full, caps, noReplace);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                throw Map(ex, null, full);
            }
        }

        private static string ProbeName() => "probe-" + Guid.NewGuid().ToString("N").Substring(0, 12);

        private static KeyNameRules ProbeNameRules(string temp)
        {
            var p = Path.Combine(temp, ProbeName() + "-q?");
            try
            {
                using (new FileStream(p, FileMode.CreateNew, FileAccess.Write)) { }
                File.Delete(p);
                return KeyNameRules.Posix;
            }
            catch (IOException ex) when (Fail.IsInvalidName(ex)) { return KeyNameRules.Windows; }
        }

        private static bool ProbeCaseSensitive(string temp)
        {
            var p = Path.Combine(temp, ProbeName() + "-a");
            using (new FileStream(p, FileMode.CreateNew, FileAccess.Write)) { }
            try { return LocalPathGuard.Probe(Path.Combine(temp, Path.GetFileName(p).ToUpperInvariant()), out _, out _) == LocalEntryKind.Missing; }
            finally { File.Delete(p); }
        }

        private static void SweepTemp(string temp, TimeSpan maxAge)
        {
            foreach (var f in Directory.EnumerateFiles(temp))
            {
                try { if (DateTime.UtcNow - File.GetLastWriteTimeUtc(f) > maxAge) File.Delete(f); }
                catch (IOException) { }
                catch (UnauthorizedAccessException) { }
            }
        }

        private string PathOf(string key)
        {
            StorageKeys.Validate(key, Capabilities);
            var full = LocalPathGuard.Resolve(_root, key);
            LocalPathGuard.CheckAncestors(_root, full, key);
            return full;
        }

        public async Task<TargetEntry> PutAsync(string key, Stream content, PutOptions? options, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            options ??= PutOptions.Default;
            if (content == null) throw new ArgumentNullException(nameof(content));
            if (options.RetainUntilUtc != null)
                throw new TargetException(TargetErrorKind.NotSupported, $"The folder '{_root}' cannot keep objects write-once (Object Lock); use an S3 bucket with Object Lock for that.", key);
            string? tmp = null;
            try
            {
                var full = PathOf(key);
                var existing = LocalPathGuard.Probe(full, out _, out _);
                if (existing != LocalEntryKind.Missing && existing != LocalEntryKind.File) throw LocalPathGuard.Unsafe(key, full, existing);
                if (existing == LocalEntryKind.File && options.Mode == PutMode.CreateNew) throw Exists(key);
                var dir = Path.GetDirectoryName(full)!;
                EnsureStillThere(key);
                Directory.CreateDirectory(dir);
                tmp = Path.Combine(_tempDir, Guid.NewGuid().ToString("N") + ".tmp");
                string? sha = null;
                using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.None))
                {
                    // A buffer in memory (a Ghost chunk) is written as it is: one write, no copy through a staging buffer.
                    if (options.ExpectedSha256 == null && content is MemoryStream ms && ms.TryGetBuffer(out var seg))
                    {
                        fs.Write(seg.Array!, seg.Offset + (int)ms.Position, (int)(ms.Length - ms.Position));
                        ms.Position = ms.Length;
                    }
                    else sha = await CopyAsync(content, fs, options.ExpectedSha256 != null, cancellationToken).ConfigureAwait(false);
                    if (options.Durable) fs.Flush(true);
                    else LocalPathGuard.StartWriteBack(fs.SafeFileHandle); // written back while the caller works, flushed at its durability point
                }
                if (options.ExpectedSha256 != null && !string.Equals(sha, options.ExpectedSha256, StringComparison.OrdinalIgnoreCase))
                    throw new TargetException(TargetErrorKind.ContentMismatch, $"The content written for '{key}' has SHA-256 {sha}, not the expected {options.ExpectedSha256}; nothing was stored.", key);
                cancellationToken.ThrowIfCancellationRequested();
                if (options.Mode == PutMode.CreateNew)
                {
                    if (!LocalPathGuard.MoveNoReplace(tmp, full, _noReplace)) throw Exists(key);
                }
                else AtomicFile.MoveOverwrite(tmp, full);
                tmp = null;
                if (options.Durable) LocalPathGuard.SyncDirectory(dir);
                LocalPathGuard.Probe(full, out var size, out var mtime);
                return new TargetEntry(key, size, mtime, sha);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                throw Map(ex, key, _root);
            }
            finally
            {
                if (tmp != null) TryDelete(tmp);
            }
        }

        private static async Task<string?> CopyAsync(Stream from, Stream to, bool hash, CancellationToken ct)
        {
            var buffer = ArrayPool<byte>.Shared.Rent(CopyBuffer);
            using var sha = hash ? SHA256.Create() : null;
            try
            {
                int n;
                while ((n = await from.ReadAsync(buffer, 0, CopyBuffer, ct).ConfigureAwait(false)) > 0)
                {
                    sha?.TransformBlock(buffer, 0, n, null, 0);
                    await to.WriteAsync(buffer, 0, n, ct).ConfigureAwait(false);
                }
                if (sha == null) return null;
                sha.TransformFinalBlock(buffer, 0, 0);
                return Hex.Encode(sha.Hash!);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        public Task<Stream> OpenReadAsync(string key, long offset, long length, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (offset < 0) throw new ArgumentOutOfRangeException(nameof(offset));
            try
            {
                var full = PathOf(key);
                var kind = LocalPathGuard.Probe(full, out var size, out _);
                if (kind == LocalEntryKind.Missing) throw NotFound(key);
                if (kind != LocalEntryKind.File) throw LocalPathGuard.Unsafe(key, full, kind);
                if (offset > size)
                    throw new TargetException(TargetErrorKind.RangeNotSatisfiable, $"The object '{key}' has {size} bytes; cannot read from offset {offset}.", key);
                var fs = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16, FileOptions.SequentialScan);
                try
                {
                    // Swapped for a link between the check and the open? Then refuse what was opened.
                    var after = LocalPathGuard.Probe(full, out _, out _);
                    // Deleted between the check and the open (a lock released, a chunk swept): it is gone, not unsafe.
                    if (after == LocalEntryKind.Missing) throw NotFound(key);
                    if (after != LocalEntryKind.File) throw LocalPathGuard.Unsafe(key, full, after);
                    if (offset > 0) fs.Seek(offset, SeekOrigin.Begin);
                    return Task.FromResult<Stream>(length < 0 ? fs : new BoundedReadStream(fs, length));
                }
                catch
                {
                    fs.Dispose();
                    throw;
                }
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                throw Map(ex, key, _root);
            }
        }

        public Task<TargetEntry?> StatAsync(string key, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                var full = PathOf(key);
                var kind = LocalPathGuard.Probe(full, out var size, out var mtime);
                if (kind == LocalEntryKind.Missing) return Task.FromResult<TargetEntry?>(null);
                if (kind != LocalEntryKind.File) throw LocalPathGuard.Unsafe(key, full, kind);
                return Task.FromResult<TargetEntry?>(new TargetEntry(key, size, mtime));
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                throw Map(ex, key, _root);
            }
        }

        public async IAsyncEnumerable<TargetEntry> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            StorageKeys.ValidatePrefix(prefix, Capabilities);
            int slash = prefix.LastIndexOf('/');
            var startKey = slash < 0 ? "" : prefix.Substring(0, slash);
            string start;
            try
            {
                start = startKey.Length == 0 ? _root : LocalPathGuard.Resolve(_root, startKey);
                if (startKey.Length > 0)
                {
                    LocalPathGuard.CheckAncestors(_root, start, startKey);
                    if (LocalPathGuard.Probe(start, out _, out _) != LocalEntryKind.Directory) yield break;
                }
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                throw Map(ex, prefix, _root);
            }
            var pending = new Stack<(string dir, string keyPrefix)>();
            pending.Push((start, startKey.Length == 0 ? "" : startKey + "/"));
            while (pending.Count > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var (dir, keyPrefix) = pending.Pop();
                List<TargetEntry> files;
                try { files = ReadFolder(dir, keyPrefix, prefix, pending); }
                catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
                {
                    throw Map(ex, prefix, _root);
                }
                foreach (var f in files) yield return f;
                await Task.Yield();
            }
        }

        private List<TargetEntry> ReadFolder(string dir, string keyPrefix, string prefix, Stack<(string, string)> pending)
        {
            var files = new List<TargetEntry>();
            IEnumerable<string> names;
            try { names = Directory.EnumerateFileSystemEntries(dir); }
            catch (DirectoryNotFoundException) { return files; } // removed while listing
            foreach (var path in names)
            {
                var name = Path.GetFileName(path);
                var key = keyPrefix + name;
                if (keyPrefix.Length == 0 && string.Equals(name, StorageKeys.TempSegment, StringComparison.OrdinalIgnoreCase)) continue;
                // Prune folders that cannot hold a key with the prefix.
                bool couldMatch = key.Length >= prefix.Length ? key.StartsWith(prefix, StringComparison.Ordinal) : prefix.StartsWith(key, StringComparison.Ordinal);
                if (!couldMatch) continue;
                var kind = LocalPathGuard.Probe(path, out var size, out var mtime);
                if (kind == LocalEntryKind.Directory) pending.Push((path, key + "/"));
                else if (kind == LocalEntryKind.File && key.StartsWith(prefix, StringComparison.Ordinal) && StorageKeys.Problem(key, Capabilities) == null)
                    files.Add(new TargetEntry(key, size, mtime));
                // Links, FIFOs, devices and names outside the grammar are not objects of this target.
            }
            return files;
        }

        public Task DeleteAsync(string key, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                var full = PathOf(key);
                var kind = LocalPathGuard.Probe(full, out _, out _);
                if (kind == LocalEntryKind.Missing) return Task.CompletedTask;
                if (kind != LocalEntryKind.File) throw LocalPathGuard.Unsafe(key, full, kind);
                try { File.Delete(full); }
                catch (UnauthorizedAccessException) when ((File.GetAttributes(full) & FileAttributes.ReadOnly) != 0)
                {
                    File.SetAttributes(full, FileAttributes.Normal);
                    File.Delete(full);
                }
                return Task.CompletedTask;
            }
            catch (DirectoryNotFoundException) { return Task.CompletedTask; }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                throw Map(ex, key, _root);
            }
        }

        public Task MoveAsync(string fromKey, string toKey, bool overwrite, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                var from = PathOf(fromKey);
                var kind = LocalPathGuard.Probe(from, out _, out _);
                if (kind == LocalEntryKind.Missing) throw NotFound(fromKey);
                if (kind != LocalEntryKind.File) throw LocalPathGuard.Unsafe(fromKey, from, kind);
                var to = PathOf(toKey);
                var existing = LocalPathGuard.Probe(to, out _, out _);
                if (existing != LocalEntryKind.Missing && existing != LocalEntryKind.File) throw LocalPathGuard.Unsafe(toKey, to, existing);
                if (existing == LocalEntryKind.File && !overwrite) throw Exists(toKey);
                EnsureStillThere(toKey);
                Directory.CreateDirectory(Path.GetDirectoryName(to)!);
                if (overwrite) AtomicFile.MoveOverwrite(from, to);
                else if (!LocalPathGuard.MoveNoReplace(from, to, _noReplace)) throw Exists(toKey);
                LocalPathGuard.SyncDirectory(Path.GetDirectoryName(to)!);
                return Task.CompletedTask;
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                throw Map(ex, fromKey, _root);
            }
        }

        /// <summary>
        /// The temp folder made at open is the sentinel that this is still the same folder: when a share drops out
        /// (or its mount point is left empty), nothing is created in its place on the local disk.
        /// </summary>
        private void EnsureStillThere(string key)
        {
            if (!Directory.Exists(_tempDir))
                throw new TargetException(TargetErrorKind.Unavailable, $"The target folder '{_root}' is no longer there (the share dropped out or was unmounted); nothing was written.", key);
        }

        public bool IsPermanent(Exception error) => TargetErrors.IsPermanent(error);

        private TargetException NotFound(string key) =>
            new(TargetErrorKind.NotFound, $"There is no object '{StorageKeys.Printable(key)}' in '{_root}'.", key);

        private TargetException Exists(string key) =>
            new(TargetErrorKind.AlreadyExists, $"The object '{StorageKeys.Printable(key)}' already exists in '{_root}'.", key);

        private static void TryDelete(string path)
        {
            try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }

        /// <summary>File-system errors as target errors: a vanished root is Unavailable (a share dropping out), not NotFound.</summary>
        internal static TargetException Map(Exception ex, string? key, string root)
        {
            if (ex is TargetException t) return t;
            var where = key == null ? $"'{root}'" : $"'{StorageKeys.Printable(key)}' in '{root}'";
            switch (ex)
            {
                case UnauthorizedAccessException:
                    return new TargetException(TargetErrorKind.AccessDenied, $"Access to {where} is denied: {ex.Message}", key, ex);
                case FileNotFoundException:
                case DirectoryNotFoundException:
                    return Directory.Exists(Path.Combine(root, StorageKeys.TempSegment))
                        ? new TargetException(TargetErrorKind.NotFound, $"{where} is not there: {ex.Message}", key, ex)
                        : new TargetException(TargetErrorKind.Unavailable, $"The target folder '{root}' is unreachable (a share that dropped out?): {ex.Message}", key, ex);
                case PathTooLongException:
                    return new TargetException(TargetErrorKind.InvalidKey, $"The path for {where} is too long for this file system.", key, ex);
                case IOException io when Fail.IsDiskFull(io):
                    return new TargetException(TargetErrorKind.Full, $"The target '{root}' is full while writing {where}: {ex.Message}", key, ex);
                case IOException io when Fail.IsInvalidName(io):
                    return new TargetException(TargetErrorKind.InvalidKey, $"The file system of '{root}' refuses the name {where}: {ex.Message}", key, ex);
                default:
                    return new TargetException(TargetErrorKind.Io, $"I/O error on {where}: {ex.Message}", key, ex);
            }
        }
    }
}
