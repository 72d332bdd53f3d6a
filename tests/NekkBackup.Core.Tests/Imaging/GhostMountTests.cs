using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Imaging;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Snapshots;
using NekkBackup.Core.Tests.Snapshots;
using NekkBackup.Core.Tests.TestKit;
using Xunit;
using static NekkBackup.Core.Tests.Imaging.GhostTestSupport;

namespace NekkBackup.Core.Tests.Imaging
{
    /// <summary>Mount-/Dismount-NekkGhostImage with real loop devices (root), crashes included, and the Windows mounter through its seam.</summary>
    public sealed class GhostMountTests
    {
        /// <summary>A file-system image with a small tree in it; returns the tree's digest, taken on the live mount.</summary>
        private static Dictionary<string, string> MakeVolume(string image, string kind, int sizeMb, int seed)
        {
            using (var f = new FileStream(image, FileMode.CreateNew)) f.SetLength((long)sizeMb << 20);
            switch (kind)
            {
                case "ext4": ProcessHelper.Check("mkfs.ext4", $"-q -F \"{image}\""); break;
                case "xfs": ProcessHelper.Check("mkfs.xfs", $"-q -f \"{image}\""); break;
                case "btrfs": ProcessHelper.Check("mkfs.btrfs", $"-q -f \"{image}\""); break;
                case "ntfs": ProcessHelper.Check("mkntfs", $"-q -F -f \"{image}\""); break;
            }
            using var dir = new TempDir("mkvol");
            var mnt = dir.Sub("m");
            Mount(image, kind, mnt);
            try
            {
                var rnd = new Random(seed);
                foreach (var rel in new[] { "Users/Engineer/Documents/FabFilter/Vocal.ffp", "Program Files/Common Files/VST3/Pro-Q 3.vst3/Contents/x86_64-win/Pro-Q 3.vst3", "Sessions/Song – Ünï/take 1.wav", "small.txt" })
                {
                    var p = Path.Combine(mnt, rel);
                    Directory.CreateDirectory(Path.GetDirectoryName(p)!);
                    var b = new byte[rel.EndsWith(".wav") ? 3_000_000 + seed : rnd.Next(10, 200_000)];
                    rnd.NextBytes(b);
                    File.WriteAllBytes(p, b);
                }
                return StudioData.Digest(mnt);
            }
            finally { Unmount(mnt); }
        }

        private static string LosetupAll() => ProcessHelper.Run("losetup", "-a").StdOut;

        private static bool IsMountedAt(string dir) => File.ReadAllLines("/proc/self/mountinfo").Any(l => l.Split(' ')[4] == dir);

