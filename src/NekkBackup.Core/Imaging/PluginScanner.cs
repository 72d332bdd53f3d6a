using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Xml;

namespace NekkBackup.Core.Imaging
{
    /// <summary>
    /// Scans the platform's plugin folders (or an override list: options, or NEKKBACKUP_PLUGIN_PATHS separated
    /// by the path separator) for VST2/VST3/AAX/CLAP/AU plugins, reading name/version/vendor from VST3
    /// moduleinfo.json, bundle Info.plist or (Windows) the DLL's version resource; and looks for the licence
    /// tools studios depend on where Windows and macOS install them — on this machine, or under a tool root
    /// (NEKKBACKUP_TOOL_ROOT, or the caller's) standing for a system drive: &lt;root&gt;/Program Files/…,
    /// &lt;root&gt;/Program Files (x86)/…, &lt;root&gt;/Applications/…. Never throws: an unreadable plugin is listed
    /// with what is known.
    /// </summary>
    public static class PluginScanner
    {
        public const string PathsVariable = "NEKKBACKUP_PLUGIN_PATHS";
        public const string ToolRootVariable = "NEKKBACKUP_TOOL_ROOT";
        private const int MaxDepth = 5;
        private const int MaxPlugins = 20000;

        public static PluginInventory Scan(IReadOnlyList<string>? folders = null, string? toolRoot = null)
        {
            toolRoot ??= Environment.GetEnvironmentVariable(ToolRootVariable);
            if (string.IsNullOrWhiteSpace(toolRoot)) toolRoot = null;
            var list = folders?.Count > 0 ? folders.ToList() : FromEnvironment() ?? DefaultFolders();
            var plugins = new List<PluginInfo>();
            var seen = new HashSet<string>(OperatingSystemInfo.IsWindows ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal);
            foreach (var f in list)
            {
                try { if (Directory.Exists(f)) Walk(f, FormatOfFolder(f), 0, plugins, seen); }
                catch (Exception e) when (e is IOException || e is UnauthorizedAccessException) { }
            }
            plugins.Sort((a, b) => string.Compare(a.Format + "/" + a.Name, b.Format + "/" + b.Name, StringComparison.OrdinalIgnoreCase));
            return new PluginInventory
            {
                Host = OperatingSystemInfo.HostName,
                Scanned = DateTime.UtcNow,
                Folders = list.ToArray(),
                Plugins = plugins.ToArray(),
                AuthorizationTools = (toolRoot != null ? DetectAuthorizationTools(toolRoot) : DetectAuthorizationTools(File.Exists, Directory.Exists)).ToArray(),
            };
        }

        private static List<string>? FromEnvironment()
        {
            var env = Environment.GetEnvironmentVariable(PathsVariable);
            if (string.IsNullOrWhiteSpace(env)) return null;
            return env!.Split(new[] { Path.PathSeparator }, StringSplitOptions.RemoveEmptyEntries).ToList();
        }

