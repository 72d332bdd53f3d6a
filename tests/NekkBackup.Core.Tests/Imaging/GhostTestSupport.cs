using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Imaging;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Tests.TestKit;

namespace NekkBackup.Core.Tests.Imaging
{
    internal static class GhostTestSupport
    {
        /// <summary>Deterministic pseudo-random file with an all-zero stretch in the middle (like free space).</summary>
        public static void WriteVolumeFile(string path, long size, int seed, long zeroFrom = -1, long zeroLength = 0)
        {
            var rnd = new Random(seed);
            var buf = new byte[1 << 16];
            using var fs = new FileStream(path, FileMode.Create, FileAccess.Write);
            for (long done = 0; done < size;)
            {
                int n = (int)Math.Min(buf.Length, size - done);
                rnd.NextBytes(buf);
                if (zeroFrom >= 0)
                    for (int i = 0; i < n; i++)
                        if (done + i >= zeroFrom && done + i < zeroFrom + zeroLength) buf[i] = 0;
                fs.Write(buf, 0, n);
                done += n;
            }
        }

        /// <summary>Overwrites <paramref name="count"/> bytes at <paramref name="offset"/> with new random data.</summary>
        public static void Scribble(string path, long offset, int count, int seed)
        {
            var b = new byte[count];
            new Random(seed).NextBytes(b);
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Write);
            fs.Position = offset;
            fs.Write(b, 0, count);
        }

        public static string Sha256(string path)
        {
            using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 20);
            return Convert.ToHexString(SHA256.HashData(s)).ToLowerInvariant();
        }

        public static string Sha256(string path, long offset, long length)
        {
            using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 20);
            s.Position = offset;
            using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buf = new byte[1 << 20];
            while (length > 0)
            {
                int n = s.Read(buf, 0, (int)Math.Min(buf.Length, length));
                if (n <= 0) throw new EndOfStreamException();
                h.AppendData(buf, 0, n);
                length -= n;
            }
            return Convert.ToHexString(h.GetHashAndReset()).ToLowerInvariant();
        }

        /// <summary>Bytes under a folder, as `du -sb` would count them (file lengths).</summary>
        public static long DirectoryBytes(string dir) =>
            Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);

        /// <summary>Captures with the repository default chunk size (chunkSize 0) or a given one for a new repository.</summary>
        public static GhostImage Capture(string source, string repo, GhostCompression compression = GhostCompression.Zstd, int chunkSize = 0, bool volumeDigest = true,
            GhostCaptureMode mode = GhostCaptureMode.AllBlocks, SpyObserver? observer = null, GhostChangeDetection changes = GhostChangeDetection.FileSystem) =>
            GhostRepository.CaptureAsync(new GhostCaptureOptions
            {
                Source = source, Repository = repo, Compression = compression, ChunkSize = chunkSize, VolumeDigest = volumeDigest, Mode = mode, ChangeDetection = changes,
            },
                observer ?? new SpyObserver(), CancellationToken.None).GetAwaiter().GetResult();

        public static GhostRestoreResult Restore(string repo, string id, string target, GhostRestoreFormat format = GhostRestoreFormat.Raw, bool force = false) =>
            GhostRepository.RestoreAsync(repo, id, target, format, force, new SpyObserver(), CancellationToken.None).GetAwaiter().GetResult();

        public static GhostImageTestResult Test(string repo, bool full, params string[] ids) =>
            GhostRepository.TestAsync(repo, ids.Length > 0 ? ids : null, full, new SpyObserver(), CancellationToken.None).GetAwaiter().GetResult();

        /// <summary>Mounts an image read-only (ext4 via loop, ntfs via ntfs-3g) and returns the digest of its files.</summary>
        public static Dictionary<string, string> MountedDigest(string image, string kind, string subdir)
        {
            using var dir = new TempDir("ghostmnt");
            var mnt = dir.Sub("m");
            if (kind == "ntfs") ProcessHelper.Check("ntfs-3g", $"-o ro \"{image}\" \"{mnt}\"");
            else ProcessHelper.Check("mount", $"-o loop,ro \"{image}\" \"{mnt}\"");
            try { return StudioData.Digest(Path.Combine(mnt, subdir)); }
            finally { Unmount(mnt); }
        }

        public static void Mount(string image, string kind, string mnt)
        {
            if (kind == "ntfs") ProcessHelper.Check("ntfs-3g", $"\"{image}\" \"{mnt}\"");
            else ProcessHelper.Check("mount", $"-o loop \"{image}\" \"{mnt}\"");
        }

        public static void Unmount(string mnt)
        {
            for (int i = 0; i < 20; i++)
            {
                var r = ProcessHelper.Run("umount", $"\"{mnt}\"");
                if (r.ExitCode == 0 || r.StdErr.Contains("not mounted")) return;
                Thread.Sleep(250);
            }
            ProcessHelper.Run("umount", $"-l \"{mnt}\"");
        }
    }

    internal sealed class SpyObserver : IRunObserver
    {
        public readonly List<string> Failures = new();
        public readonly List<string> Messages = new();
        public int ProgressCount;
        public void Progress(RunProgress progress) => Interlocked.Increment(ref ProgressCount);
        public void Message(RunMessageLevel level, string text) { lock (Messages) Messages.Add(level + ": " + text); }
        public void ItemFailed(string item, NekkBackupException error) { lock (Failures) Failures.Add(item + ": " + error.Message); }
    }
}
