using System;

namespace NekkBackup
{
    /// <summary>The plugins and licence tools a machine had when an image was captured (PRODUCT.md §3.7).</summary>
    public sealed class PluginInventory
    {
        public string Host { get; init; } = "";
        public DateTime Scanned { get; init; }
        /// <summary>The folders that were looked at (whether or not they existed).</summary>
        public string[] Folders { get; init; } = Array.Empty<string>();
        public PluginInfo[] Plugins { get; init; } = Array.Empty<PluginInfo>();
        public AuthorizationTool[] AuthorizationTools { get; init; } = Array.Empty<AuthorizationTool>();
    }

    public sealed class PluginInfo
    {
        /// <summary>VST2, VST3, AAX, CLAP or AU.</summary>
        public string Format { get; init; } = "";
        public string Name { get; init; } = "";
        public string? Version { get; init; }
        public string? Vendor { get; init; }
        public string Path { get; init; } = "";

        public override string ToString() => $"{Format} {Name} {Version}".Trim();
    }

    /// <summary>A licence / authorisation manager found on the machine (iLok License Manager, Waves Central…).</summary>
    public sealed class AuthorizationTool
    {
        public string Name { get; init; } = "";
        public string Path { get; init; } = "";
        public string? Version { get; init; }

        public override string ToString() => Name;
    }
}
