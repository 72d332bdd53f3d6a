using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Folder;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Tests.TestKit;
using Xunit;

namespace NekkBackup.Core.Tests.Folder
{
    /// <summary>Records what the engine reports.</summary>
    internal sealed class RecordingObserver : IRunObserver
    {
        public readonly ConcurrentQueue<(string Item, NekkBackupException Error)> Failed = new();
        public readonly ConcurrentQueue<string> Messages = new();
        public int ProgressCalls;

        public void Progress(RunProgress progress) => Interlocked.Increment(ref ProgressCalls);
        public void Message(RunMessageLevel level, string text) => Messages.Enqueue(level + ": " + text);
        public void ItemFailed(string item, NekkBackupException error) => Failed.Enqueue((item, error));

        public string Describe() => string.Join("\n", Failed.Select(f => f.Error.ErrorId + " " + f.Item + " " + f.Error.Message).Concat(Messages));
    }

    internal static class FolderKit
    {
        public static FolderBackupRun Backup(string dest, IRunObserver? obs = null, bool force = false, params string[] sources)
        {
            return FolderBackupEngine.BackupAsync(new FolderBackupOptions
            {
                Sources = sources,
                Destination = dest,
                Force = force,
                ThrottleLimit = 4,
            }, obs ?? new RecordingObserver(), CancellationToken.None).GetAwaiter().GetResult();
        }

        public static FolderRestoreResult Restore(string dest, string target, string? runId = null, DateTime? asOf = null, string[]? paths = null, bool overwrite = false, IRunObserver? obs = null)
        {
            return FolderBackupEngine.RestoreAsync(new FolderRestoreOptions
            {
                Destination = dest,
                Target = target,
                RunId = runId,
                AsOf = asOf,
                Paths = paths,
                Overwrite = overwrite,
            }, obs ?? new RecordingObserver(), CancellationToken.None).GetAwaiter().GetResult();
        }

        public static FolderBackupTestResult Test(string dest, bool full) =>
            FolderBackupEngine.TestAsync(dest, full, new RecordingObserver(), CancellationToken.None).GetAwaiter().GetResult();

        /// <summary>Asserts that <paramref name="restored"/> equals <paramref name="reference"/> byte for byte and mtime for mtime.</summary>
        public static void AssertSameTree(string reference, string restored, bool mtimes = true)
        {
            var a = StudioData.Digest(reference);
            var b = Directory.Exists(restored) ? StudioData.Digest(restored) : new Dictionary<string, string>();
            Assert.True(a.Count > 0, "reference is empty");
            Assert.True(a.Count == b.Count && a.All(kv => b.TryGetValue(kv.Key, out var h) && h == kv.Value),
                "restored tree differs from the reference:\n" + StudioData.Diff(a, b));
            if (!mtimes) return;
            foreach (var rel in a.Keys)
            {
                var t1 = File.GetLastWriteTimeUtc(Path.Combine(reference, rel));
                var t2 = File.GetLastWriteTimeUtc(Path.Combine(restored, rel));
                Assert.True(t1 == t2, $"mtime of {rel}: reference {t1:o}, restored {t2:o}");
            }
        }

        /// <summary>Asserts the same folders (including empty ones) with the same modification times.</summary>
        public static void AssertSameDirs(string reference, string other)
        {
            var a = Directory.GetDirectories(reference, "*", SearchOption.AllDirectories).Where(d => new DirectoryInfo(d).LinkTarget == null).Select(d => Path.GetRelativePath(reference, d)).OrderBy(x => x, StringComparer.Ordinal).ToArray();
            var b = Directory.GetDirectories(other, "*", SearchOption.AllDirectories).Where(d => new DirectoryInfo(d).LinkTarget == null).Select(d => Path.GetRelativePath(other, d)).OrderBy(x => x, StringComparer.Ordinal).ToArray();
            Assert.Equal(a, b);
            foreach (var rel in a)
            {
                var t1 = Directory.GetLastWriteTimeUtc(Path.Combine(reference, rel));
                var t2 = Directory.GetLastWriteTimeUtc(Path.Combine(other, rel));
                Assert.True(t1 == t2, $"folder time of {rel}: {t1:o} vs {t2:o}");
            }
        }

        /// <summary>Digest of every file under a directory including .nekkbackup (names, sizes, content).</summary>
        public static string WholeDirDigest(string root)
        {
            using var sha = SHA256.Create();
            var lines = new List<string>();
            foreach (var f in Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories).OrderBy(x => x, StringComparer.Ordinal))
            {
                var rel = Path.GetRelativePath(root, f);
                var fi = new FileInfo(f);
                if (fi.LinkTarget != null) { lines.Add("L " + rel + " " + fi.LinkTarget); continue; }
                if (Directory.Exists(f)) { lines.Add("D " + rel); continue; }
                using var s = File.OpenRead(f);
                lines.Add("F " + rel + " " + Convert.ToHexString(SHA256.HashData(s)) + " " + fi.LastWriteTimeUtc.Ticks);
            }
            return Convert.ToHexString(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(string.Join("\n", lines))));
        }

        public static string CrashHostDll
        {
            get
            {
                // tests/NekkBackup.Core.Tests/bin/<Config>/<tfm>/ → tests/NekkBackup.CrashHost/bin/<Config>/<tfm>/
                var baseDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
                var tfm = baseDir.Name;
                var config = baseDir.Parent!.Name;
                var testsDir = baseDir.Parent!.Parent!.Parent!.Parent!.FullName;
                var dll = Path.Combine(testsDir, "NekkBackup.CrashHost", "bin", config, tfm, "NekkBackup.CrashHost.dll");
                Assert.True(File.Exists(dll), "CrashHost not built at " + dll);
                return dll;
            }
        }

        /// <summary>Makes <paramref name="count"/> text-ish files with random bytes (same size): what ransomware leaves.</summary>
        public static void Encrypt(IEnumerable<string> files, int seed)
        {
            var rng = new Random(seed);
            foreach (var f in files)
            {
                var len = new FileInfo(f).Length;
                var data = new byte[len];
                rng.NextBytes(data);
                File.WriteAllBytes(f, data);
                File.SetLastWriteTimeUtc(f, DateTime.UtcNow.AddMinutes(-1));
            }
        }

        public static readonly string[] TextExtensions = { ".xml", ".aupreset", ".preset", ".ini", ".cfg", ".log", ".txt", ".md", ".ptx", ".als", ".cpr", ".wfm", ".pkf" };
    }
}
