using System;
using System.IO;
using System.Linq;
using System.Threading;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Folder;
using NekkBackup.Core.Tests.TestKit;
using Xunit;
using Xunit.Abstractions;

namespace NekkBackup.Core.Tests.Folder
{
    public class DestinationProblemTests
    {
        private readonly ITestOutputHelper _out;
        public DestinationProblemTests(ITestOutputHelper output) => _out = output;

        [Fact]
        public void BitRot_FullTestNamesTheObjectAndTheMirrorFile()
        {
            using var tmp = new TempDir("fb-rot");
            var src = StudioData.Generate(Path.Combine(tmp.Path, "Studio"), 8, 41);
            var dest = Path.Combine(tmp.Path, "nas");
            FolderKit.Backup(dest, null, false, src);
            StudioData.Mutate(src, 10, 42);
            FolderKit.Backup(dest, null, false, src);
            Assert.Equal("Passed", FolderKit.Test(dest, true).Status);

            var obj = Directory.GetFiles(Path.Combine(dest, ".nekkbackup", "objects"), "*", SearchOption.AllDirectories).First(f => new FileInfo(f).Length > 100);
            var mirror = Directory.GetFiles(Path.Combine(dest, "Studio"), "*", SearchOption.AllDirectories).First(f => new FileInfo(f).Length > 100);
            Flip(obj);
            Flip(mirror);

            Assert.Equal("Passed", FolderKit.Test(dest, false).Status); // quick does not read content
            var full = FolderKit.Test(dest, true);
            _out.WriteLine(string.Join("\n", full.Problems));
            Assert.Equal("Failed", full.Status);
            var objRel = Path.GetRelativePath(dest, obj).Replace('\\', '/');
            var mirrorRel = Path.GetRelativePath(dest, mirror).Replace('\\', '/');
            Assert.Contains(full.Problems, p => p.Contains(objRel) && p.Contains("corrupt"));
            Assert.Contains(full.Problems, p => p.Contains(mirrorRel) && p.Contains("corrupt"));
            Assert.Equal(2, full.Problems.Length);

            // A history object that vanished is found by the quick test too.
            var other = Directory.GetFiles(Path.Combine(dest, ".nekkbackup", "objects"), "*", SearchOption.AllDirectories).First(f => f != obj);
            File.Delete(other);
            var quick = FolderKit.Test(dest, false);
            Assert.Equal("Failed", quick.Status);
            Assert.Contains(quick.Problems, p => p.Contains(Path.GetFileName(other)) && p.Contains("not available"));
        }

        private static void Flip(string path)
        {
            var t = File.GetLastWriteTimeUtc(path);
            using (var fs = new FileStream(path, FileMode.Open, FileAccess.ReadWrite))
            {
                fs.Position = fs.Length / 2;
                int b = fs.ReadByte();
                fs.Position = fs.Length / 2;
                fs.WriteByte((byte)(b ^ 0x10));
            }
            File.SetLastWriteTimeUtc(path, t);
        }

        [RootFact("mkfs.ext4")]
        public void DiskFull_FailsClearly_LastGoodRunIntact()
        {
            using var tmp = new TempDir("fb-full");
            using var fs = new LoopFileSystem("ext4", 40);
            var src = StudioData.Generate(Path.Combine(tmp.Path, "Studio"), 8, 51);
            var dest = Path.Combine(fs.MountPoint, "nas");
            var ref1 = tmp.Sub("ref1");
            StudioData.CopyTree(src, ref1);
            var first = FolderKit.Backup(dest, null, false, src);
            Assert.Equal("Succeeded", first.Status);

            // Far more new material than the volume holds.
            var big = Directory.CreateDirectory(Path.Combine(src, "Recordings 2025")).FullName;
            var rng = new Random(5);
            for (int i = 0; i < 12; i++)
            {
                var data = new byte[4 << 20];
                rng.NextBytes(data);
                File.WriteAllBytes(Path.Combine(big, $"take {i:00}.wav"), data);
            }
            var ex = Assert.Throws<FolderBackupException>(() => FolderKit.Backup(dest, null, false, src));
            _out.WriteLine(ex.Message);
            Assert.Equal("NekkBackup.DestinationFull", ex.ErrorId);
            Assert.Equal(FailureKind.LimitsExceeded, ex.Kind);
            Assert.Equal("Failed", ex.Run.Status);
            Assert.Empty(Directory.GetFiles(dest, "*.nekk-partial", SearchOption.AllDirectories));
            Assert.Empty(Directory.GetFiles(Path.Combine(dest, ".nekkbackup", "partial")));
            Assert.Single(FolderBackupEngine.GetRuns(dest));

            var test = FolderKit.Test(dest, true);
            Assert.True(test.Problems.Length == 0, string.Join("\n", test.Problems));
            var target = Path.Combine(tmp.Path, "r");
            Assert.Equal("Succeeded", FolderKit.Restore(dest, target, first.RunId).Status);
            FolderKit.AssertSameTree(ref1, Path.Combine(target, "Studio"));
        }

        [RootFact("mkfs.ext4")]
        public void ReadOnlyDestination_ClearErrorId()
        {
            using var tmp = new TempDir("fb-ro");
            using var fs = new LoopFileSystem("ext4", 16, "ro");
            var src = tmp.Sub("S");
            File.WriteAllText(Path.Combine(src, "a.txt"), "a");
            var ex = Assert.ThrowsAny<NekkBackupException>(() => FolderKit.Backup(Path.Combine(fs.MountPoint, "nas"), null, false, src));
            Assert.Equal("NekkBackup.DestinationReadOnly", ex.ErrorId);
        }