        public static List<string> DefaultFolders()
        {
            var l = new List<string>();
            if (OperatingSystemInfo.IsWindows)
            {
                var pf = Environment.GetFolderPath(Environment.SpecialFolder.ProgramFiles);
                var pf86 = Environment.GetFolderPath(Environment.SpecialFolder.ProgramFilesX86);
                var cf = Environment.GetFolderPath(Environment.SpecialFolder.CommonProgramFiles);
                var cf86 = Environment.GetFolderPath(Environment.SpecialFolder.CommonProgramFilesX86);
                var local = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
                foreach (var c in new[] { cf, cf86 }.Where(x => !string.IsNullOrEmpty(x)).Distinct())
                {
                    l.Add(Path.Combine(c, "VST3"));
                    l.Add(Path.Combine(c, "CLAP"));
                    l.Add(Path.Combine(c, "VST2"));
                    l.Add(Path.Combine(c, "Steinberg", "VST2"));
                    l.Add(Path.Combine(c, "Avid", "Audio", "Plug-Ins"));
                }
                foreach (var p in new[] { pf, pf86 }.Where(x => !string.IsNullOrEmpty(x)).Distinct())
                {
                    l.Add(Path.Combine(p, "VSTPlugins"));
                    l.Add(Path.Combine(p, "Steinberg", "VSTPlugins"));
                    l.Add(Path.Combine(p, "Vstplugins"));
                }
                if (!string.IsNullOrEmpty(local)) l.Add(Path.Combine(local, "Programs", "Common", "CLAP"));
            }
            else if (OperatingSystemInfo.IsMacOS)
            {
                var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
                foreach (var root in new[] { "/Library/Audio/Plug-Ins", Path.Combine(home, "Library/Audio/Plug-Ins") })
                    foreach (var sub in new[] { "VST", "VST3", "Components", "CLAP" }) l.Add(Path.Combine(root, sub));
                l.Add("/Library/Application Support/Avid/Audio/Plug-Ins");
            }
            else
            {
                var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
                foreach (var kind in new[] { "vst3", "clap", "vst", "lxvst" })
                {
                    if (!string.IsNullOrEmpty(home)) l.Add(Path.Combine(home, "." + kind));
                    l.Add("/usr/lib/" + kind);
                    l.Add("/usr/local/lib/" + kind);
                }
            }
            return l.Distinct().ToList();
        }

        private static string? FormatOfFolder(string folder)
        {
            var n = folder.Replace('\\', '/').ToLowerInvariant();
            if (n.Contains("vst3")) return "VST3";
            if (n.Contains("clap")) return "CLAP";
            if (n.Contains("avid") || n.Contains("aax")) return "AAX";
            if (n.EndsWith("/components", StringComparison.Ordinal)) return "AU";
            if (n.Contains("vst")) return "VST2";
            return null;
        }

        internal static string? FormatOf(string path, bool isDirectory, string? folderFormat)
        {
            var ext = Path.GetExtension(path).ToLowerInvariant();
            switch (ext)
            {
                case ".vst3": return "VST3";
                case ".clap": return "CLAP";
                case ".aaxplugin": return "AAX";
                case ".component": return "AU";
                case ".vst": return "VST2";
                case ".dll":
                case ".so":
                    return isDirectory ? null : folderFormat == null || folderFormat == "VST2" ? "VST2" : null;
            }
            return null;
        }

        private static void Walk(string dir, string? folderFormat, int depth, List<PluginInfo> plugins, HashSet<string> seen)
        {
            if (depth > MaxDepth || plugins.Count >= MaxPlugins) return;
            IEnumerable<string> entries;
            try { entries = Directory.EnumerateFileSystemEntries(dir).ToList(); }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException) { return; }
            foreach (var e in entries)
            {
                bool isDir = Directory.Exists(e);
                var format = FormatOf(e, isDir, folderFormat);
                if (format != null)
                {
                    if (seen.Add(Path.GetFullPath(e))) plugins.Add(Describe(e, format, isDir));
                }
                else if (isDir) Walk(e, folderFormat, depth + 1, plugins, seen);
            }
        }