        [RootFact("losetup", "blkid", "mkfs.ext4", "mkfs.xfs", "mkfs.btrfs", "mkntfs", "ntfs-3g")]
        public async Task MountedImages_ShowTheSourcesFiles_RefuseWrites_AndDismountLeavesNothing()
        {
            using var tmp = new TempDir("ghost-mount");
            var store = new MountStateStore(Path.Combine(tmp.Path, "data", "mounts.json"));
            var repo = Path.Combine(tmp.Path, "repo");
            foreach (var (kind, size) in new[] { ("ext4", 48), ("ntfs", 48), ("btrfs", 128), ("xfs", 320) })
            {
                var vol = Path.Combine(tmp.Path, kind + ".img");
                var expected = MakeVolume(vol, kind, size, kind.Length);
                var img = Capture(vol, repo);
                var spy = new SpyObserver();
                var manager = new GhostMountManager(store, new LinuxLoopMounter(ProcessRunner.Instance), spy);
                var mp = Path.Combine(tmp.Path, "view-" + kind); // does not exist: Mount creates it, Dismount removes it
                var m = await manager.MountAsync(repo, img.ImageId, mp, CancellationToken.None);

                Assert.Equal(kind, m.FileSystem);
                Assert.StartsWith("/dev/loop", m.Device);
                Assert.True(m.ReadOnly);
                Assert.Equal(img.SizeBytes, m.SizeBytes);
                var seen = StudioData.Digest(mp);
                Assert.True(expected.Count == seen.Count && expected.All(kv => seen.TryGetValue(kv.Key, out var h) && h == kv.Value), kind + ": " + StudioData.Diff(expected, seen));
                var w = Record.Exception(() => File.WriteAllText(Path.Combine(mp, "Users", "new.txt"), "x"));
                Assert.True(w is IOException or UnauthorizedAccessException, $"{kind}: a write through the mount was not refused ({w?.GetType().Name ?? "it succeeded"})");
                Assert.Contains("ro", File.ReadAllLines("/proc/self/mountinfo").First(l => l.Split(' ')[4] == mp).Split(' ')[5].Split(','));
                Assert.Contains(m.ImageFile, LosetupAll());
                Assert.True(new FileInfo(m.ImageFile).Length == img.SizeBytes);

                var gone = await manager.DismountAsync(mp, CancellationToken.None);
                Assert.Equal(img.ImageId, gone.ImageId);
                Assert.False(IsMountedAt(mp));
                Assert.DoesNotContain(m.ImageFile, LosetupAll());
                Assert.DoesNotContain(Path.Combine(repo, "mounts"), LosetupAll());
                Assert.False(Directory.Exists(mp));
                Assert.False(Directory.Exists(Path.GetDirectoryName(m.ImageFile)));
                Assert.Empty(store.Load());
            }
            Assert.False(Directory.Exists(Path.Combine(repo, "mounts")) && Directory.EnumerateFileSystemEntries(Path.Combine(repo, "mounts")).Any());
            var ex = await Assert.ThrowsAsync<NekkBackupException>(() => new GhostMountManager(store, new LinuxLoopMounter(ProcessRunner.Instance)).DismountAsync(Path.Combine(tmp.Path, "view-ext4"), CancellationToken.None));
            Assert.Equal("NekkBackup.MountNotFound", ex.ErrorId);
        }

        [RootFact("losetup", "blkid", "mkfs.ext4")]
        public async Task CrashedMounts_AreCleanedByTheNextCall_AndAStoppedMountLeavesNothing()
        {
            using var tmp = new TempDir("ghost-mount-crash");
            var data = tmp.Sub("data");
            var store = new MountStateStore(Path.Combine(data, "mounts.json"));
            var repo = Path.Combine(tmp.Path, "repo");
            var vol = Path.Combine(tmp.Path, "v.img");
            var expected = MakeVolume(vol, "ext4", 48, 3);
            var img = Capture(vol, repo);
            var manager = new GhostMountManager(store, new LinuxLoopMounter(ProcessRunner.Instance));

            // Killed right after the loop device was attached, and right after the mount was made (record not Ready).
            var crashed = new List<string>();
            foreach (var (step, name) in new[] { ("Attached", "crash-1"), ("Mounted", "crash-2") })
            {
                var mp = Path.Combine(tmp.Path, name); // (a name that no message of an earlier step contains)
                var exit = RunHost(data, "mount", repo, img.ImageId, mp, "--die-on", step);
                Assert.NotEqual(0, exit);
                var rec = Assert.Single(store.Load(), r => r.MountPoint == mp);
                Assert.Equal(MountStates.Creating, rec.State);
                Assert.StartsWith("/dev/loop", rec.Device);
                Assert.Contains(rec.ImageFile, LosetupAll());
                Assert.Equal(step == "Mounted", IsMountedAt(mp));
                crashed.Add(rec.ImageFile);
            }

            // The next Mount cleans both (mount, loop devices, files, folders it created), then mounts.
            var live = Path.Combine(tmp.Path, "live");
            var m = await manager.MountAsync(repo, img.ImageId, live, CancellationToken.None);
            foreach (var f in crashed)
            {
                Assert.DoesNotContain(f, LosetupAll());
                Assert.False(Directory.Exists(Path.GetDirectoryName(f)));
            }
            Assert.False(IsMountedAt(Path.Combine(tmp.Path, "crash-2")));
            Assert.False(Directory.Exists(Path.Combine(tmp.Path, "crash-2")));
            Assert.Equal(m.MountId(), Assert.Single(store.Load()).MountId);
            Assert.Equal(expected, StudioData.Digest(live));

            // A crash after it was Ready is a normal live mount; a Dismount of a crashed mount folder cleans it.
            var mp2 = Path.Combine(tmp.Path, "crash-3");
            Assert.NotEqual(0, RunHost(data, "mount", repo, img.ImageId, mp2, "--die-on", "Attached"));
            var cleaned = await manager.DismountAsync(mp2, CancellationToken.None);
            Assert.Equal(mp2, cleaned.MountPoint);
            Assert.DoesNotContain(cleaned.ImageFile, LosetupAll());
            Assert.False(Directory.Exists(mp2));
            await manager.DismountAsync(live, CancellationToken.None);
            Assert.Empty(store.Load());
            Assert.DoesNotContain(Path.Combine(repo, "mounts"), LosetupAll());

            // Ctrl+C while the image is being materialised: nothing stays.
            using var cts = new CancellationTokenSource();
            var stopper = new StopOn("Materialising", cts);
            var stopped = Path.Combine(tmp.Path, "stopped");
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new GhostMountManager(store, new LinuxLoopMounter(ProcessRunner.Instance), stopper).MountAsync(repo, img.ImageId, stopped, cts.Token));
            Assert.Empty(store.Load());
            Assert.False(Directory.Exists(stopped));
            Assert.False(Directory.Exists(Path.Combine(repo, "mounts")) && Directory.EnumerateFileSystemEntries(Path.Combine(repo, "mounts")).Any());
        }

