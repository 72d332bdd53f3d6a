using System;
using System.IO;

namespace NekkBackup.Core.Tests.TestKit
{
    /// <summary>A scratch directory removed at dispose (under $NEKK_TEST_TMP or /tmp).</summary>
    public sealed class TempDir : IDisposable
    {
        public TempDir(string? prefix = null)
        {
            var root = Environment.GetEnvironmentVariable("NEKK_TEST_TMP") ?? System.IO.Path.GetTempPath();
            Path = System.IO.Path.Combine(root, (prefix ?? "nekk") + "-" + Guid.NewGuid().ToString("N").Substring(0, 10));
            Directory.CreateDirectory(Path);
        }

        public string Path { get; }

        public string Sub(string name)
        {
            var p = System.IO.Path.Combine(Path, name);
            Directory.CreateDirectory(p);
            return p;
        }

        public void Dispose()
        {
            try { Directory.Delete(Path, true); } catch { }
        }
    }
}
