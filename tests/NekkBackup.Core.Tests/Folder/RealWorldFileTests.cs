using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Folder;
using NekkBackup.Core.Tests.TestKit;
using Xunit;
using Xunit.Abstractions;

namespace NekkBackup.Core.Tests.Folder
{
    public class RealWorldFileTests
    {
        private readonly ITestOutputHelper _out;
        public RealWorldFileTests(ITestOutputHelper output) => _out = output;

        private static long Blocks(string path) => long.Parse(ProcessHelper.Check("stat", $"-c %b \"{path}\"").Trim());

        [Fact]
        public void SparseFile_StaysSparseInMirrorAndRestore()
        {
            using var tmp = new TempDir("fb-sparse");
            var src = tmp.Sub("Disk");
            var f = Path.Combine(src, "scratch.img");
            using (var fs = new FileStream(f, FileMode.CreateNew))
            {
                fs.SetLength(16 << 20);
                var blk = new byte[4096];
                new Random(1).NextBytes(blk);
                foreach (var off in new long[] { 0, 5 << 20, 9 << 20, (16 << 20) - 4096 }) { fs.Position = off; fs.Write(blk); }
            }
            long srcBlocks = Blocks(f);
            Assert.True(srcBlocks < 1000, $"the test file system does not keep holes ({srcBlocks} blocks)");
            var dest = Path.Combine(tmp.Path, "nas");
            Assert.Equal("Succeeded", FolderKit.Backup(dest, null, false, src).Status);
            var mirror = Path.Combine(dest, "Disk", "scratch.img");
            var target = Path.Combine(tmp.Path, "r");
            FolderKit.Restore(dest, target);
            var restored = Path.Combine(target, "Disk", "scratch.img");
            _out.WriteLine($"512-byte blocks: source {srcBlocks}, mirror {Blocks(mirror)}, restored {Blocks(restored)} (dense would be {(16 << 20) / 512})");
            Assert.True(Blocks(mirror) <= srcBlocks + 64);
            Assert.True(Blocks(restored) <= srcBlocks + 64);
            FolderKit.AssertSameTree(src, Path.Combine(target, "Disk"));
        }

        [Fact]
        public void LongUnicodePathsAndEmptyFiles_RoundTrip()
        {
            using var tmp = new TempDir("fb-long");
            var src = tmp.Sub("Projekt Ü");
            var deep = src;
            for (int i = 0; i < 6; i++) deep = Path.Combine(deep, $"Sitzung {i} — Gesang und Begleitung, Aufnahme Nr. {i} ♪ テイク");
            Directory.CreateDirectory(deep);
            File.WriteAllText(Path.Combine(deep, "Ballade für Ñandú.txt"), "la la");
            File.WriteAllBytes(Path.Combine(deep, "leer.bin"), Array.Empty<byte>());
            File.WriteAllBytes(Path.Combine(src, "empty"), Array.Empty<byte>());
            Assert.True(Path.Combine(deep, "Ballade für Ñandú.txt").Length - src.Length > 300);
            var dest = Path.Combine(tmp.Path, "nas");
            Assert.Equal("Succeeded", FolderKit.Backup(dest, null, false, src).Status);
            var target = Path.Combine(tmp.Path, "r");
            Assert.Equal("Succeeded", FolderKit.Restore(dest, target).Status);
            FolderKit.AssertSameTree(src, Path.Combine(target, "Projekt Ü"));
            Assert.Equal("Passed", FolderKit.Test(dest, true).Status);
        }

