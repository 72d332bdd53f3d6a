using System;
using System.Collections;
using NekkBackup.Core.Cloud;
using NekkBackup.Core.Notify;

namespace NekkBackup.Core.Plans
{
    /// <summary>
    /// A plan's Drill key (docs/plan-schema.md): how the quarterly drill restores the cloud copy. <c>Cloud = 'Sample'</c>
    /// (the default) restores a seeded random sample of the latest run — at least <see cref="SamplePercent"/> % of its files
    /// and at least <see cref="SampleMinBytes"/> (the whole run when it is smaller); <c>'Full'</c> restores all of it.
    /// </summary>
    public sealed class DrillSettings
    {
        public const int MinimumPercent = 5;
        public const long GiB = 1L << 30;
        private static readonly string[] Keys = { "Cloud", "SamplePercent", "SampleGB", "Seed", "Scratch", "ThawTier" };

        public static readonly DrillSettings Default = new();

        /// <summary>Sample or Full.</summary>
        public string Cloud { get; init; } = "Sample";
        public int SamplePercent { get; init; } = MinimumPercent;
        public long SampleMinBytes { get; init; } = GiB;
        /// <summary>Fixed seed of the sample; null: a new seed each drill (recorded with it), so quarters cover different files.</summary>
        public int? Seed { get; init; }
        /// <summary>Absolute folder the sample is restored under (in a per-drill sub-folder, removed afterwards); null: the data folder.</summary>
        public string? Scratch { get; init; }
        /// <summary>Thaw tier asked for when the sample holds cold objects.</summary>
        public string ThawTier { get; init; } = "Standard";

        public bool Full => Cloud == "Full";

        public static DrillSettings Parse(IDictionary? table, string? planPath)
        {
            if (table == null) return Default;
            var p = new PlanSection(planPath);
            p.CheckKeys(table, Keys, "Drill.", "store the bucket's keys with Set-NekkCredential -Target <bucket>");
            var scratch = p.String(table, "Scratch", false, "Drill.Scratch");
            if (scratch != null && !PlanParser.IsAbsolute(scratch))
                throw p.Error("Drill.Scratch", $"'{scratch}' must be an absolute path (a scheduled run has no current folder)");
            var tier = p.Choice(table, "ThawTier", "Drill.ThawTier", ColdStorage.Tiers);
            return new DrillSettings
            {
                Cloud = p.Choice(table, "Cloud", "Drill.Cloud", new[] { "Sample", "Full" }) ?? "Sample",
                SamplePercent = p.Int(table, "SamplePercent", "Drill.SamplePercent", MinimumPercent, 100) ?? MinimumPercent,
                SampleMinBytes = (p.Int(table, "SampleGB", "Drill.SampleGB", 1, 1_000_000) ?? 1) * GiB,
                Seed = p.Int(table, "Seed", "Drill.Seed", 0, int.MaxValue),
                Scratch = scratch,
                ThawTier = ColdStorage.NormalizeTier(tier),
            };
        }

        public override string ToString() => Full ? "Cloud Full" : $"Cloud Sample ({SamplePercent} % of files, at least {SampleMinBytes / (double)GiB:0.##} GiB)";
    }
}
