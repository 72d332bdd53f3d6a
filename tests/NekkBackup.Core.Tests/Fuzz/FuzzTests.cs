using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using NekkBackup.Core.Tests.TestKit;
using Xunit;
using Xunit.Abstractions;

namespace NekkBackup.Core.Tests.Fuzz
{
    /// <summary>The fuzz run owns the process-wide data folder (NEKKBACKUP_DATA) while it runs: nothing runs beside it.</summary>
    [CollectionDefinition("fuzz", DisableParallelization = true)]
    public sealed class FuzzCollection
    {
    }

    /// <summary>
    /// The fuzzing harness over every format read back (issue 11). In the normal test run it is a bounded CI slice: a
    /// fixed seed and about two minutes spread over the formats. <c>build.ps1 Fuzz -Trials N -Seed S</c> sets
    /// NEKK_FUZZ_TRIALS / NEKK_FUZZ_SEED (and NEKK_FUZZ_FORMATS, NEKK_FUZZ_REPORT) for a long run. The test fails on
    /// any escape, hang, raw exception or wrong answer, and prints the per-format table and one replayable line per
    /// distinct failure.
    /// </summary>
    [Collection("fuzz")]
    public sealed class FuzzTests
    {
        public const int CiSeed = 20261206;
        private readonly ITestOutputHelper _out;

        public FuzzTests(ITestOutputHelper output) => _out = output;

        internal static List<FuzzTarget> AllTargets() => new()
        {
            new FolderTarget(FolderTarget.Part.Manifest),
            new FolderTarget(FolderTarget.Part.Format),
            new FolderTarget(FolderTarget.Part.Journal),
            new FolderTarget(FolderTarget.Part.Objects),
            new FolderTarget(FolderTarget.Part.Mirror),
            new FolderTarget(FolderTarget.Part.Lock),
            new GhostTarget(GhostTarget.Part.Config),
            new GhostTarget(GhostTarget.Part.Manifest),
            new GhostTarget(GhostTarget.Part.Index),
            new GhostTarget(GhostTarget.Part.Chunks),
            new GhostTarget(GhostTarget.Part.Drills),
            new GhostTarget(GhostTarget.Part.Locks),
            new CloudFuzzTarget(CloudFuzzTarget.Part.Manifest),
            new CloudFuzzTarget(CloudFuzzTarget.Part.Archive),
            new CloudFuzzTarget(CloudFuzzTarget.Part.Journal),
            new PlanTarget(PlanTarget.Part.File),
            new PlanTarget(PlanTarget.Part.History),
            new FleetTarget(),
            new SnapshotStateTarget(),
        };

        [Fact]
        public void Fuzz_EveryFormat_NoEscapeNoHangNoRawException()
        {
            var env = Environment.GetEnvironmentVariable("NEKK_FUZZ_TRIALS");
            bool ci = string.IsNullOrEmpty(env);
            int trials = ci ? int.MaxValue : int.Parse(env!, System.Globalization.CultureInfo.InvariantCulture);
            var seedText = Environment.GetEnvironmentVariable("NEKK_FUZZ_SEED");
            int seed = !string.IsNullOrEmpty(seedText) && seedText != "0" ? int.Parse(seedText!, System.Globalization.CultureInfo.InvariantCulture)
                : ci ? CiSeed : Environment.TickCount & 0x7FFFFFFF;
            var only = (Environment.GetEnvironmentVariable("NEKK_FUZZ_FORMATS") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            var targets = AllTargets().Where(x => only.Length == 0 || only.Any(o => x.Name.StartsWith(o, StringComparison.OrdinalIgnoreCase))).ToList();
            // CI slice: about two minutes in all; a long run is bounded by trials only.
            var budget = ci ? TimeSpan.FromSeconds(110.0 / Math.Max(1, targets.Count)) : TimeSpan.FromDays(1);

            // Thousands of small trees are made and removed: on tmpfs when there is one (a disk here takes ~0.3 s a trial).
            var root = Environment.GetEnvironmentVariable("NEKK_FUZZ_ROOT");
            if (string.IsNullOrEmpty(root)) root = Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
            var tmpPath = Path.Combine(root!, $"nekk-fuzz-{seed}-{Guid.NewGuid().ToString("N").Substring(0, 6)}");
            Directory.CreateDirectory(tmpPath);
            var oldData = Environment.GetEnvironmentVariable("NEKKBACKUP_DATA");
            Environment.SetEnvironmentVariable("NEKKBACKUP_DATA", Path.Combine(tmpPath, "data"));
            var sw = Stopwatch.StartNew();
            var runner = new FuzzRunner(tmpPath, seed, line => { try { _out.WriteLine(line); } catch (InvalidOperationException) { } Console.WriteLine(line); });
            try
            {
                foreach (var target in targets) runner.Run(target, trials, budget);
            }
            finally
            {
                Environment.SetEnvironmentVariable("NEKKBACKUP_DATA", oldData);
                foreach (var t in targets) t.Dispose();
                CloudWorld.DisposeShared();
                FuzzRunner.TryDelete(tmpPath);
            }
            var report = runner.Report(seed, sw.Elapsed);
            _out.WriteLine(report);
            var reportPath = Environment.GetEnvironmentVariable("NEKK_FUZZ_REPORT");
            if (!string.IsNullOrEmpty(reportPath)) File.WriteAllText(reportPath!, report);
            Assert.True(runner.Stats.All(s => s.Trials > 0), "a format ran no trial:\n" + report);
            Assert.True(runner.Stats.Sum(s => s.Failures) == 0, report);
        }
    }
}
