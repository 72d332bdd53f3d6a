using System;
using System.IO;
using System.Text.Json;
using System.Threading;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core
{
    /// <summary>
    /// A small JSON state file in the data folder shared by processes (snapshots.json, mounts.json): every change
    /// is a read-modify-write under an exclusive lock file, written to a temp file, flushed and renamed
    /// (<see cref="AtomicFile"/>), so a crash leaves the old state or the new one. A file that does not parse is
    /// NekkBackup.&lt;corruptReason&gt;: never silently replaced, since it lists things only it remembers.
    /// </summary>
    public sealed class StateFile<T> where T : class, new()
    {
        private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };
        private static readonly object ProcessLock = new();
        private readonly string _corruptReason;
        private readonly string _lockedReason;
        private readonly string _what;

        public StateFile(string filePath, string corruptReason, string lockedReason, string what)
        {
            FilePath = Path.GetFullPath(filePath);
            _corruptReason = corruptReason;
            _lockedReason = lockedReason;
            _what = what;
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
            if (!File.Exists(FilePath)) return new T();
            try
            {
                var text = File.ReadAllText(FilePath);
                if (text.Trim().Length == 0) return new T();
                return JsonSerializer.Deserialize<T>(text, Json) ?? new T();
            }
            catch (JsonException ex)
            {
                throw Fail.InvalidData(_corruptReason, $"The {_what} file '{FilePath}' is not valid JSON ({ex.Message}). Move it aside; what it listed must then be removed by hand.", FilePath, ex);
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
