using System;
using System.IO;
using System.Text;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Plans
{
    /// <summary>
    /// Never two runs of one plan at once: an exclusive handle on &lt;DataDirectory&gt;/plans/&lt;name&gt;/run.lock
    /// (FileShare.None; on Linux .NET takes flock(LOCK_EX), on Windows a sharing-mode lock). The OS drops it when the
    /// process dies, so a crash never leaves a stale lock.
    /// </summary>
    public sealed class PlanLock : IDisposable
    {
        private readonly FileStream _stream;

        private PlanLock(FileStream stream, string path)
        {
            _stream = stream;
            Path = path;
        }

        public string Path { get; }

        public static string LockPath(BackupPlan plan) => System.IO.Path.Combine(PlanPaths.PlanDataDirectory(plan), "run.lock");

        /// <summary>Null when another run holds the lock.</summary>
        public static PlanLock? TryAcquire(BackupPlan plan)
        {
            var path = LockPath(plan);
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
            try
            {
                var fs = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                try
                {
                    int pid;
                    using (var p = System.Diagnostics.Process.GetCurrentProcess()) pid = p.Id;
                    var b = Encoding.UTF8.GetBytes($"{pid} {DateTime.UtcNow:o} {plan.Path}\n");
                    fs.SetLength(0);
                    fs.Write(b, 0, b.Length);
                    fs.Flush();
                }
                catch (IOException) { }
                return new PlanLock(fs, path);
            }
            catch (IOException)
            {
                return null;
            }
            catch (UnauthorizedAccessException ex)
            {
                throw new NekkBackupException("AccessDenied", FailureKind.PermissionDenied, $"Cannot open the plan lock '{path}': {ex.Message}", path, ex);
            }
        }

        /// <summary>Who holds it (best effort; the holder's file is readable on Linux).</summary>
        public static string Holder(BackupPlan plan)
        {
            try
            {
                using var fs = new FileStream(LockPath(plan), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                using var r = new StreamReader(fs);
                var line = r.ReadLine();
                return string.IsNullOrEmpty(line) ? "another process" : "pid " + line!.Split(' ')[0];
            }
            catch (Exception) { return "another process"; }
        }

        public void Dispose() => _stream.Dispose();
    }
}
