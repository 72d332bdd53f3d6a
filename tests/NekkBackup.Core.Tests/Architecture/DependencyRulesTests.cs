using System;
using System.IO;
using System.Linq;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using Xunit;

namespace NekkBackup.Core.Tests.Architecture
{
    /// <summary>
    /// STYLE.md §2 dependency rules, read from the built assemblies' metadata:
    /// 1. Core never references System.Management.Automation.
    /// 2. Commands references NekkBackup.Core and the framework only — never Serilog, Polly or AWSSDK,
    ///    MailKit or MimeKit, which live in the isolated load context.
    /// </summary>
    public class DependencyRulesTests
    {
        private static string[] References(string assemblyPath)
        {
            using var stream = File.OpenRead(assemblyPath);
            using var pe = new PEReader(stream);
            var md = pe.GetMetadataReader();
            return md.AssemblyReferences.Select(h => md.GetString(md.GetAssemblyReference(h).Name)).ToArray();
        }

        private static string Built(string project, string tfm)
        {
            // tests/NekkBackup.Core.Tests/bin/<Configuration>/<tfm>/ → repository root
            var baseDir = new DirectoryInfo(AppContext.BaseDirectory);
            var configuration = baseDir.Parent!.Name;
            var root = baseDir.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
            var path = Path.Combine(root, "src", project, "bin", configuration, tfm, project + ".dll");
            Assert.True(File.Exists(path), "not built: " + path);
            return path;
        }

        [Theory]
        [InlineData("net8.0")]
        [InlineData("net472")]
        public void Core_never_references_PowerShell(string tfm)
        {
            var refs = References(Built("NekkBackup.Core", tfm));
            Assert.DoesNotContain(refs, r => r.StartsWith("System.Management.Automation", StringComparison.Ordinal));
            Assert.DoesNotContain(refs, r => r.StartsWith("Microsoft.PowerShell", StringComparison.Ordinal));
        }

        [Theory]
        [InlineData("net8.0")]
        [InlineData("net472")]
        public void Commands_talk_only_to_Core(string tfm)
        {
            var refs = References(Built("NekkBackup.Commands", tfm));
            Assert.Contains("NekkBackup.Core", refs);
            Assert.Contains("System.Management.Automation", refs);
            var forbidden = refs.Where(r => r.StartsWith("Serilog", StringComparison.Ordinal) || r.StartsWith("Polly", StringComparison.Ordinal)
                || r.StartsWith("AWSSDK", StringComparison.Ordinal) || r.StartsWith("ZstdSharp", StringComparison.Ordinal)
                || r.StartsWith("MailKit", StringComparison.Ordinal) || r.StartsWith("MimeKit", StringComparison.Ordinal)).ToArray();
            Assert.Empty(forbidden);
        }
    }
}
