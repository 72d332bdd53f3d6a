using System;
using System.Diagnostics;
using System.IO;
using System.Text;
using System.Text.Json;
using System.Threading;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Validation;

namespace NekkBackup.Core.Folder
{
    /// <summary>
    /// The writer's lease on a destination: <c>.nekkbackup/lock</c> holds JSON {host, pid, time}, created
    /// exclusively. A lock is stale when its process is gone (same host) or it was not renewed for
    /// 30 minutes (renewed every minute while a run works). Two runs never write at once.
    /// </summary>
    internal sealed class DestinationLock : IDisposable
    {
        public static readonly TimeSpan StaleAfter = TimeSpan.FromMinutes(30);
        private static readonly TimeSpan RenewEvery = TimeSpan.FromMinutes(1);

        private readonly string _path;
        private readonly string _token;
        private readonly Timer _renew;
        private int _disposed;

        private DestinationLock(string path, string token)
        {
            _path = path;
            _token = token;
            _renew = new Timer(_ => Renew(), null, RenewEvery, RenewEvery);
        }

        public static string LockPath(FolderRepository repo) => Path.Combine(repo.Meta, "lock");

        public static DestinationLock Acquire(FolderRepository repo)
        {
            repo.Store.EnsureDirectory(repo.Meta, Reasons.CorruptCatalog);
            var path = LockPath(repo);
            if (repo.Store.Kind(path) == StoredKind.Directory)
                throw Fail.InvalidData(Reasons.CorruptCatalog, $"The lock '{path}' of the destination is a folder, not a file; remove it.", path);
            CleanTempFiles(repo);
            for (int attempt = 0; attempt < 3; attempt++)
            {
                var token = Guid.NewGuid().ToString("N");
                // Written complete under a temp name, then moved into place without overwriting:
                // the lock file is never seen half-written, even when the process is killed.
                var tmp = path + "." + token.Substring(0, 8) + ".tmp";
                using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
                {
                    var b = Content(token);
                    fs.Write(b, 0, b.Length); // no fsync: a lease need not survive power loss (it goes stale)
                }
                try
                {
                    File.Move(tmp, path);
                    return new DestinationLock(path, token);
                }
                catch (IOException) when (File.Exists(path))
                {
                    TryDelete(tmp);
                    var why = StaleReason(path);
                    if (why == null)
                        throw new NekkBackupException("DestinationLocked", FailureKind.ResourceUnavailable,
                            $"Another NekkBackup run is writing to '{repo.Destination}' ({Describe(path)}). Wait for it to finish; a lock is stale after its process ends or after {StaleAfter.TotalMinutes:0} minutes.",
                            repo.Destination);
                    TryDelete(path);
                }
                catch
                {
                    TryDelete(tmp);
                    throw;
                }
            }
            throw new NekkBackupException("DestinationLocked", FailureKind.ResourceUnavailable,
                $"Could not take the lock on '{repo.Destination}'.", repo.Destination);
        }

        private static void TryDelete(string p)
        {
            try { File.Delete(p); } catch (Exception) { }
        }

        private static void CleanTempFiles(FolderRepository repo)
        {
            try
            {
                foreach (var f in Directory.EnumerateFiles(repo.Meta, "lock.*.tmp"))
                    if (DateTime.UtcNow - File.GetLastWriteTimeUtc(f) > TimeSpan.FromMinutes(1)) TryDelete(f);
            }
            catch (IOException) { }
        }

        private static byte[] Content(string token) => Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new LockInfo
        {
            host = OperatingSystemInfo.HostName,
            pid = CurrentPid(),
            time = DateTime.UtcNow,
            token = token,
        }));

        private static int CurrentPid()
        {
            using var p = Process.GetCurrentProcess();
            return p.Id;
        }

        internal sealed class LockInfo
        {
            public string host { get; set; } = "";
            public int pid { get; set; }
            public DateTime time { get; set; }
            public string token { get; set; } = "";
        }

        /// <summary>The lock's record; null when it is unreadable, torn, or not a regular file (never followed, never blocks).</summary>
        internal static LockInfo? Read(string path)
        {
            try
            {
                using var fs = NativeFs.OpenRegular(path, append: false);
                if (fs == null || fs.Length > 64 * 1024) return null;
                var buf = new byte[fs.Length];
                int got = 0, n;
                while (got < buf.Length && (n = fs.Read(buf, got, buf.Length - got)) > 0) got += n;
                return JsonSerializer.Deserialize<LockInfo>(new ReadOnlySpan<byte>(buf, 0, got));
            }
            catch (Exception) { return null; }
        }

        private static string Describe(string path)
        {
            var i = Read(path);
            return i == null ? "unreadable lock file" : $"host {i.host}, pid {i.pid}, since {i.time:u}";
        }

        /// <summary>Null when the lock is live, else why it is stale.</summary>
        internal static string? StaleReason(string path)
        {
            var info = Read(path);
            if (info == null)
            {
                // Unreadable (torn write): stale once it is old enough.
                var age = DateTime.UtcNow - File.GetLastWriteTimeUtc(path);
                return age > TimeSpan.FromSeconds(10) ? "unreadable lock file" : null;
            }
            if (DateTime.UtcNow - info.time > StaleAfter) return $"not renewed since {info.time:u}";
            if (string.Equals(info.host, OperatingSystemInfo.HostName, StringComparison.OrdinalIgnoreCase) && !IsAlive(info.pid))
                return $"process {info.pid} has ended";
            return null;
        }

        private static bool IsAlive(int pid)
        {
            try
            {
                using var p = Process.GetProcessById(pid);
                return !p.HasExited;
            }
            catch (ArgumentException) { return false; }
            catch (InvalidOperationException) { return false; }
        }

        private void Renew()
        {
            if (Volatile.Read(ref _disposed) != 0) return;
            try
            {
                var info = Read(_path);
                if (info == null || info.token != _token) return;
                File.WriteAllBytes(_path, Content(_token));
            }
            catch (Exception) { }
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            _renew.Dispose();
            try
            {
                var info = Read(_path);
                if (info != null && info.token == _token) File.Delete(_path);
            }
            catch (Exception) { }
        }
    }
}
