using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using NekkBackup.SampleData;

namespace NekkBackup.Core.Tests.TestKit
{
    /// <summary>
    /// The project's studio dataset generator (tests/NekkBackup.SampleData) and independent digests of trees:
    /// tests compare the product's results against these, never against the product itself.
    /// </summary>
    public static class StudioData
    {
        /// <summary>Generates a deterministic studio tree of about <paramref name="sizeMb"/> MiB.</summary>
        public static string Generate(string dir, int sizeMb, int seed = 1)
        {
            StudioGenerator.Generate(dir, sizeMb, seed);
            return dir;
        }

        /// <summary>Mutates about <paramref name="percent"/> % of the files (new seed for each call).</summary>
        public static void Mutate(string dir, int percent, int seed) => StudioGenerator.Mutate(dir, percent, seed);

        /// <summary>relative path ('/' separated) → SHA-256 hex of every regular file under <paramref name="root"/>.</summary>
        public static Dictionary<string, string> Digest(string root)
        {
            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var f in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
            {
                var info = new FileInfo(f);
                if (info.LinkTarget != null) continue;
                var rel = Path.GetRelativePath(root, f).Replace('\\', '/');
                using var s = File.OpenRead(f);
                result[rel] = Convert.ToHexString(SHA256.HashData(s)).ToLowerInvariant();
            }
            return result;
        }

        /// <summary>Copies a tree (contents and mtimes) with plain .NET calls, as a reference snapshot.</summary>
        public static void CopyTree(string from, string to)
        {
            foreach (var f in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
            {
                var rel = Path.GetRelativePath(from, f);
                var dst = Path.Combine(to, rel);
                Directory.CreateDirectory(Path.GetDirectoryName(dst)!);
                File.Copy(f, dst, true);
                File.SetLastWriteTimeUtc(dst, File.GetLastWriteTimeUtc(f));
            }
        }

        /// <summary>Differences between two digests, for readable assertion messages.</summary>
        public static string Diff(IReadOnlyDictionary<string, string> expected, IReadOnlyDictionary<string, string> actual)
        {
            var lines = new List<string>();
            foreach (var kv in expected)
                if (!actual.TryGetValue(kv.Key, out var h)) lines.Add("missing: " + kv.Key);
                else if (h != kv.Value) lines.Add("differs: " + kv.Key);
            foreach (var k in actual.Keys.Where(k => !expected.ContainsKey(k))) lines.Add("extra: " + k);
            return string.Join("\n", lines.Take(20)) + (lines.Count > 20 ? $"\n… {lines.Count - 20} more" : "");
        }
    }
}
