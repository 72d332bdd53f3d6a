using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;

namespace NekkBackup.Core.Tests.Fuzz
{
    /// <summary>
    /// What a hostile or broken store can put where NekkBackup expects one of its files: a FIFO, a folder, a symbolic
    /// link (to outside, dangling, to itself), a device. FIFOs made here are remembered so a watchdog can release a
    /// reader stuck on one (open the write end, close it: the reader sees end of file).
    /// </summary>
    internal static class HostileFs
    {
        private static readonly ConcurrentDictionary<string, byte> Fifos = new(StringComparer.Ordinal);

        [DllImport("libc", SetLastError = true)]
        private static extern int mkfifo(string path, uint mode);

        [DllImport("libc", EntryPoint = "open", SetLastError = true)]
        private static extern int open(string path, int flags);

        [DllImport("libc", SetLastError = true)]
        private static extern int close(int fd);

        /// <summary>Replaces whatever is at <paramref name="path"/> by <paramref name="make"/>.</summary>
        public static void Replace(string path, Action<string> make)
        {
            Remove(path);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            make(path);
        }

        public static void Remove(string path)
        {
            var fi = new FileInfo(path);
            if (fi.LinkTarget != null || fi.Exists) { File.Delete(path); return; }
            if (Directory.Exists(path)) Directory.Delete(path, true);
        }

        public static void MakeFifo(string path)
        {
            if (mkfifo(path, 0x1A4) != 0) throw new IOException($"mkfifo {path} failed: errno {Marshal.GetLastWin32Error()}");
            Fifos[path] = 0;
        }

        [DllImport("libc", SetLastError = true)]
        private static extern int mknod(string path, uint mode, ulong dev);

        /// <summary>A character device like /dev/zero (1:5) in the store (needs root; a FIFO where mknod is refused).</summary>
        public static void MakeZeroDevice(string path)
        {
            if (mknod(path, 0x2000 | 0x1A4, (1UL << 8) | 5) != 0) MakeFifo(path);
        }

        public static void MakeFileLink(string path, string target) => File.CreateSymbolicLink(path, target);

        public static void MakeDirLink(string path, string target) => Directory.CreateSymbolicLink(path, target);

        public static void MakeSelfLink(string path) => File.CreateSymbolicLink(path, path);

        public static void MakeDangling(string path) => File.CreateSymbolicLink(path, path + ".nowhere-" + Guid.NewGuid().ToString("N").Substring(0, 6));

        /// <summary>Opens the write end of every FIFO made below <paramref name="root"/> (non-blocking) and closes it.</summary>
        public static void ReleaseFifos(string root)
        {
            foreach (var f in Fifos.Keys)
            {
                if (!f.StartsWith(root, StringComparison.Ordinal)) continue;
                for (int i = 0; i < 3; i++)
                {
                    int fd = open(f, 1 | 0x800); // O_WRONLY | O_NONBLOCK: ENXIO when nobody reads
                    if (fd >= 0) close(fd);
                }
            }
        }

        public static void Forget(string root)
        {
            foreach (var f in Fifos.Keys) if (f.StartsWith(root, StringComparison.Ordinal)) Fifos.TryRemove(f, out _);
        }
    }

    /// <summary>Copies a tree as it is: links stay links (never followed), files keep their times, folders too.</summary>
    internal static class FsCopy
    {
        public static void Tree(string from, string to)
        {
            Directory.CreateDirectory(to);
            var dirs = new List<(string, DateTime)>();
            foreach (var p in Directory.EnumerateFileSystemEntries(from))
            {
                var dst = Path.Combine(to, Path.GetFileName(p));
                var fi = new FileInfo(p);
                if (fi.LinkTarget != null) { File.CreateSymbolicLink(dst, fi.LinkTarget); continue; }
                if ((fi.Attributes & FileAttributes.Directory) != 0)
                {
                    Tree(p, dst);
                    dirs.Add((dst, Directory.GetLastWriteTimeUtc(p)));
                    continue;
                }
                File.Copy(p, dst);
                File.SetLastWriteTimeUtc(dst, fi.LastWriteTimeUtc);
            }
            foreach (var (d, t) in dirs) Directory.SetLastWriteTimeUtc(d, t);
        }
    }

