using System;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using Amazon.S3;
using Amazon.S3.Model;
using NekkBackup.Core.Cloud;
using NekkBackup.Core.Tests.TestKit;
using Xunit;

namespace NekkBackup.Core.Tests.Cloud
{
    /// <summary>
    /// A real s3rver 3.7.1 (npm) on 127.0.0.1 and a free port, started once for the Cloud test collection.
    /// Installed on first use with `npm install --prefix $HOME/.cache/nekkbackup-s3rver s3rver@3.7.1`
    /// (NEKKBACKUP_S3RVER may point at s3rver.js instead). Node 17+ needs --openssl-legacy-provider: s3rver
    /// builds ListObjectsV2 continuation tokens with a cipher OpenSSL 3 no longer offers by default (500 otherwise).
    /// </summary>
    public sealed class S3rverFixture : IDisposable
    {
        public const string AccessKey = "S3RVER";
        public const string SecretKey = "S3RVER";
        public const string DefaultBucket = "nekk";
        private readonly Process _process;
        private readonly TempDir _data;
        private int _bucketCounter;

        public S3rverFixture()
        {
            var script = Locate();
            _data = new TempDir("s3rver");
            Port = FreePort();
            var psi = new ProcessStartInfo("node")
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            var logPath = Environment.GetEnvironmentVariable("NEKKBACKUP_S3RVER_LOG");
            foreach (var a in new[] { "--openssl-legacy-provider", script, "-d", _data.Path, "-p", Port.ToString(), "-a", "127.0.0.1", "--configure-bucket", DefaultBucket })
                psi.ArgumentList.Add(a);
            if (string.IsNullOrEmpty(logPath)) psi.ArgumentList.Add("-s");
            _process = Process.Start(psi)!;
            var log = string.IsNullOrEmpty(logPath) ? null : new StreamWriter(logPath!, append: false) { AutoFlush = true };
            _process.OutputDataReceived += (_, e) => { if (e.Data != null && log != null) lock (log) log.WriteLine(e.Data); };
            _process.ErrorDataReceived += (_, e) => { if (e.Data != null && log != null) lock (log) log.WriteLine(e.Data); };
            _process.BeginOutputReadLine();
            _process.BeginErrorReadLine();
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (true)
            {
                if (_process.HasExited) throw new InvalidOperationException($"s3rver exited with {_process.ExitCode} at start-up");
                try
                {
                    using var c = new TcpClient();
                    c.Connect(IPAddress.Loopback, Port);
                    break;
                }
                catch (SocketException) when (DateTime.UtcNow < deadline)
                {
                    Thread.Sleep(100);
                }
            }
        }

        public int Port { get; }
        public string Endpoint => $"http://127.0.0.1:{Port}";
        public string DataDirectory => _data.Path;

        public static string Locate()
        {
            var env = Environment.GetEnvironmentVariable("NEKKBACKUP_S3RVER");
            if (!string.IsNullOrEmpty(env) && File.Exists(env)) return env!;
            var cache = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "nekkbackup-s3rver");
            var script = Path.Combine(cache, "node_modules", "s3rver", "bin", "s3rver.js");
            if (File.Exists(script)) return script;
            Directory.CreateDirectory(cache);
            ProcessHelper.Check("npm", $"install --no-audit --no-fund --prefix \"{cache}\" s3rver@3.7.1", 300);
            if (!File.Exists(script)) throw new InvalidOperationException("npm did not install s3rver into " + cache);
            return script;
        }

        public static int FreePort()
        {
            var l = new TcpListener(IPAddress.Loopback, 0);
            l.Start();
            int port = ((IPEndPoint)l.LocalEndpoint).Port;
            l.Stop();
            return port;
        }

        public CloudTarget Target(string bucket, string? endpoint = null, string prefix = "studio", TimeSpan? timeout = null) => new()
        {
            Bucket = bucket, Prefix = prefix, Endpoint = endpoint ?? Endpoint, AccessKey = AccessKey, SecretKey = SecretKey,
            Host = "testhost", RequestTimeout = timeout ?? TimeSpan.FromSeconds(30),
            RetryFirstDelay = TimeSpan.FromMilliseconds(50), RetryMaxDelay = TimeSpan.FromMilliseconds(500),
        };

        /// <summary>A fresh bucket for one test.</summary>
        public string NewBucket()
        {
            var name = "t" + Interlocked.Increment(ref _bucketCounter) + "-" + Guid.NewGuid().ToString("N").Substring(0, 8);
            using var s3 = Client();
            s3.PutBucketAsync(new PutBucketRequest { BucketName = name }).GetAwaiter().GetResult();
            return name;
        }

        public IAmazonS3 Client() => CloudClient.CreateClient(Target(DefaultBucket));

        /// <summary>
        /// s3rver answers CompleteMultipartUpload before it has finished writing the object's file (field-notes.md):
        /// waits until the object reports its full length, so a test reads what was uploaded, not s3rver's race.
        /// </summary>
        public void WaitSettled(string bucket, string key, long length)
        {
            using var s3 = Client();
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (s3.GetObjectMetadataAsync(bucket, key).GetAwaiter().GetResult().ContentLength != length && DateTime.UtcNow < deadline)
                Thread.Sleep(20);
        }

        public void Dispose()
        {
            try { if (!_process.HasExited) _process.Kill(true); _process.WaitForExit(5000); } catch { }
            _process.Dispose();
            _data.Dispose();
        }
    }

    [CollectionDefinition("s3rver")]
    public sealed class S3rverCollection : ICollectionFixture<S3rverFixture>
    {
    }
}