        internal static PluginInfo Describe(string path, string format, bool isBundle)
        {
            string name = Path.GetFileNameWithoutExtension(path);
            string? version = null, vendor = null;
            try
            {
                if (isBundle)
                {
                    var moduleInfo = Path.Combine(path, "Contents", "moduleinfo.json");
                    if (File.Exists(moduleInfo)) ReadModuleInfo(moduleInfo, ref name, ref version, ref vendor);
                    var plist = Path.Combine(path, "Contents", "Info.plist");
                    if (File.Exists(plist)) ReadPlist(plist, ref name, ref version, ref vendor);
                }
                else if (OperatingSystemInfo.IsWindows && format != "CLAP" && path.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".vst3", StringComparison.OrdinalIgnoreCase) && OperatingSystemInfo.IsWindows)
                {
                    var fvi = FileVersionInfo.GetVersionInfo(path);
                    if (!string.IsNullOrWhiteSpace(fvi.ProductVersion)) version = fvi.ProductVersion!.Trim();
                    if (!string.IsNullOrWhiteSpace(fvi.CompanyName)) vendor = fvi.CompanyName!.Trim();
                    if (!string.IsNullOrWhiteSpace(fvi.ProductName)) name = fvi.ProductName!.Trim();
                }
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is JsonException || e is XmlException || e is FormatException) { }
            return new PluginInfo { Format = format, Name = name, Version = version, Vendor = vendor, Path = path };
        }

        // VST3 SDK moduleinfo.json (JSON5-ish: comments and trailing commas allowed).
        private static void ReadModuleInfo(string file, ref string name, ref string? version, ref string? vendor)
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(file), new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            var root = doc.RootElement;
            if (root.TryGetProperty("Name", out var n) && n.ValueKind == JsonValueKind.String) name = n.GetString() ?? name;
            if (root.TryGetProperty("Version", out var v) && v.ValueKind == JsonValueKind.String) version = v.GetString();
            if (root.TryGetProperty("Factory Info", out var fi) && fi.ValueKind == JsonValueKind.Object
                && fi.TryGetProperty("Vendor", out var ve) && ve.ValueKind == JsonValueKind.String) vendor = ve.GetString();
        }

        // Apple Info.plist (XML): CFBundleName, CFBundleShortVersionString/CFBundleVersion, vendor from CFBundleIdentifier.
        private static void ReadPlist(string file, ref string name, ref string? version, ref string? vendor)
        {
            var settings = new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore, XmlResolver = null };
            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            using (var r = XmlReader.Create(file, settings))
            {
                string? key = null;
                r.Read();
                while (!r.EOF)
                {
                    if (r.NodeType == XmlNodeType.Element && r.Depth == 2)
                    {
                        if (r.Name == "key") { key = r.ReadElementContentAsString(); continue; }
                        if (r.Name == "string" && key != null) { values[key] = r.ReadElementContentAsString(); key = null; continue; }
                        key = null;
                    }
                    r.Read();
                }
            }
            if (values.TryGetValue("CFBundleName", out var n) && n.Length > 0) name = n;
            if (version == null && values.TryGetValue("CFBundleShortVersionString", out var sv) && sv.Length > 0) version = sv;
            if (version == null && values.TryGetValue("CFBundleVersion", out var bv) && bv.Length > 0) version = bv;
            if (vendor == null && values.TryGetValue("CFBundleIdentifier", out var id))
            {
                var parts = id.Split('.');
                if (parts.Length >= 2) vendor = parts[1];
            }
        }

        /// <summary>Licence / authorisation tools: name → where each platform installs it.</summary>
        internal static readonly (string name, string[] windows, string[] mac)[] KnownTools =
        {
            ("iLok License Manager", new[] { @"%ProgramFiles%\iLok License Manager\iLok License Manager.exe", @"%ProgramFiles(x86)%\iLok License Manager\iLok License Manager.exe" }, new[] { "/Applications/iLok License Manager.app" }),
            ("Waves Central", new[] { @"%ProgramFiles%\Waves Central\Waves Central.exe", @"%ProgramFiles(x86)%\Waves Central\Waves Central.exe" }, new[] { "/Applications/Waves Central.app" }),
            ("Native Access", new[] { @"%ProgramFiles%\Native Instruments\Native Access\Native Access.exe" }, new[] { "/Applications/Native Access.app" }),
            ("Steinberg Activation Manager", new[] { @"%ProgramFiles%\Steinberg\Activation Manager\SteinbergActivationManager.exe" }, new[] { "/Applications/Steinberg Activation Manager.app" }),
            ("eLicenser Control Center", new[] { @"%ProgramFiles(x86)%\eLicenser\eLicenserControlCenter.exe", @"%ProgramFiles%\eLicenser\eLicenserControlCenter.exe" }, new[] { "/Applications/eLicenser Control Center.app" }),
            ("Avid Link", new[] { @"%ProgramFiles%\Avid\Avid Link\AvidLink.exe" }, new[] { "/Applications/Avid Link.app" }),
            ("Plugin Alliance Installation Manager", new[] { @"%ProgramFiles%\Plugin Alliance\Installation Manager\Plugin Alliance Installation Manager.exe" }, new[] { "/Applications/Plugin Alliance Installation Manager.app" }),
            ("Arturia Software Center", new[] { @"%ProgramFiles%\Arturia\Arturia Software Center\Arturia Software Center.exe" }, new[] { "/Applications/Arturia Software Center.app" }),
            ("iZotope Product Portal", new[] { @"%ProgramFiles%\iZotope\Product Portal\iZotope Product Portal.exe" }, new[] { "/Applications/iZotope Product Portal.app" }),
            ("UA Connect", new[] { @"%ProgramFiles%\Universal Audio\UA Connect\UA Connect.exe" }, new[] { "/Applications/UA Connect.app" }),
            ("Softube Central", new[] { @"%ProgramFiles%\Softube\Softube Central\Softube Central.exe" }, new[] { "/Applications/Softube Central.app" }),
            ("Slate Digital Connect", new[] { @"%ProgramFiles%\Slate Digital\Slate Digital Connect\Slate Digital Connect.exe" }, new[] { "/Applications/Slate Digital Connect.app" }),
            ("Spitfire Audio", new[] { @"%ProgramFiles%\Spitfire Audio\Spitfire Audio.exe" }, new[] { "/Applications/Spitfire Audio.app" }),
        };

        /// <summary>The licence tools found under <paramref name="root"/> laid out like a Windows or macOS system drive.</summary>
        internal static IEnumerable<AuthorizationTool> DetectAuthorizationTools(string root)
        {
            string Map(string p) => p
                .Replace("%ProgramFiles(x86)%", Path.Combine(root, "Program Files (x86)"))
                .Replace("%ProgramFiles%", Path.Combine(root, "Program Files"))
                .Replace('\\', Path.DirectorySeparatorChar);
            foreach (var (name, win, mac) in KnownTools)
            {
                foreach (var c in win.Select(Map).Concat(mac.Select(m => Path.Combine(root, m.TrimStart('/').Replace('/', Path.DirectorySeparatorChar)))))
                {
                    if (!File.Exists(c) && !Directory.Exists(c)) continue;
                    yield return new AuthorizationTool { Name = name, Path = c, Version = ToolVersion(c) };
                    break;
                }
            }
        }

        /// <summary>A tool's version: the Windows version resource of an .exe, or an .app bundle's Info.plist.</summary>
        private static string? ToolVersion(string path)
        {
            try
            {
                if (Directory.Exists(path))
                {
                    var plist = Path.Combine(path, "Contents", "Info.plist");
                    if (!File.Exists(plist)) return null;
                    string name = "";
                    string? version = null, vendor = null;
                    ReadPlist(plist, ref name, ref version, ref vendor);
                    return version;
                }
                if (OperatingSystemInfo.IsWindows) return FileVersionInfo.GetVersionInfo(path).ProductVersion;
            }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException || e is XmlException) { }
            return null;
        }

        internal static IEnumerable<AuthorizationTool> DetectAuthorizationTools(Func<string, bool> fileExists, Func<string, bool> dirExists)
        {
            foreach (var (name, win, mac) in KnownTools)
            {
                var candidates = OperatingSystemInfo.IsWindows ? win.Select(Environment.ExpandEnvironmentVariables) : OperatingSystemInfo.IsMacOS ? mac : Array.Empty<string>();
                foreach (var c in candidates)
                {
                    if (c.IndexOf('%') >= 0) continue; // variable not set
                    if (fileExists(c) || dirExists(c))
                    {
                        string? version = null;
                        try
                        {
                            if (OperatingSystemInfo.IsWindows && fileExists(c)) version = FileVersionInfo.GetVersionInfo(c).ProductVersion;
                        }
                        catch (Exception e) when (e is IOException || e is UnauthorizedAccessException) { }
                        yield return new AuthorizationTool { Name = name, Path = c, Version = version };
                        break;
                    }
                }
            }
        }
    }
}
