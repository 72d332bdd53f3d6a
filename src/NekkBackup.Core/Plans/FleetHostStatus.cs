using System;
using System.Collections.Generic;
using System.Linq;

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
        /// <summary>The one fleet bucket the host counts in: Stale (stopped reporting), else Failing (not compliant), else Warning (compliant with warnings), else Compliant.</summary>
        public string State => Stale ? "Stale" : !Compliant ? "Failing" : Warnings.Length > 0 ? "Warning" : "Compliant";
        public string[] Failing { get; init; } = Array.Empty<string>();
        public string[] Warnings { get; init; } = Array.Empty<string>();
        public DateTime? LastFolder { get; init; }
        public DateTime? LastCloud { get; init; }
        public DateTime? LastImage { get; init; }
        public DateTime? LastDrill { get; init; }
        public string LastRunStatus { get; init; } = "";
        /// <summary>The status file read.</summary>
        public string Source { get; init; } = "";

        public override string ToString() => $"{Host} {State}";
    }

    /// <summary>Get-NekkFleetStatus -Summary: how many hosts are in each <see cref="FleetHostStatus.State"/> (the counts add up to Hosts).</summary>
    public sealed class FleetSummary
    {
        /// <summary>The NAS path or s3://bucket/prefix read.</summary>
        public string Location { get; init; } = "";
        public int Hosts { get; init; }
        public int Compliant { get; init; }
        public int Warning { get; init; }
        public int Failing { get; init; }
        public int Stale { get; init; }
        /// <summary>The hosts that are not Compliant (Warning, Failing or Stale), by name.</summary>
        public string[] Attention { get; init; } = Array.Empty<string>();

        public static FleetSummary Of(IReadOnlyCollection<FleetHostStatus> hosts, string location)
        {
            int Count(string state) => hosts.Count(h => h.State == state);
            return new FleetSummary
            {
                Location = location, Hosts = hosts.Count,
                Compliant = Count("Compliant"), Warning = Count("Warning"), Failing = Count("Failing"), Stale = Count("Stale"),
                Attention = hosts.Where(h => h.State != "Compliant").Select(h => h.Host).Distinct(StringComparer.OrdinalIgnoreCase).ToArray(),
            };
        }

        public override string ToString() => $"{Hosts} hosts: {Compliant} compliant, {Warning} warning, {Failing} failing, {Stale} stale";
    }
}
