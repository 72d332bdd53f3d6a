using System;
using System.IO;
using System.Linq;
using NekkBackup.Core.Imaging;
using NekkBackup.Core.Tests.TestKit;
using Xunit;

namespace NekkBackup.Core.Tests.Imaging
{
    /// <summary>Pure logic: VHD footer/MBR bytes, CHS, Windows device paths, mountinfo parsing, plugin scan.</summary>
    public class GhostUnitTests
    {
        private static uint Be32(byte[] b, int at) => (uint)b[at] << 24 | (uint)b[at + 1] << 16 | (uint)b[at + 2] << 8 | b[at + 3];
        private static ulong Be64(byte[] b, int at) => (ulong)Be32(b, at) << 32 | Be32(b, at + 4);

        [Fact]
        public void VhdFooterMatchesTheSpecConstants()
        {
            long size = 20L << 20;
            var id = Enumerable.Range(1, 16).Select(i => (byte)i).ToArray();
            var ts = new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);
            var f = Vhd.Footer(size, ts, id);
            Assert.Equal(512, f.Length);
            Assert.Equal("conectix", System.Text.Encoding.ASCII.GetString(f, 0, 8));
            Assert.Equal(0x00000002u, Be32(f, 8));
            Assert.Equal(0x00010000u, Be32(f, 12));
            Assert.Equal(0xFFFFFFFFFFFFFFFFul, Be64(f, 16));
            Assert.Equal((uint)(ts - new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc)).TotalSeconds, Be32(f, 24));
            Assert.Equal("win ", System.Text.Encoding.ASCII.GetString(f, 28, 4));
            Assert.Equal(0x5769326Bu, Be32(f, 36)); // "Wi2k"
            Assert.Equal((ulong)size, Be64(f, 40));
            Assert.Equal((ulong)size, Be64(f, 48));
            // 20 MiB = 40960 sectors: spt 17, cth 2409, heads 4 → 602/4/17.
            Assert.Equal(602, f[56] << 8 | f[57]);
            Assert.Equal(4, f[58]);
            Assert.Equal(17, f[59]);
            Assert.Equal(2u, Be32(f, 60));
            Assert.Equal(id, f.Skip(68).Take(16).ToArray());
            Assert.Equal(0, f[84]);
            Assert.All(f.Skip(85), b => Assert.Equal(0, b));
            // Checksum computed independently: one's complement of the byte sum with the field zeroed.
            var copy = (byte[])f.Clone();
            copy[64] = copy[65] = copy[66] = copy[67] = 0;
            uint sum = 0;
            foreach (var b in copy) sum += b;
            Assert.Equal(~sum, Be32(f, 64));
        }

        [Theory]
        [InlineData(1L << 30, 2080, 16, 63)]      // 1 GiB: the geometry Hyper-V gives a 1 GB disk
        [InlineData(20L << 20, 602, 4, 17)]
        [InlineData(3000L << 30, 65535, 16, 255)] // capped
        public void VhdGeometryFollowsTheSpecAlgorithm(long size, int c, int h, int s)
        {
            var (cyl, heads, spt) = Vhd.Geometry(size);
            Assert.Equal(c, cyl);
            Assert.Equal(h, heads);
            Assert.Equal(s, spt);
        }

        [Fact]
        public void MbrHasOnePrimaryNtfsPartitionAt2048()
        {
            long volume = (5L << 20) + 300; // not a sector multiple: padded
            var m = Vhd.MasterBootRecord(volume, 0xA1B2C3D4);
            Assert.Equal(0x55, m[510]);
            Assert.Equal(0xAA, m[511]);
            Assert.Equal(0xA1B2C3D4u, BitConverter.ToUInt32(m, 0x1B8));
            Assert.Equal(0x07, m[0x1BE + 4]);
            Assert.Equal(2048u, BitConverter.ToUInt32(m, 0x1BE + 8));
            Assert.Equal((uint)((volume + 511) / 512), BitConverter.ToUInt32(m, 0x1BE + 12));
            Assert.All(m.Skip(0x1CE).Take(48), b => Assert.Equal(0, b)); // other entries empty
            Assert.NotEqual(Vhd.RandomDiskSignature(), Vhd.RandomDiskSignature());
        }

        [Theory]
        [InlineData("C:", @"\\.\C:")]
        [InlineData(@"c:\", @"\\.\C:")]
        [InlineData("d", @"\\.\D:")]
        [InlineData(@"\\.\C:\", @"\\.\C:")]
        [InlineData(@"\\.\E:", @"\\.\E:")]
        [InlineData(@"\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy12", @"\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy12")]
        [InlineData(@"\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy12\", @"\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy12")]
        [InlineData(@"\\?\Volume{5b9c1b5e-0000-0000-0000-100000000000}\", @"\\?\Volume{5b9c1b5e-0000-0000-0000-100000000000}")]
        [InlineData(@"\\.\PhysicalDrive1", @"\\.\PhysicalDrive1")]
        [InlineData(@"D:\images\system.img", null)]
        [InlineData(@"\\?\D:\images\system.img", null)]
        [InlineData(@"\\nas\share\sys.img", null)]
        [InlineData("/dev/sda2", null)]
        public void WindowsSourcesMapToRawDevicePaths(string source, string? expected)
        {
            Assert.Equal(expected, WindowsDevicePath.ToDevicePath(source));
        }

        [Fact]
        public void WindowsOpenArgumentsAndIoctlCodes()
        {
            var (access, share, creation, flags) = WindowsDevicePath.OpenArguments(write: false);
            Assert.Equal(0x80000000u, access);                    // GENERIC_READ
            Assert.Equal(3u, share);                              // FILE_SHARE_READ | FILE_SHARE_WRITE (required for volumes)
            Assert.Equal(3u, creation);                           // OPEN_EXISTING
            Assert.Equal(0x20000000u, flags & 0x20000000u);       // FILE_FLAG_NO_BUFFERING
            var w = WindowsDevicePath.OpenArguments(write: true);
            Assert.Equal(0xC0000000u, w.access);
            Assert.Equal(0x0007405Cu, WindowsDevicePath.CtlCode(7, 0x17, 0, 1));
            Assert.Equal(0x0007405Cu, WindowsDevicePath.IOCTL_DISK_GET_LENGTH_INFO + 0u);
            Assert.Equal(0x00090083u, WindowsDevicePath.CtlCode(9, 32, 3, 0));
            Assert.Equal(0x00090018u, WindowsDevicePath.CtlCode(9, 6, 0, 0));
            Assert.Equal(0x00090020u, WindowsDevicePath.CtlCode(9, 8, 0, 0));
            Assert.True(WindowsDevicePath.IsAligned(1 << 20, 4096, 512));
            Assert.False(WindowsDevicePath.IsAligned(100, 512, 512));
            Assert.Equal(0x80081272ul, LinuxBlockDevice.BLKGETSIZE64);
        }

        [Fact]
        public void MountInfoIsMatchedByDeviceNumberOrSource()
        {
            var lines = new[]
            {
                "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw",
                "98 22 7:3 / /mnt/with\\040space rw,relatime shared:50 - ext4 /dev/loop3 rw",
                "99 22 0:55 / /mnt/ntfs rw,relatime shared:51 - fuseblk /tmp/x/ntfs.img rw,user_id=0",
            };
            Assert.Equal("/mnt/with space", MountCheck.FindInMountInfo(lines, new[] { "7:3" }, Array.Empty<string>()));
            Assert.Equal("/mnt/ntfs", MountCheck.FindInMountInfo(lines, Array.Empty<string>(), new[] { "/tmp/x/ntfs.img" }));
            Assert.Null(MountCheck.FindInMountInfo(lines, new[] { "7:4" }, new[] { "/dev/loop4" }));
        }

        [Fact]
        public void PluginScanReadsVst3ModuleInfoPlistAndPlainFiles()
        {
            using var dir = new TempDir("plugins");
            var vst3 = dir.Sub("VST3");
            var bundle = Path.Combine(vst3, "Pro-Q 3.vst3", "Contents");
            Directory.CreateDirectory(bundle);
            File.WriteAllText(Path.Combine(bundle, "moduleinfo.json"),
                "{ \"Name\": \"Pro-Q 3\", \"Version\": \"3.21\", // comment\n \"Factory Info\": { \"Vendor\": \"FabFilter\", }, }");
            var au = Path.Combine(dir.Sub("Components"), "Valhalla.component", "Contents");
            Directory.CreateDirectory(au);
            File.WriteAllText(Path.Combine(au, "Info.plist"),
                "<?xml version=\"1.0\"?><plist version=\"1.0\"><dict><key>CFBundleName</key><string>ValhallaRoom</string>" +
                "<key>CFBundleShortVersionString</key><string>1.6.5</string><key>CFBundleIdentifier</key><string>com.valhalladsp.Room</string></dict></plist>");
            var clap = dir.Sub("CLAP");
            File.WriteAllBytes(Path.Combine(clap, "Surge XT.clap"), new byte[] { 1 });
            var vst2 = dir.Sub("lxvst");
            Directory.CreateDirectory(Path.Combine(vst2, "Vendor"));
            File.WriteAllBytes(Path.Combine(vst2, "Vendor", "Dexed.so"), new byte[] { 1 });

            var inv = PluginScanner.Scan(new[] { vst3, Path.Combine(dir.Path, "Components"), clap, vst2, Path.Combine(dir.Path, "absent") });
            Assert.Equal(4, inv.Plugins.Length);
            var pq = inv.Plugins.Single(p => p.Format == "VST3");
            Assert.Equal(("Pro-Q 3", "3.21", "FabFilter"), (pq.Name, pq.Version, pq.Vendor));
            var room = inv.Plugins.Single(p => p.Format == "AU");
            Assert.Equal(("ValhallaRoom", "1.6.5", "valhalladsp"), (room.Name, room.Version, room.Vendor));
            Assert.Contains(inv.Plugins, p => p.Format == "CLAP" && p.Name == "Surge XT");
            Assert.Contains(inv.Plugins, p => p.Format == "VST2" && p.Name == "Dexed");
            Assert.Equal(5, inv.Folders.Length);
        }

        [Fact]
        public void AuthorizationToolsAreFoundWherePlatformsInstallThem()
        {
            var all = PluginScanner.KnownTools.Select(t => t.name).ToArray();
            Assert.Contains("iLok License Manager", all);
            Assert.Contains("Waves Central", all);
            Assert.Contains("Native Access", all);
            // Everything "exists": one hit per tool on Windows/macOS, none on Linux (no such tools there).
            var found = PluginScanner.DetectAuthorizationTools(_ => true, _ => false).ToList();
            if (OperatingSystemInfo.IsLinux) Assert.Empty(found);
            else Assert.Equal(all.Length, found.Count);
        }
    }
}