        [RootFact("mkntfs", "ntfs-3g")]
        public void NtfsWindowsNames_RefusedNamesReportedPerFile_RestLands()
        {
            using var tmp = new TempDir("fb-ntfs");
            using var fs = new LoopFileSystem("ntfs", 64, "windows_names");
            var src = StudioData.Generate(Path.Combine(tmp.Path, "Studio"), 5, 61);
            var refDir = tmp.Sub("ref");
            StudioData.CopyTree(src, refDir);
            var bad = new[] { "a:b", "con.txt", "x." };
            foreach (var n in bad) File.WriteAllText(Path.Combine(src, n), "refused on Windows: " + n);
            Directory.CreateDirectory(Path.Combine(src, "Mix|Final"));
            File.WriteAllText(Path.Combine(src, "Mix|Final", "inside.txt"), "in a refused folder");

            var dest = Path.Combine(fs.MountPoint, "nas");
            var obs = new RecordingObserver();
            var run = FolderKit.Backup(dest, obs, false, src);
            _out.WriteLine(obs.Describe());
            Assert.Equal("CompletedWithErrors", run.Status);
            Assert.Equal(5, run.Errors); // three files, the folder "Mix|Final" and the file inside it
            var failed = obs.Failed.ToArray();
            Assert.All(failed, f => Assert.Equal("NekkBackup.InvalidFileName", f.Error.ErrorId));
            foreach (var n in bad) Assert.Contains(failed, f => f.Item.EndsWith("/" + n));
            Assert.Contains(failed, f => f.Item.EndsWith("inside.txt"));
            Assert.Contains(failed, f => f.Item.EndsWith("/Mix|Final"));
            Assert.Empty(Directory.GetFiles(fs.MountPoint, "*.nekk-partial", SearchOption.AllDirectories));

            FolderKit.AssertSameTree(refDir, Path.Combine(dest, "Studio"));
            var target = Path.Combine(tmp.Path, "r");
            Assert.Equal("Succeeded", FolderKit.Restore(dest, target).Status);
            FolderKit.AssertSameTree(refDir, Path.Combine(target, "Studio"));
            Assert.Equal("Passed", FolderKit.Test(dest, true).Status);
        }

        [Fact]
        public void Lock_LiveLockRefuses_StaleLockIsTakenOver()
        {
            using var tmp = new TempDir("fb-lock");
            var src = tmp.Sub("S");
            File.WriteAllText(Path.Combine(src, "a.txt"), "a");
            var dest = Path.Combine(tmp.Path, "nas");
            FolderKit.Backup(dest, null, false, src);
            var lockPath = Path.Combine(dest, ".nekkbackup", "lock");
            var host = OperatingSystemInfo.HostName;

            File.WriteAllText(lockPath, $"{{\"host\":\"{host}\",\"pid\":{Environment.ProcessId},\"time\":\"{DateTime.UtcNow:o}\",\"token\":\"x\"}}");
            var ex = Assert.Throws<NekkBackupException>(() => FolderKit.Backup(dest, null, false, src));
            Assert.Equal("NekkBackup.DestinationLocked", ex.ErrorId);
            Assert.True(File.Exists(lockPath), "someone else's lock must stay");

            using (var p = System.Diagnostics.Process.Start("true")!) { p.WaitForExit(); File.WriteAllText(lockPath, $"{{\"host\":\"{host}\",\"pid\":{p.Id},\"time\":\"{DateTime.UtcNow:o}\",\"token\":\"x\"}}"); }
            Assert.Equal("Succeeded", FolderKit.Backup(dest, null, false, src).Status);
            Assert.False(File.Exists(lockPath));

            File.WriteAllText(lockPath, $"{{\"host\":\"{host}\",\"pid\":{Environment.ProcessId},\"time\":\"{DateTime.UtcNow.AddHours(-1):o}\",\"token\":\"x\"}}");
            Assert.Equal("Succeeded", FolderKit.Backup(dest, null, false, src).Status);
        }

        [Fact]
        public void Cancel_MidCopy_NoManifestNoPartials_NextRunCompletes()
        {
            using var tmp = new TempDir("fb-cancel");
            var src = StudioData.Generate(Path.Combine(tmp.Path, "Studio"), 20, 71);
            var dest = Path.Combine(tmp.Path, "nas");
            using var cts = new CancellationTokenSource();
            var obs = new CancellingObserver(cts);
            var run = FolderBackupEngine.BackupAsync(new FolderBackupOptions { Sources = new[] { src }, Destination = dest, ThrottleLimit = 2 }, obs, cts.Token).Result;
            Assert.Equal("Cancelled", run.Status);
            Assert.False(Directory.Exists(Path.Combine(dest, ".nekkbackup", "runs")) && Directory.GetFiles(Path.Combine(dest, ".nekkbackup", "runs")).Length > 0, "no manifest for a cancelled run");
            Assert.Empty(Directory.GetFiles(Path.Combine(dest, ".nekkbackup", "partial")));
            Assert.True(run.BytesCopied < new DirectoryInfo(src).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length));
            var next = FolderKit.Backup(dest, null, false, src);
            Assert.Equal("Succeeded", next.Status);
            var r = Path.Combine(tmp.Path, "r");
            FolderKit.Restore(dest, r);
            FolderKit.AssertSameTree(src, Path.Combine(r, "Studio"));
        }

        private sealed class CancellingObserver : NekkBackup.Core.Observability.IRunObserver
        {
            private readonly CancellationTokenSource _cts;
            public CancellingObserver(CancellationTokenSource cts) => _cts = cts;
            public void Progress(NekkBackup.Core.Observability.RunProgress p) { if (p.BytesDone > 0) _cts.Cancel(); }
            public void Message(NekkBackup.Core.Observability.RunMessageLevel level, string text) { }
            public void ItemFailed(string item, NekkBackupException error) { }
        }
    }
}