    /// <summary>Runs a call with a deadline; a call still running after it is a hang (FIFOs below the sandbox are then released).</summary>
    internal static class Watchdog
    {
        public sealed class Outcome<T>
        {
            public bool Hung;
            public T? Value;
            public Exception? Error;
            public override string ToString() => Hung ? "hung" : Error != null ? Error.GetType().Name + ": " + Error.Message : "ok";
        }

        public static Outcome<T> Run<T>(Func<CancellationToken, Task<T>> body, TimeSpan timeout, string sandbox)
        {
            using var cts = new CancellationTokenSource();
            var task = Task.Run(() => body(cts.Token));
            var o = new Outcome<T>();
            if (Task.WaitAny(new Task[] { task }, timeout) < 0 && !task.IsCompleted)
            {
                o.Hung = true;
                cts.Cancel();
                HostileFs.ReleaseFifos(sandbox);
                Task.WaitAny(new Task[] { task }, TimeSpan.FromSeconds(5));
                return o;
            }
            if (task.IsFaulted) o.Error = task.Exception!.InnerExceptions.Count == 1 ? task.Exception.InnerException : task.Exception;
            else if (task.IsCanceled) o.Error = new OperationCanceledException();
            else o.Value = task.Result;
            return o;
        }

        public static Outcome<T> Run<T>(Func<T> body, TimeSpan timeout, string sandbox) =>
            Run(_ => Task.Run(body), timeout, sandbox);
    }

    /// <summary>
    /// Names, kinds, sizes, times and small-file digests of everything below a folder (links not followed), so a
    /// test can prove a call wrote nothing outside the places it may write.
    /// </summary>
    internal sealed class TreeSnapshot
    {
        private readonly Dictionary<string, string> _items = new(StringComparer.Ordinal);

        public static TreeSnapshot Take(string root, params string[] exclude)
        {
            var s = new TreeSnapshot();
            if (!Directory.Exists(root)) return s;
            var stack = new Stack<string>();
            stack.Push(root);
            while (stack.Count > 0)
            {
                var dir = stack.Pop();
                string[] entries;
                try { entries = Directory.GetFileSystemEntries(dir); }
                catch (IOException) { continue; }
                catch (UnauthorizedAccessException) { continue; }
                foreach (var p in entries)
                {
                    if (Array.Exists(exclude, e => p == e || p.StartsWith(e + "/", StringComparison.Ordinal))) continue;
                    var fi = new FileInfo(p);
                    string desc;
                    if (fi.LinkTarget != null) desc = "L " + fi.LinkTarget;
                    else if ((fi.Attributes & FileAttributes.Directory) != 0) { desc = "D"; stack.Push(p); }
                    else desc = $"F {fi.Length} {fi.LastWriteTimeUtc.Ticks} {Digest(p, fi.Length)}";
                    s._items[p] = desc;
                }
            }
            return s;
        }

        private static string Digest(string p, long len)
        {
            if (len > (1 << 20) || len == 0) return "";
            try
            {
                var b = File.ReadAllBytes(p);
                return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(b)).Substring(0, 16);
            }
            catch (IOException) { return "?"; }
        }

        /// <summary>Differences (added, removed, changed), empty when the trees are the same.</summary>
        public List<string> Diff(TreeSnapshot after)
        {
            var d = new List<string>();
            foreach (var kv in _items)
                if (!after._items.TryGetValue(kv.Key, out var v)) d.Add("removed " + kv.Key);
                else if (v != kv.Value) d.Add($"changed {kv.Key} ({kv.Value} -> {v})");
            foreach (var k in after._items.Keys)
                if (!_items.ContainsKey(k)) d.Add("added " + k);
            return d;
        }
    }
}
