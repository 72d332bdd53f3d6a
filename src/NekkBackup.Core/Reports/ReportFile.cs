using System;

namespace NekkBackup
{
    /// <summary>What Export-NekkBackupReport wrote.</summary>
    public sealed class ReportFile
    {
        public string Path { get; init; } = "";
        /// <summary>Hosts in the report.</summary>
        public int Hosts { get; init; }
        /// <summary>The worst verdict in it: Safe, Attention, AtRisk or NotProtected.</summary>
        public string Verdict { get; init; } = "";
        /// <summary>The first host's headline (the whole verdict for a single plan).</summary>
        public string Headline { get; init; } = "";
        public int Days { get; init; }
        public long SizeBytes { get; init; }
        public TimeSpan Duration { get; init; }
        public DateTime Generated { get; init; }

        public override string ToString() => Path;
    }
}
