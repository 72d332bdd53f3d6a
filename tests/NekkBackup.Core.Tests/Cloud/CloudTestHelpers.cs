using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using Amazon.S3;
using Amazon.S3.Model;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;

namespace NekkBackup.Core.Tests.Cloud
{
    public sealed class RecordingObserver : IRunObserver
    {
        public ConcurrentQueue<string> Messages { get; } = new();
        public ConcurrentQueue<(string Item, NekkBackupException Error)> Failures { get; } = new();
        public void Progress(RunProgress progress) { }
        public void Message(RunMessageLevel level, string text) => Messages.Enqueue(level + ": " + text);
        public void ItemFailed(string item, NekkBackupException error) => Failures.Enqueue((item, error));
        public string FailureText => string.Join("\n", Failures.Select(f => f.Item + ": " + f.Error.ErrorId + " " + f.Error.Message));
    }

    public static class CloudTestHelpers
    {
        /// <summary>A file of pseudo-random bytes (incompressible, deterministic per seed).</summary>
        public static string MakeFile(string path, long size, int seed)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var rng = new Random(seed);
            var buf = new byte[1 << 20];
            using var fs = File.Create(path);
            long left = size;
            while (left > 0)
            {
                rng.NextBytes(buf);
                int n = (int)Math.Min(buf.Length, left);
                fs.Write(buf, 0, n);
                left -= n;
            }
            return path;
        }

        public static string Sha256File(string path)
        {
            using var s = File.OpenRead(path);
            return Convert.ToHexString(SHA256.HashData(s)).ToLowerInvariant();
        }

        /// <summary>Reads an object back with a plain SDK client and returns (SHA-256, length).</summary>
        public static (string Hash, long Length) ReadBack(IAmazonS3 s3, string bucket, string key)
        {
            using var resp = s3.GetObjectAsync(new GetObjectRequest { BucketName = bucket, Key = key }).GetAwaiter().GetResult();
            using var sha = SHA256.Create();
            var buf = new byte[1 << 20];
            long len = 0;
            int n;
            while ((n = resp.ResponseStream.Read(buf, 0, buf.Length)) > 0)
            {
                sha.TransformBlock(buf, 0, n, null, 0);
                len += n;
            }
            sha.TransformFinalBlock(buf, 0, 0);
            return (Convert.ToHexString(sha.Hash!).ToLowerInvariant(), len);
        }

        /// <summary>Every object under <paramref name="prefix"/>, listed with a plain SDK client (paged).</summary>
        public static List<S3Object> ListObjects(this S3rverFixture s3, string bucket, string prefix)
        {
            using var client = s3.Client();
            var all = new List<S3Object>();
            string? token = null;
            do
            {
                var page = client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, Prefix = prefix, ContinuationToken = token }).GetAwaiter().GetResult();
                all.AddRange(page.S3Objects ?? new List<S3Object>());
                token = page.IsTruncated == true ? page.NextContinuationToken : null;
            }
            while (token != null);
            return all;
        }

        /// <summary>
        /// Makes every object of the bucket <paramref name="age"/> old as the server itself reports it: s3rver's
        /// Last-Modified is the mtime of its &lt;key&gt;._S3rver_object file, so the files are back-dated.
        /// </summary>
        public static void AgeObjects(this S3rverFixture s3, string bucket, TimeSpan age, string? keyPrefix = null)
        {
            var root = Path.Combine(s3.DataDirectory, bucket);
            var when = DateTime.UtcNow - age;
            foreach (var f in Directory.EnumerateFiles(root, "*._S3rver_object", SearchOption.AllDirectories))
            {
                var key = Path.GetRelativePath(root, f).Replace(Path.DirectorySeparatorChar, '/');
                if (keyPrefix == null || key.StartsWith(keyPrefix, StringComparison.Ordinal)) File.SetLastWriteTimeUtc(f, when);
            }
        }

        /// <summary>Digest of a tree with the root folder's name prefixed, as manifest paths are.</summary>
        public static Dictionary<string, string> DigestWithRoot(string root) =>
            TestKit.StudioData.Digest(root).ToDictionary(kv => Path.GetFileName(root) + "/" + kv.Key, kv => kv.Value, StringComparer.Ordinal);
    }
}