        [Fact]
        public void Symlinks_RecordedNotFollowed_Restored()
        {
            using var tmp = new TempDir("fb-link");
            var src = tmp.Sub("S");
            var outside = tmp.Sub("outside");
            File.WriteAllText(Path.Combine(outside, "secret.txt"), "not part of the source");
            File.WriteAllText(Path.Combine(src, "a.txt"), "a");
            File.CreateSymbolicLink(Path.Combine(src, "to-a"), "a.txt");
            Directory.CreateSymbolicLink(Path.Combine(src, "to-outside"), outside);
            File.CreateSymbolicLink(Path.Combine(src, "dangling"), "/nonexistent/x");
            var dest = Path.Combine(tmp.Path, "nas");
            var run = FolderKit.Backup(dest, null, false, src);
            Assert.Equal("Succeeded", run.Status);
            Assert.Equal("a.txt", new FileInfo(Path.Combine(dest, "S", "to-a")).LinkTarget);
            Assert.Equal(outside, new DirectoryInfo(Path.Combine(dest, "S", "to-outside")).LinkTarget);
            Assert.False(File.Exists(Path.Combine(dest, "S", "to-outside", "secret.txt")) && new DirectoryInfo(Path.Combine(dest, "S", "to-outside")).LinkTarget == null, "followed a link");
            var versions = FolderBackupEngine.GetFileVersions(dest, "S/dangling");
            Assert.Equal("/nonexistent/x", versions.Single().LinkTarget);

            // Link retargeted: the next run records it.
            File.Delete(Path.Combine(src, "to-a"));
            File.CreateSymbolicLink(Path.Combine(src, "to-a"), "b.txt");
            Assert.Equal(1, FolderKit.Backup(dest, null, true, src).FilesCopied);

            var target = Path.Combine(tmp.Path, "r");
            Assert.Equal("Succeeded", FolderKit.Restore(dest, target, run.RunId).Status);
            Assert.Equal("a.txt", new FileInfo(Path.Combine(target, "S", "to-a")).LinkTarget);
            Assert.Equal("/nonexistent/x", new FileInfo(Path.Combine(target, "S", "dangling")).LinkTarget);
            Assert.Equal(outside, new DirectoryInfo(Path.Combine(target, "S", "to-outside")).LinkTarget);
            Assert.Equal("a", File.ReadAllText(Path.Combine(target, "S", "a.txt")));
        }

        [Fact]
        public void FollowSymlinks_CopiesTargets_LoopsTerminate()
        {
            using var tmp = new TempDir("fb-follow");
            var src = tmp.Sub("S");
            var outside = tmp.Sub("samples");
            File.WriteAllText(Path.Combine(outside, "kick.wav"), "kick");
            File.WriteAllText(Path.Combine(src, "a.txt"), "a");
            File.CreateSymbolicLink(Path.Combine(src, "to-a"), "a.txt");
            Directory.CreateSymbolicLink(Path.Combine(src, "Samples"), outside);
            Directory.CreateSymbolicLink(Path.Combine(src, "loop"), src);
            var dest = Path.Combine(tmp.Path, "nas");
            var task = FolderBackupEngine.BackupAsync(new FolderBackupOptions { Sources = new[] { src }, Destination = dest, FollowSymlinks = true }, new RecordingObserver(), CancellationToken.None);
            Assert.True(task.Wait(TimeSpan.FromSeconds(60)), "following links looped");
            Assert.True(task.Result.Status == "Succeeded", string.Join("\n", task.Result.ErrorDetails));
            Assert.Null(new FileInfo(Path.Combine(dest, "S", "to-a")).LinkTarget);
            Assert.Equal("a", File.ReadAllText(Path.Combine(dest, "S", "to-a")));
            Assert.Equal("kick", File.ReadAllText(Path.Combine(dest, "S", "Samples", "kick.wav")));
            Assert.False(Directory.Exists(Path.Combine(dest, "S", "loop", "loop")));
        }

