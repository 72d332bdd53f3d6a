using System;
using System.IO;
using NekkBackup.Core.Plans;
using NekkBackup.Core.Tests.TestKit;
using Xunit;

namespace NekkBackup.Core.Tests.Plans
{
    public class CredentialStoreTests
    {
        [Fact]
        public void Stores_per_share_and_reads_back_in_a_root_only_file()
        {
            using var dir = new TempDir("cred");
            var old = CredentialStore.DirectoryOverride;
            CredentialStore.DirectoryOverride = Path.Combine(dir.Path, "credentials");
            try
            {
                var s = CredentialStore.Set(@"\\NAS\Backup\studio-a", "nas\\backup", "pa55-w0rd");
                Assert.Equal(@"\\nas\backup", s.Target);
                var back = CredentialStore.TryGet(@"\\nas\backup\other-folder");
                Assert.NotNull(back);
                Assert.Equal("nas\\backup", back!.UserName);
                Assert.Equal("pa55-w0rd", back.Secret);
                Assert.Null(CredentialStore.TryGet(@"\\nas\ghost"));
                Assert.Equal("offsite", CredentialStore.NormalizeTarget("s3://Offsite/"));
                if (!OperatingSystemInfo.IsWindows)
                {
                    Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(s.Path));
                    Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(s.Path)!));
                }
                // Overwrite keeps one file per target.
                CredentialStore.Set(@"\\nas\backup", "other", "x");
                Assert.Equal("other", CredentialStore.TryGet(@"\\nas\backup")!.UserName);
                Assert.Single(Directory.GetFiles(CredentialStore.DirectoryOverride));
                Assert.True(CredentialStore.Remove(@"\\nas\backup"));
                Assert.Null(CredentialStore.TryGet(@"\\nas\backup"));
            }
            finally { CredentialStore.DirectoryOverride = old; }
        }
    }
}
