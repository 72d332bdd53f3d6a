using System;
using System.IO;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Imaging;
using NekkBackup.Core.Tests.TestKit;
using Xunit;

namespace NekkBackup.Core.Tests.Imaging
{
    /// <summary>Raw volume reads through CreateFile/DeviceIoControl: only a Windows host can run these.</summary>
    public class GhostWindowsTests
    {
        [WindowsOnlyFact]
        public void SystemVolumeOpensRawWithItsLengthWhenElevated()
        {
            var drive = Path.GetPathRoot(Environment.SystemDirectory)!.Substring(0, 2); // "C:"
            if (!OperatingSystemInfo.IsElevated)
            {
                var ex = Assert.Throws<NekkBackupException>(() => BlockSources.Open(drive).Dispose());
                Assert.Equal("NekkBackup.AccessDenied", ex.ErrorId);
                return;
            }
            using var src = BlockSources.Open(drive);
            Assert.Equal(@"\\.\C:".Replace("C:", drive.ToUpperInvariant()), src.Path);
            Assert.True(src.Length > 1L << 30);
            Assert.Equal(0, src.Length % 512);
            var buf = new byte[1 << 20];
            Assert.Equal(buf.Length, src.Read(0, buf, buf.Length));
            Assert.Equal("NTFS    ", System.Text.Encoding.ASCII.GetString(buf, 3, 8)); // boot sector OEM id
            // The last sectors need FSCTL_ALLOW_EXTENDED_DASD_IO.
            long tail = src.Length - 4096;
            Assert.Equal(4096, src.Read(tail, buf, 4096));
        }
    }
}