        [Fact]
        public void Restore_NeverWritesOutsideTarget()
        {
            using var tmp = new TempDir("fb-escape");
            var src = tmp.Sub("S");
            Directory.CreateDirectory(Path.Combine(src, "sub"));
            File.WriteAllText(Path.Combine(src, "sub", "f.txt"), "f");
            File.WriteAllText(Path.Combine(src, "g.txt"), "g");
            var dest = Path.Combine(tmp.Path, "nas");
            var run = FolderKit.Backup(dest, null, false, src);

            // 1. A folder on the way inside the target is a link to elsewhere: not followed.
            var outside = tmp.Sub("outside");
            var target = tmp.Sub("t");
            Directory.CreateDirectory(Path.Combine(target, "S"));
            Directory.CreateSymbolicLink(Path.Combine(target, "S", "sub"), outside);
            var obs = new RecordingObserver();
            var r = FolderKit.Restore(dest, target, overwrite: true, obs: obs);
            Assert.Empty(Directory.GetFileSystemEntries(outside));
            Assert.Contains(obs.Failed, f => f.Error.ErrorId == "NekkBackup.UnsafePath");
            Assert.Equal("g", File.ReadAllText(Path.Combine(target, "S", "g.txt")));

            // 2. A tampered manifest with '..' paths: refused.
            var manifest = Path.Combine(dest, ".nekkbackup", "runs", run.RunId + ".json");
            File.WriteAllText(manifest, File.ReadAllText(manifest).Replace("\"S/g.txt\"", "\"S/../../evil.txt\""));
            var t2 = Path.Combine(tmp.Path, "t2");
            var obs2 = new RecordingObserver();
            FolderKit.Restore(dest, t2, obs: obs2);
            Assert.False(File.Exists(Path.Combine(tmp.Path, "evil.txt")));
            Assert.Contains(obs2.Failed, f => f.Error.ErrorId == "NekkBackup.UnsafePath");
            Assert.Contains(FolderKit.Test(dest, false).Problems, p => p.Contains("evil.txt"));
        }

