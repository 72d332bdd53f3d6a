using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Resilience;
using NekkBackup.Core.Storage;
using NekkBackup.Core.Tests.Cloud;
using NekkBackup.Core.Tests.TestKit;
using Xunit;

namespace NekkBackup.Core.Tests.Storage
{
    /// <summary>A folder on the test machine's own file system.</summary>
    public sealed class LocalDirectoryTargetConformance : BackupTargetConformance
    {
        private TempDir? _dir;

        protected override Task<IBackupTarget> OpenFreshAsync()
        {
            _dir = new TempDir("conf-local");
            return Task.FromResult<IBackupTarget>(LocalDirectoryTarget.Open(_dir.Path));
        }

        protected override Task CloseAsync()
        {
            _dir?.Dispose();
            return Task.CompletedTask;
        }
    }

    /// <summary>An NTFS image mounted with ntfs-3g -o windows_names: the names and behaviour of a Windows share (root).</summary>
    public sealed class NtfsWindowsNamesTargetConformance : BackupTargetConformance, IClassFixture<NtfsWindowsNamesTargetConformance.Mount>
    {
        public sealed class Mount : IDisposable
        {
            public Mount()
            {
                var why = Conditions.MissingFor(true, "mkntfs", "ntfs-3g");
                if (why != null) throw new InvalidOperationException("The NTFS conformance run " + why + ".");
                Fs = new LoopFileSystem("ntfs", 256, "windows_names");
            }

            public LoopFileSystem Fs { get; }
            public void Dispose() => Fs.Dispose();
        }

        private readonly Mount _mount;
        public NtfsWindowsNamesTargetConformance(Mount mount) => _mount = mount;

        protected override bool ReplaceMayShowKeyMissing => true;

        protected override Task<IBackupTarget> OpenFreshAsync() =>
            Task.FromResult<IBackupTarget>(LocalDirectoryTarget.Open(Path.Combine(_mount.Fs.MountPoint, "t-" + Guid.NewGuid().ToString("N").Substring(0, 10)), new LocalTargetOptions { CreateRoot = true }));

        [Fact]
        public void The_probe_finds_the_Windows_name_rules_the_mount_enforces()
        {
            Assert.Equal(KeyNameRules.Windows, Target.Capabilities.NameRules);
            // Independent check: the file system itself refuses such a name.
            Assert.ThrowsAny<IOException>(() => File.WriteAllBytes(Path.Combine(Target.Capabilities.LocalRoot!, "a?b"), new byte[] { 1 }));
        }
    }

    /// <summary>A local folder behind the fault injector (15 % transient faults on every call) and the retry decorator.</summary>
    public sealed class FaultyLocalTargetConformance : BackupTargetConformance
    {
        private TempDir? _dir;
        private FaultyTarget? _faulty;

        protected override Task<IBackupTarget> OpenFreshAsync()
        {
            _dir = new TempDir("conf-faulty");
            _faulty = new FaultyTarget(LocalDirectoryTarget.Open(_dir.Path), seed: Environment.TickCount) { TransientRate = 0.15 };
            var preset = new NekkResilience.RetryPreset(10, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(10));
            return Task.FromResult<IBackupTarget>(new RetryingTarget(_faulty, preset));
        }

        protected override Task CloseAsync()
        {
            _dir?.Dispose();
            return Task.CompletedTask;
        }

        [Fact]
        public async Task Faults_were_really_injected_and_absorbed()
        {
            for (int i = 0; i < 40; i++) await PutAsync("f/" + i, new byte[] { (byte)i });
            Assert.True(_faulty!.InjectedFaults > 0, "the decorator injected faults");
            Assert.Equal(40, (await KeysAsync("f/")).Count);
            Assert.True(((RetryingTarget)Target).Retries >= _faulty.InjectedFaults - 1);
        }
    }

    /// <summary>An S3 bucket on a real s3rver (path-style, no aws-chunked framing), 5 MiB parts.</summary>
    [Collection("s3rver")]
    public sealed class S3TargetConformance : BackupTargetConformance
    {
        private readonly S3rverFixture _s3;
        public S3TargetConformance(S3rverFixture s3) => _s3 = s3;

        /// <summary>s3rver 3.7.1 streams a PUT straight into the object's file (no temp + rename), unlike S3.</summary>
        protected override bool StoreIsolatesConcurrentWrites => false;

        protected override async Task<IBackupTarget> OpenFreshAsync() =>
            await S3Target.OpenAsync(_s3.Target(_s3.NewBucket()), new S3TargetOptions { RootPrefix = "studio/host/", PartSize = S3TargetOptions.MinPartSize }, CancellationToken.None);

        [Fact]
        public void The_probes_find_what_s3rver_lacks()
        {
            Assert.False(Target.Capabilities.ConditionalCreate, "s3rver 3.7.1 ignores If-None-Match");
            Assert.False(Target.Capabilities.ObjectLock, "s3rver 3.7.1 has no Object Lock");
            Assert.False(Target.Capabilities.AtomicRename);
            Assert.Null(Target.Capabilities.LocalRoot);
        }
    }
}
