namespace NekkBackup
{
    /// <summary>One plugin or licence tool compared between an image and this machine or another image (Compare-NekkPluginInventory).</summary>
    public sealed class PluginComparison
    {
        /// <summary>VST2, VST3, AAX, CLAP, AU — or AuthorizationTool for a licence manager (iLok License Manager, Waves Central…).</summary>
        public string Kind { get; init; } = "";
        public string Name { get; init; } = "";
        public string? Vendor { get; init; }
        /// <summary>The version recorded in the image (null when the image does not have it, or it was unreadable).</summary>
        public string? ImageVersion { get; init; }
        /// <summary>The version on this machine or in the reference image.</summary>
        public string? OtherVersion { get; init; }
        /// <summary>Same, Missing (in the image, not on the other side: reinstall it), Extra (only on the other side) or Different (versions differ).</summary>
        public string Status { get; init; } = "";
        public string ImageId { get; init; } = "";
        /// <summary>"this machine (host)" or the reference image's id.</summary>
        public string Other { get; init; } = "";
        public string? ImagePath { get; init; }
        public string? OtherPath { get; init; }

        public override string ToString() => $"{Status} {Kind} {Name}";
    }
}
