using System;

namespace NekkBackup
{
    /// <summary>One host's published status, as Get-NekkFleetStatus reads it.</summary>
    public sealed class FleetHostStatus
    {
        public string Host { get; init; } = "";
        public string Plan { get; init; } = "";
        public bool Compliant { get; init; }
        /// <summary>Local time the host wrote the status.</summary>
        public DateTime Generated { get; init; }
        /// <summary>True when the status is older than the fleet's staleness limit (the host stopped reporting).</summary>
        public bool Stale { get; init; }
        public string[] Failing { get; init; } = Array.Empty<string>();
        public string[] Warnings { get; init; } = Array.Empty<string>();
        public DateTime? LastFolder { get; init; }
        public DateTime? LastCloud { get; init; }
        public DateTime? LastImage { get; init; }
        public DateTime? LastDrill { get; init; }
        public string LastRunStatus { get; init; } = "";
        /// <summary>The status file read.</summary>
        public string Source { get; init; } = "";

        public override string ToString() => $"{Host} {(Compliant ? "compliant" : "NONCOMPLIANT")}";
    }
}
