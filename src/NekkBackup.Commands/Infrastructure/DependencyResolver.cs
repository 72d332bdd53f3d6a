using System;
using System.IO;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Threading;
#if NET
using System.Collections.Generic;
using System.Runtime.Loader;
#endif

namespace NekkBackup.Commands.Infrastructure
{
    /// <summary>
    /// Dependency isolation (STYLE.md §3.9, the "bridge"): this assembly sits in PowerShell's default
    /// load context and references only NekkBackup.Core. Core and its dependencies (Serilog, Polly,
    /// AWSSDK…) live in ./dependencies and load into a private AssemblyLoadContext on PowerShell 7, so
    /// another module's Serilog or AWSSDK in the session cannot clash with ours. On Windows PowerShell
    /// 5.1 an AssemblyResolve handler scoped to ./dependencies does the resolving.
    /// NekkBackup.psm1 calls <see cref="Register"/> before importing the cmdlets (PowerShell reflects
    /// over parameter types, some of which live in Core); a module initializer registers it too.
    /// </summary>
    public static class DependencyResolver
    {
        private static int s_registered;

        private static string DependencyDirectory { get; } =
            Path.Combine(Path.GetDirectoryName(typeof(DependencyResolver).Assembly.Location) ?? ".", "dependencies");

#pragma warning disable CA2255 // deliberate: a library module initializer is how the resolver is in place before PowerShell reflects over the cmdlets
        [ModuleInitializer]
#pragma warning restore CA2255
        public static void Register()
        {
            if (Interlocked.Exchange(ref s_registered, 1) == 1) return;
#if NET
            var context = new NekkLoadContext(DependencyDirectory);
            AssemblyLoadContext.Default.Resolving += (_, name) =>
                string.Equals(name.Name, "NekkBackup.Core", StringComparison.Ordinal) ? context.LoadFromAssemblyName(name) : null;
#else
            AppDomain.CurrentDomain.AssemblyResolve += (_, e) =>
            {
                var name = new AssemblyName(e.Name);
                var path = Path.Combine(DependencyDirectory, name.Name + ".dll");
                return File.Exists(path) ? Assembly.LoadFrom(path) : null;
            };
#endif
        }

#if NET
        /// <summary>Owns ./dependencies. Framework assemblies (in the host's TPA list) are shared with PowerShell.</summary>
        private sealed class NekkLoadContext : AssemblyLoadContext
        {
            private static readonly HashSet<string> s_platform = LoadPlatformNames();
            private readonly string _directory;

            public NekkLoadContext(string directory)
                : base("NekkBackup", isCollectible: false)
            {
                _directory = directory;
            }

            protected override Assembly? Load(AssemblyName assemblyName)
            {
                if (assemblyName.Name is null || s_platform.Contains(assemblyName.Name)) return null;
                var path = Path.Combine(_directory, assemblyName.Name + ".dll");
                return File.Exists(path) ? LoadFromAssemblyPath(path) : null;
            }

            private static HashSet<string> LoadPlatformNames()
            {
                var set = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
                var tpa = AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") as string ?? string.Empty;
                foreach (var file in tpa.Split(Path.PathSeparator))
                {
                    var name = Path.GetFileNameWithoutExtension(file);
                    // Only the runtime's own assemblies are shared; PowerShell's copies of libraries we ship are not.
                    if (name.StartsWith("System.", StringComparison.OrdinalIgnoreCase) || name.StartsWith("Microsoft.", StringComparison.OrdinalIgnoreCase)
                        || name.Equals("netstandard", StringComparison.OrdinalIgnoreCase) || name.Equals("mscorlib", StringComparison.OrdinalIgnoreCase))
                        set.Add(name);
                }
                return set;
            }
        }
#endif
    }
}
