using System;
using System.IO;
using System.Text.Json;
using System.Threading;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Validation;

namespace NekkBackup.Core
{
    /// <summary>
    /// A small JSON state file in the data folder shared by processes (snapshots.json, mounts.json): every change
    /// is a read-modify-write under an exclusive lock file, written to a temp file, flushed and renamed
    /// (<see cref="AtomicFile"/>), so a crash leaves the old state or the new one. A file that does not parse is
    /// NekkBackup.&lt;corruptReason&gt;: never silently replaced, since it lists things only it remembers. It is read
    /// through the validation layer (a regular file in the data folder, never followed or blocked on, bounded in size)
    /// and every record is checked by the store's rules before anything acts on it.
    /// </summary>
    internal sealed class StateFile<T> where T : class, new()
    {
        private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };
        private static readonly object ProcessLock = new();
        private readonly string _corruptReason;
        private readonly string _lockedReason;
        private readonly string _what;
        private readonly Action<T, StoredCheck> _check;
        private readonly long _maxBytes;

        /// <param name="check">The rules every record must meet; throws <paramref name="corruptReason"/> through the check.</param>
        public StateFile(string filePath, string corruptReason, string lockedReason, string what, Action<T, StoredCheck> check, long maxBytes = 16L << 20)
        {
            FilePath = Path.GetFullPath(filePath);
            _corruptReason = corruptReason;
            _lockedReason = lockedReason;
            _what = what;
            _check = check ?? throw new ArgumentNullException(nameof(check));
            _maxBytes = maxBytes;
        }

        public string FilePath { get; }

        /// <summary>Runs <paramref name="change"/> on the current state under the lock; writes it back when it reports a change.</summary>
        public TResult Mutate<TResult>(Func<T, (TResult Result, bool Changed)> change)
        {
            lock (ProcessLock)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(FilePath)!);
                using var fileLock = AcquireLock(FilePath + ".lock");
                var state = Read();
                var (result, changed) = change(state);
                if (changed) AtomicFile.Write(FilePath, JsonSerializer.SerializeToUtf8Bytes(state, Json));
                return result;
            }
        }

        private T Read()
        {
            var c = new StoredCheck(FilePath, _corruptReason, $"the {_what} file");
            var bytes = new StoreRoot(Path.GetDirectoryName(FilePath)!, "the data folder").ReadAllBytes(FilePath, _maxBytes, c.Reason, c.What);
            if (bytes == null || System.Text.Encoding.UTF8.GetString(bytes).Trim().Length == 0) return new T();
            try
            {
                var doc = StoredJson.Parse<T>(bytes, Json, c);
                _check(doc, c);
                return doc;
            }
            catch (NekkBackupException ex) when (ex.ErrorId == "NekkBackup." + _corruptReason)
            {
                throw Fail.InvalidData(_corruptReason, ex.Message + " Move it aside; what it listed must then be removed by hand.", FilePath, ex);
            }
        }

        private FileStream AcquireLock(string path)
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (true)
            {
                try
                {
                    return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                }
                catch (IOException) when (DateTime.UtcNow < deadline)
                {
                    Thread.Sleep(25);
                }
                catch (IOException ex)
                {
                    throw new NekkBackupException(_lockedReason, FailureKind.ResourceUnavailable, $"The {_what} file is locked by another NekkBackup process ({path}).", path, ex) { IsTransient = true };
                }
            }
        }
    }
}
