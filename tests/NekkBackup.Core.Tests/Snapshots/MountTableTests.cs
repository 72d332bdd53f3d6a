using System;
using System.IO;
using System.Linq;
using NekkBackup.Core.Snapshots;
using NekkBackup.Core.Tests.TestKit;
using Xunit;

namespace NekkBackup.Core.Tests.Snapshots
{
    /// <summary>
    /// The mount table read from /proc/self/mountinfo instead of spawning findmnt (issue 16: fixed costs of small runs):
    /// parsing, and the answer checked against findmnt itself on this machine's real mounts.
    /// </summary>
    public class MountTableTests
    {
        private const string Sample =
            "22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda rw\n" +
            "23 22 0:21 / /proc rw,nosuid shared:12 - proc proc rw\n" +
            "40 22 0:35 /@studio /srv/studio rw,relatime shared:20 master:3 - btrfs /dev/loop0 rw,space_cache=v2,subvolid=257,subvol=/@studio\n" +
            "41 22 254:3 / /srv/My\\040Projects rw - xfs /dev/mapper/vg0-projects rw\n" +
            "42 22 254:1 /var/lib/x /srv/bind rw - ext4 /dev/vda rw\n" +
            "43 22 7:1 / /srv/over rw - ext4 /dev/loop1 rw\n" +
            "44 22 7:2 / /srv/over rw - ext4 /dev/loop2 rw\n" +
            "45 22 0:50 / /srv/studio2 rw - tmpfs tmpfs rw\n" +
            "bad line\n";

        [Theory]
        [InlineData("/home/user/x", "/dev/vda", "/", "ext4", "254:1")]
        [InlineData("/srv/studio/Sessions/a.wav", "/dev/loop0[/@studio]", "/srv/studio", "btrfs", "0:35")]
        [InlineData("/srv/studio", "/dev/loop0[/@studio]", "/srv/studio", "btrfs", "0:35")]
        [InlineData("/srv/studio2/x", "tmpfs", "/srv/studio2", "tmpfs", "0:50")] // a prefix of the name is not a parent
        [InlineData("/srv/My Projects/song", "/dev/mapper/vg0-projects", "/srv/My Projects", "xfs", "254:3")]
        [InlineData("/srv/bind/f", "/dev/vda[/var/lib/x]", "/srv/bind", "ext4", "254:1")]
        [InlineData("/srv/over/f", "/dev/loop2", "/srv/over", "ext4", "7:2")] // the later mount hides the earlier one
        public void FindsTheMountFindmntWould(string path, string source, string target, string fsType, string majMin)
        {
            var m = MountTable.FindIn(Sample, path)!;
            Assert.Equal((source, target, fsType, majMin), (m.Source, m.Target, m.FsType, m.MajMin));
        }

        [Fact]
        public void AnswersNothingForWhatItCannotRead()
        {
            Assert.Null(MountTable.FindIn("", "/x"));
            Assert.Null(MountTable.FindIn("garbage without fields\n1 2 3\n", "/x"));
            Assert.Null(MountTable.FindIn(Sample, "relative/path"));
            Assert.Equal("a b\\c\td", MountTable.Unescape("a\\040b\\134c\\011d"));
            Assert.Equal("\\08x", MountTable.Unescape("\\08x")); // not an escape: kept
        }

        [Fact]
        public void AgreesWithFindmntOnThisMachinesMounts()
        {
            if (!OperatingSystem.IsLinux()) return;
            using var dir = new TempDir("mounttable");
            var link = Path.Combine(dir.Path, "link-to-proc");
            File.CreateSymbolicLink(link, "/proc/self");
            foreach (var path in new[] { "/", "/proc", "/sys/kernel", dir.Path, Directory.GetCurrentDirectory(), link })
            {
                var ours = MountTable.Find(path);
                var line = ProcessHelper.Check("findmnt", $"--noheadings --raw --output SOURCE,TARGET,FSTYPE,MAJ:MIN --target \"{path}\"");
                var theirs = LinuxMounts.ParseFindMnt(line)!;
                Assert.NotNull(ours);
                Assert.Equal((theirs.Source, theirs.Target, theirs.FsType, theirs.MajMin), (ours!.Source, ours.Target, ours.FsType, ours.MajMin));
            }
            Assert.Null(MountTable.Find(Path.Combine(dir.Path, "absent")));
        }
    }
}