        [Fact]
        public async Task WindowsMounter_AttachesAReadOnlyVhd_WithQuotedPaths_AndParsesItsAnswers()
        {
            var vhd = @"\\nas2\ghost\it's here\mounts\m1\volume.vhd";
            var mp = @"C:\NekkMount\O'Brien";
            var runner = new FakeProcessRunner()
                .On(WindowsDiskImageMounter.Shell, a => Decode(a).Contains("Mount-DiskImage"), "NEKK-DISK=3\r\nNEKK-FS=NTFS\r\n")
                .On(WindowsDiskImageMounter.Shell, a => Decode(a).Contains("Dismount-DiskImage"), "", 1, "The process cannot access the file because it is being used by another process.")
                .On(WindowsDiskImageMounter.Shell, a => Decode(a).Contains("NEKK-ATTACHED"), "NEKK-ATTACHED\r\n");
            var mounter = new WindowsDiskImageMounter(runner, () => true);
            Assert.Equal(GhostRestoreFormat.Vhd, mounter.Format);
            Assert.Null(mounter.Unavailable());
            Assert.NotNull(new WindowsDiskImageMounter(runner, () => false).Unavailable());
            string? attached = null;
            var (device, fs) = await mounter.AttachAsync(vhd, mp, d => attached = d, CancellationToken.None);
            Assert.Equal("disk 3", device);
            Assert.Equal("disk 3", attached);
            Assert.Equal("ntfs", fs);
            var script = Decode(runner.Calls[0].Split(' ').Skip(1).ToArray());
            Assert.Contains(@"Mount-DiskImage -ImagePath '\\nas2\ghost\it''s here\mounts\m1\volume.vhd' -StorageType VHD -Access ReadOnly -NoDriveLetter", script);
            Assert.Contains(@"-AccessPath 'C:\NekkMount\O''Brien\'", script);
            Assert.StartsWith("powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand ", runner.Calls[0]);

            var rec = new MountRecord { ImageFile = vhd, MountPoint = mp };
            Assert.True(await mounter.IsLiveAsync(rec, CancellationToken.None));
            var busy = await Assert.ThrowsAsync<NekkBackupException>(() => mounter.DetachAsync(rec, CancellationToken.None));
            Assert.Equal("NekkBackup.MountBusy", busy.ErrorId);
            var detach = WindowsDiskImageMounter.DetachScript(vhd, mp);
            Assert.Contains(@"Remove-PartitionAccessPath -DiskNumber $_.DiskNumber -PartitionNumber $_.PartitionNumber -AccessPath 'C:\NekkMount\O''Brien\'", detach);
            Assert.True(detach.IndexOf("Remove-PartitionAccessPath", StringComparison.Ordinal) < detach.IndexOf("Dismount-DiskImage", StringComparison.Ordinal));
            Assert.Equal((null, null), WindowsDiskImageMounter.ParseAttach("garbage\nNEKK-DISK=-1\n"));

            var failing = new WindowsDiskImageMounter(new FakeProcessRunner().On(WindowsDiskImageMounter.Shell, "", 1, "Mount-DiskImage : Access is denied."), () => true);
            var err = await Assert.ThrowsAsync<NekkBackupException>(() => failing.AttachAsync(vhd, mp, _ => { }, CancellationToken.None));
            Assert.Equal("NekkBackup.MountFailed", err.ErrorId);
            Assert.Contains("Access is denied", err.Message);
        }