        [Fact]
        public void FileChangingWhileCopied_ReportedAfterRetries_RestLands()
        {
            using var tmp = new TempDir("fb-busy");
            var src = tmp.Sub("S");
            var busy = Path.Combine(src, "recording.wav");
            File.WriteAllBytes(busy, new byte[16 << 20]);
            File.WriteAllText(Path.Combine(src, "notes.txt"), "n");
            var dest = Path.Combine(tmp.Path, "nas");
            // A recorder appends to the file during every copy attempt (after the attempt read it, before the check):
            // deterministic, however loaded the machine is.
            int attempts = 0;
            var obs = new RecordingObserver();
            var run = FolderBackupEngine.BackupAsync(new FolderBackupOptions
            {
                Sources = new[] { src },
                Destination = dest,
                ThrottleLimit = 4,
                AfterCopyAttempt = path =>
                {
                    if (path != busy) return;
                    attempts++;
                    using var fs = new FileStream(busy, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
                    fs.WriteByte((byte)attempts);
                    fs.Flush(true);
                    File.SetLastWriteTimeUtc(busy, DateTime.UtcNow.AddSeconds(attempts));
                },
            }, obs, CancellationToken.None).GetAwaiter().GetResult();
            Assert.True(run.Status == "CompletedWithErrors", obs.Describe());
            Assert.Equal(1, run.Errors);
            var f = Assert.Single(obs.Failed);
            Assert.Equal("NekkBackup.FileChangedDuringCopy", f.Error.ErrorId);
            Assert.Equal(busy, f.Item);
            Assert.True(attempts > 1, $"the copy was tried {attempts} time(s)");
            Assert.Equal("n", File.ReadAllText(Path.Combine(dest, "S", "notes.txt")));
            Assert.False(File.Exists(Path.Combine(dest, "S", "recording.wav")));
            // Once it is quiet it lands.
            Assert.Equal("Succeeded", FolderKit.Backup(dest, null, false, src).Status);
            Assert.Equal(new FileInfo(busy).Length, new FileInfo(Path.Combine(dest, "S", "recording.wav")).Length);
        }

        [ToolFact("mkfifo")]
        public void Fifo_InSource_DoesNotHangTheRun()
        {
            using var tmp = new TempDir("fb-fifo");
            var src = tmp.Sub("S");
            File.WriteAllText(Path.Combine(src, "a.txt"), "a");
            ProcessHelper.Check("mkfifo", $"\"{Path.Combine(src, "pipe")}\"");
            var dest = Path.Combine(tmp.Path, "nas");
            var task = FolderBackupEngine.BackupAsync(new FolderBackupOptions { Sources = new[] { src }, Destination = dest }, new RecordingObserver(), CancellationToken.None);
            Assert.True(task.Wait(TimeSpan.FromSeconds(60)), "the run hung on a FIFO");
            Assert.Equal("Succeeded", task.Result.Status);
            Assert.Equal("a", File.ReadAllText(Path.Combine(dest, "S", "a.txt")));
        }

        [Fact]
        public void UnreadableFile_AccessDenied_RunGoesOn()
        {
            using var tmp = new TempDir("fb-denied");
            var src = tmp.Sub("S");
            File.WriteAllText(Path.Combine(src, "ok.txt"), "ok");
            File.WriteAllText(Path.Combine(src, "locked.txt"), "secret");
            if (!OperatingSystem.IsLinux()) return;
            File.SetUnixFileMode(Path.Combine(src, "locked.txt"), UnixFileMode.None);
            var dest = Path.Combine(tmp.Path, "nas");

            string status, errorId;
            int errors;
            if (Conditions.IsRoot)
            {
                // Root reads everything: run the backup as 'nobody' in a child process instead.
                // The host is copied where 'nobody' can read it (the checkout may live under /root).
                Directory.CreateDirectory(dest);
                File.SetUnixFileMode(dest, (UnixFileMode)0x1FF);
                var host = tmp.Sub("host");
                foreach (var f in Directory.GetFiles(Path.GetDirectoryName(FolderKit.CrashHostDll)!)) File.Copy(f, Path.Combine(host, Path.GetFileName(f)));
                var data = tmp.Sub("data");
                File.SetUnixFileMode(data, (UnixFileMode)0x1FF);
                ProcessHelper.Check("chmod", $"-R a+rX \"{tmp.Path}\"");
                File.SetUnixFileMode(Path.Combine(src, "locked.txt"), UnixFileMode.None);
                var dll = Path.Combine(host, "NekkBackup.CrashHost.dll");
                var r = ProcessHelper.Run("setpriv", $"--reuid=65534 --regid=65534 --clear-groups env HOME={data} NEKKBACKUP_DATA={data} DOTNET_CLI_TELEMETRY_OPTOUT=1 dotnet \"{dll}\" \"{dest}\" \"{src}\"", 120);
                _out.WriteLine(r.StdOut + r.StdErr);
                var runLine = r.StdOut.Split('\n').Single(l => l.StartsWith("RUN "));
                var run = JsonDocument.Parse(runLine.Substring(4)).RootElement;
                status = run.GetProperty("Status").GetString()!;
                errors = run.GetProperty("Errors").GetInt32();
                errorId = r.StdOut.Split('\n').Single(l => l.StartsWith("ITEM ")).Split(' ')[1];
                Assert.Contains("locked.txt", r.StdOut);
            }
            else
            {
                var obs = new RecordingObserver();
                var run = FolderKit.Backup(dest, obs, false, src);
                status = run.Status;
                errors = run.Errors;
                errorId = obs.Failed.Single().Error.ErrorId;
            }
            Assert.Equal("CompletedWithErrors", status);
            Assert.Equal(1, errors);
            Assert.Equal("NekkBackup.AccessDenied", errorId);
            Assert.Equal("ok", File.ReadAllText(Path.Combine(dest, "S", "ok.txt")));
            var target = Path.Combine(tmp.Path, "r");
            Assert.Equal("Succeeded", FolderKit.Restore(dest, target).Status);
            Assert.Equal(new[] { "ok.txt" }, Directory.GetFiles(Path.Combine(target, "S")).Select(Path.GetFileName));
        }

        [Fact]
        public void UnreadableFolder_ReportedOnce_ItsFilesStayInTheBackup()
        {
            if (!OperatingSystem.IsLinux()) return;
            using var tmp = new TempDir("fb-denied-dir");
            var src = tmp.Sub("S");
            File.WriteAllText(Path.Combine(src, "ok.txt"), "ok");
            Directory.CreateDirectory(Path.Combine(src, "Locked", "sub"));
            File.WriteAllText(Path.Combine(src, "Locked", "take.wav"), "take");
            File.WriteAllText(Path.Combine(src, "Locked", "sub", "x.txt"), "x");
            var dest = Path.Combine(tmp.Path, "nas");
            Assert.Equal("Succeeded", FolderKit.Backup(dest, null, false, src).Status);
            File.WriteAllText(Path.Combine(src, "ok.txt"), "ok, second take");
            File.SetLastWriteTimeUtc(Path.Combine(src, "ok.txt"), DateTime.UtcNow.AddMinutes(1));
            var locked = Path.Combine(src, "Locked");

            string status, item, errorId;
            int errors;
            if (Conditions.IsRoot)
            {
                // Root lists everything: the second run runs as 'nobody' in a child process (as UnreadableFile_AccessDenied_RunGoesOn).
                var host = tmp.Sub("host");
                foreach (var f in Directory.GetFiles(Path.GetDirectoryName(FolderKit.CrashHostDll)!)) File.Copy(f, Path.Combine(host, Path.GetFileName(f)));
                var data = tmp.Sub("data");
                ProcessHelper.Check("chmod", $"-R a+rwX \"{tmp.Path}\"");
                File.SetUnixFileMode(locked, UnixFileMode.None);
                var r = ProcessHelper.Run("setpriv", $"--reuid=65534 --regid=65534 --clear-groups env HOME={data} NEKKBACKUP_DATA={data} DOTNET_CLI_TELEMETRY_OPTOUT=1 dotnet \"{Path.Combine(host, "NekkBackup.CrashHost.dll")}\" \"{dest}\" \"{src}\" --force", 120);
                File.SetUnixFileMode(locked, (UnixFileMode)0x1FF);
                _out.WriteLine(r.StdOut + r.StdErr);
                var run = JsonDocument.Parse(r.StdOut.Split('\n').Single(l => l.StartsWith("RUN ")).Substring(4)).RootElement;
                (status, errors) = (run.GetProperty("Status").GetString()!, run.GetProperty("Errors").GetInt32());
                var parts = r.StdOut.Split('\n').Single(l => l.StartsWith("ITEM ")).TrimEnd().Split(' ', 3);
                (errorId, item) = (parts[1], parts[2]);
            }
            else
            {
                File.SetUnixFileMode(locked, UnixFileMode.None);
                var obs = new RecordingObserver();
                try
                {
                    var run = FolderKit.Backup(dest, obs, true, src);
                    (status, errors) = (run.Status, run.Errors);
                    var f = obs.Failed.Single();
                    (errorId, item) = (f.Error.ErrorId, f.Item);
                }
                finally { File.SetUnixFileMode(locked, (UnixFileMode)0x1FF); }
            }
            Assert.Equal(("CompletedWithErrors", 1, "NekkBackup.AccessDenied", locked), (status, errors, errorId, item));
            // What the last run recorded below the folder it could not list is kept, not taken as deleted.
            var repo = new FolderRepository(dest);
            var last = repo.LoadManifest(repo.ListRunIds().Last());
            Assert.Equal(2, repo.ListRunIds().Count);
            Assert.Contains(last.Entries, e => e.Path == "S/Locked/take.wav");
            Assert.Contains(last.Entries, e => e.Path == "S/Locked/sub/x.txt");
            Assert.Equal(0, last.FilesDeleted);
            var target = Path.Combine(tmp.Path, "r");
            Assert.Equal("Succeeded", FolderKit.Restore(dest, target).Status);
            Assert.Equal("take", File.ReadAllText(Path.Combine(target, "S", "Locked", "take.wav")));
            Assert.Equal("ok, second take", File.ReadAllText(Path.Combine(target, "S", "ok.txt")));
        }
    }
}
