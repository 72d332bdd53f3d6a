using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text.Json;

namespace NekkBackup.Core.Tests.Review
{
    /// <summary>
    /// What Windows PowerShell 5.1 would fail to load: every assembly reference of every assembly the net472 build ships
    /// (desktop/dependencies = Core's net472 runtime closure, read from its project.assets.json) must be satisfied by a
    /// shipped assembly of at least that version or by .NET Framework 4.7.2 itself (its reference assemblies and
    /// facades). The hosts provide Microsoft.Management.Infrastructure and System.Management.Automation.
    /// </summary>
    internal static class Net472Closure
    {
        private const string Target = "net472"; // the target alias NuGet uses in project.assets.json
        private static readonly string[] HostProvided = { "Microsoft.Management.Infrastructure", "System.Management.Automation" };

        public static string RepoRoot
        {
            get
            {
                var d = new DirectoryInfo(AppContext.BaseDirectory);
                while (d != null && !File.Exists(Path.Combine(d.FullName, "NekkBackup.sln"))) d = d.Parent;
                return d?.FullName ?? throw new InvalidOperationException("NekkBackup.sln not found above " + AppContext.BaseDirectory);
            }
        }

        public static List<string> Missing()
        {
            var assets = Path.Combine(RepoRoot, "src", "NekkBackup.Core", "obj", "project.assets.json");
            using var doc = JsonDocument.Parse(File.ReadAllBytes(assets));
            var root = doc.RootElement;
            var packageFolder = root.GetProperty("packageFolders").EnumerateObject().First().Name;
            var libraries = root.GetProperty("libraries");
            var shipped = new Dictionary<string, (string Path, Version Version)>(StringComparer.OrdinalIgnoreCase);
            string? framework = null;
            foreach (var lib in root.GetProperty("targets").GetProperty(Target).EnumerateObject())
            {
                var libPath = libraries.GetProperty(lib.Name).TryGetProperty("path", out var p) ? p.GetString() : null;
                if (libPath == null) continue;
                if (lib.Name.StartsWith("Microsoft.NETFramework.ReferenceAssemblies.net472/", StringComparison.OrdinalIgnoreCase))
                    framework = Path.Combine(packageFolder, libPath, "build", ".NETFramework", "v4.7.2");
                if (!lib.Value.TryGetProperty("runtime", out var runtime)) continue;
                foreach (var file in runtime.EnumerateObject())
                {
                    if (!file.Name.EndsWith(".dll", StringComparison.OrdinalIgnoreCase)) continue;
                    var full = Path.Combine(packageFolder, libPath, file.Name);
                    shipped[Path.GetFileNameWithoutExtension(full)] = (full, AssemblyName.GetAssemblyName(full).Version!);
                }
            }
            if (framework == null) throw new InvalidOperationException("No .NET Framework 4.7.2 reference assemblies in " + assets);
            var fx = new HashSet<string>(Directory.GetFiles(framework, "*.dll").Concat(Directory.GetFiles(Path.Combine(framework, "Facades"), "*.dll"))
                .Select(Path.GetFileNameWithoutExtension)!, StringComparer.OrdinalIgnoreCase);
            if (shipped.Count < 10 || fx.Count < 100) throw new InvalidOperationException($"Implausible closure: {shipped.Count} shipped, {fx.Count} framework assemblies.");

            var missing = new List<string>();
            foreach (var (name, (path, _)) in shipped)
            {
                foreach (var (refName, refVersion) in References(path))
                {
                    if (fx.Contains(refName) || HostProvided.Contains(refName, StringComparer.OrdinalIgnoreCase)) continue;
                    if (!shipped.TryGetValue(refName, out var have)) missing.Add($"{name} -> {refName} {refVersion}: not shipped");
                    else if (have.Version < refVersion) missing.Add($"{name} -> {refName} {refVersion}: only {have.Version} ships");
                }
            }
            return missing;
        }

        private static IEnumerable<(string Name, Version Version)> References(string path)
        {
            using var fs = File.OpenRead(path);
            using var pe = new PEReader(fs);
            var md = pe.GetMetadataReader();
            return md.AssemblyReferences.Select(h => md.GetAssemblyReference(h)).Select(r => (md.GetString(r.Name), r.Version)).ToList();
        }
    }
}