        [Fact]
        public void LinuxMounter_MountsEveryFileSystemReadOnly_WithoutJournalReplay()
        {
            void Is(string tool, string args, (string Tool, string[] Args) c)
            {
                Assert.Equal(tool, c.Tool);
                Assert.Equal(args, string.Join(" ", c.Args));
            }
            Is("mount", "-t ext4 -o ro,noload /dev/loop3 /m", LinuxLoopMounter.MountCommand("ext4", "/dev/loop3", "/m"));
            Is("mount", "-t xfs -o ro,norecovery,nouuid /dev/loop3 /m", LinuxLoopMounter.MountCommand("xfs", "/dev/loop3", "/m"));
            Is("mount", "-t btrfs -o ro,rescue=nologreplay /dev/loop3 /m", LinuxLoopMounter.MountCommand("btrfs", "/dev/loop3", "/m"));
            Is("ntfs-3g", "-o ro /dev/loop3 /m", LinuxLoopMounter.MountCommand("ntfs", "/dev/loop3", "/m"));
            Is("mount", "-t vfat -o ro /dev/loop3 /m", LinuxLoopMounter.MountCommand("vfat", "/dev/loop3", "/m"));
            // Only a mount whose source is a loop device backed by the record's file is undone.
            var mounter = new LinuxLoopMounter(new FakeProcessRunner(), _ => new[] { "/dev/loop7" },
                () => new[] { "36 35 7:7 / /srv/view ro,relatime - ext4 /dev/loop7 ro", "37 35 8:1 / /srv/other rw - ext4 /dev/sda1 rw" });
            Assert.True(mounter.IsLiveAsync(new MountRecord { ImageFile = "/r/mounts/x/volume.raw", MountPoint = "/srv/view" }, CancellationToken.None).Result);
            Assert.False(mounter.IsLiveAsync(new MountRecord { ImageFile = "/r/mounts/x/volume.raw", MountPoint = "/srv/other" }, CancellationToken.None).Result);
        }

        private static string Decode(IReadOnlyList<string> args) =>
            Encoding.Unicode.GetString(Convert.FromBase64String(args[args.Count - 1]));

        private static int RunHost(string dataDir, params string[] args)
        {
            var host = Path.Combine(AppContext.BaseDirectory, "NekkBackup.GhostHost.dll");
            var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add(host);
            foreach (var a in args) psi.ArgumentList.Add(a);
            psi.Environment["NEKKBACKUP_DATA"] = dataDir;
            using var p = Process.Start(psi)!;
            p.OutputDataReceived += (_, _) => { };
            p.ErrorDataReceived += (_, _) => { };
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            Assert.True(p.WaitForExit(120_000), "the host did not end");
            return p.ExitCode;
        }

        private sealed class StopOn : IRunObserver
        {
            private readonly string _text;
            private readonly CancellationTokenSource _cts;
            public StopOn(string text, CancellationTokenSource cts) { _text = text; _cts = cts; }
            public void Progress(RunProgress progress) { }
            public void ItemFailed(string item, NekkBackupException error) { }
            public void Message(RunMessageLevel level, string text) { if (text.Contains(_text)) _cts.Cancel(); }
        }
    }

    internal static class GhostMountTestExtensions
    {
        /// <summary>The mount id is the name of the work folder holding the image file.</summary>
        public static string MountId(this GhostMount m) => Path.GetFileName(Path.GetDirectoryName(m.ImageFile)!);
    }
}
