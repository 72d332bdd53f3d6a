using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using NekkBackup.Core.Cloud;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Tests.TestKit;
using Xunit;
using static NekkBackup.Core.Tests.Cloud.CloudTestHelpers;

namespace NekkBackup.Core.Tests.Cloud
{
    [Collection("s3rver")]
    public sealed class CloudErrorTests
    {
        private readonly S3rverFixture _s3;

        public CloudErrorTests(S3rverFixture s3) => _s3 = s3;

        private static async Task<NekkBackupException> SendExpectingError(CloudTarget target, string src, string journal)
        {
            return await Assert.ThrowsAsync<NekkBackupException>(() =>
                new CloudBackupEngine(target).RunAsync(new CloudBackupOptions { Paths = new[] { src }, JournalDirectory = journal }));
        }

        [Fact]
        public async Task WrongAccessKey_IsAccessDenied_AndNotRetried()
        {
            using var tmp = new TempDir("cloud-err");
            var src = tmp.Sub("S");
            MakeFile(Path.Combine(src, "a.bin"), 1000, 1);
            using var proxy = new FaultProxy(_s3.Port);
            var t = _s3.Target(S3rverFixture.DefaultBucket, proxy.Endpoint);
            var ex = await SendExpectingError(new CloudTarget
            {
                // s3rver leaves SigV4 signatures unchecked (its authentication.js), so a wrong SECRET passes there;
                // an unknown access key is refused with InvalidAccessKeyId, as AWS does.
                Bucket = t.Bucket, Endpoint = t.Endpoint, Prefix = t.Prefix, Host = t.Host, AccessKey = "NOT-A-KEY", SecretKey = "not-the-secret",
                RetryFirstDelay = TimeSpan.FromMilliseconds(10),
            }, src, tmp.Sub("j"));
            Assert.Equal("NekkBackup.CloudAccessDenied", ex.ErrorId);
            Assert.Equal(FailureKind.PermissionDenied, ex.Kind);
            Assert.DoesNotContain("not-the-secret", ex.Message);
            Assert.Contains("InvalidAccessKeyId", ex.Message);
            Assert.Single(proxy.Requests); // a permanent error is never retried
        }

        [Fact]
        public async Task MissingBucket_IsBucketNotFound()
        {
            using var tmp = new TempDir("cloud-err");
            var src = tmp.Sub("S");
            MakeFile(Path.Combine(src, "a.bin"), 1000, 1);
            var ex = await SendExpectingError(_s3.Target("no-such-bucket-" + Guid.NewGuid().ToString("N").Substring(0, 6)), src, tmp.Sub("j"));
            Assert.Equal("NekkBackup.CloudBucketNotFound", ex.ErrorId);
            Assert.Equal(FailureKind.NotFound, ex.Kind);
            var ex2 = await Assert.ThrowsAsync<NekkBackupException>(() => new CloudRestoreEngine(_s3.Target("no-such-bucket-x")).GetItemsAsync(null));
            Assert.Equal("NekkBackup.CloudBucketNotFound", ex2.ErrorId);
        }

        [Fact]
        public async Task ClosedPort_IsUnreachable_WithinBoundedRetries()
        {
            using var tmp = new TempDir("cloud-err");
            var src = tmp.Sub("S");
            MakeFile(Path.Combine(src, "a.bin"), 1000, 1);
            var sw = Stopwatch.StartNew();
            var ex = await SendExpectingError(_s3.Target("nekk", $"http://127.0.0.1:{S3rverFixture.FreePort()}"), src, tmp.Sub("j"));
            Assert.Equal("NekkBackup.CloudUnreachable", ex.ErrorId);
            Assert.Equal(FailureKind.ConnectionError, ex.Kind);
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(30), sw.Elapsed.ToString());
        }

        [Fact]
        public async Task BadArguments_AreRejectedBeforeAnythingIsSent()
        {
            using var tmp = new TempDir("cloud-err");
            var src = tmp.Sub("S");
            var bucket = _s3.NewBucket();
            var e1 = await Assert.ThrowsAsync<NekkBackupException>(() => new CloudBackupEngine(_s3.Target(bucket)).RunAsync(
                new CloudBackupOptions { Paths = new[] { Path.Combine(tmp.Path, "missing") } }));
            Assert.Equal("NekkBackup.SourceNotFound", e1.ErrorId);
            var e2 = await Assert.ThrowsAsync<NekkBackupException>(() => new CloudBackupEngine(_s3.Target(bucket)).RunAsync(
                new CloudBackupOptions { Paths = new[] { src }, StorageClass = "FROZEN" }));
            Assert.Equal("NekkBackup.InvalidStorageClass", e2.ErrorId);
            var e3 = await Assert.ThrowsAsync<NekkBackupException>(() => new CloudBackupEngine(_s3.Target(bucket)).RunAsync(
                new CloudBackupOptions { Paths = new[] { src }, ThrottleLimit = 0 }));
            Assert.Equal("NekkBackup.InvalidThrottleLimit", e3.ErrorId);
            using var s3 = _s3.Client();
            var listed = await s3.ListObjectsV2Async(new Amazon.S3.Model.ListObjectsV2Request { BucketName = bucket });
            Assert.Empty(listed.S3Objects ?? new());
        }

        [Theory]
        [InlineData("abc")]
        [InlineData("-5d")]
        [InlineData("0")]
        [InlineData("")]
        [InlineData("12x")]
        public void BadModifiedWithin_IsInvalidModifiedWithin(string value)
        {
            var ex = Assert.Throws<NekkBackupException>(() => ModifiedWithin.Parse(value));
            Assert.Equal("NekkBackup.InvalidModifiedWithin", ex.ErrorId);
            Assert.Equal(FailureKind.InvalidArgument, ex.Kind);
        }

        [Fact]
        public void ModifiedWithin_NumbersAreDays_NeverTicks()
        {
            Assert.Equal(TimeSpan.FromHours(12), ModifiedWithin.Parse("12h"));
            Assert.Equal(TimeSpan.FromDays(30), ModifiedWithin.Parse("30d"));
            Assert.Equal(TimeSpan.FromDays(30), ModifiedWithin.Parse(30));
            Assert.Equal(TimeSpan.FromDays(30), ModifiedWithin.Parse(30m));   // PowerShell reads 30d as decimal 30
            Assert.Equal(TimeSpan.FromDays(14), ModifiedWithin.Parse("2w"));
            Assert.Equal(TimeSpan.FromMinutes(90), ModifiedWithin.Parse(TimeSpan.FromMinutes(90)));
            Assert.Throws<NekkBackupException>(() => ModifiedWithin.Parse(TimeSpan.Zero));
        }
    }
}
