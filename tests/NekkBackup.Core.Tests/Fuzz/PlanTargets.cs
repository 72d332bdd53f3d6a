using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Plans;
using NekkBackup.Core.Snapshots;
using NekkBackup.Core.Tests.Folder;
using NekkBackup.Core.Validation;

namespace NekkBackup.Core.Tests.Fuzz
{
    /// <summary>
    /// Plans and what they leave behind: the plan hashtable itself (as the cmdlet layer hands it over), the plan history
    /// (JSON lines on the NAS and in the data folder) and host status files. The fixture is a real plan run (folder and
    /// image legs, a drill) into the trial's own NAS and data folder. Path-valued keys are only ever moved inside the
    /// fixture or made invalid — an absolute folder the admin writes is theirs to use — while names, ids and the host
    /// get hostile strings: those must never become paths.
    /// </summary>
    internal sealed class PlanTarget : FuzzTarget
    {
        public enum Part { File, History }

        private readonly Part _part;
        private string _volume = "";

        public PlanTarget(Part part) => _part = part;

        public override string Name => "plan." + _part.ToString().ToLowerInvariant();
        public override TimeSpan Deadline => TimeSpan.FromSeconds(90);

        internal static Hashtable BasePlan(string fixture, string src, string volume) => new(StringComparer.OrdinalIgnoreCase)
        {
            ["SchemaVersion"] = 1,
            ["Name"] = "studio-fuzz",
            ["Sources"] = new object[] { src },
            ["NasDestination"] = Path.Combine(fixture, "nas"),
            ["Folder"] = new Hashtable(StringComparer.OrdinalIgnoreCase) { ["Snapshot"] = "None", ["Exclude"] = new object[] { "*.tmp" }, ["MaxChangedPercent"] = 90 },
            ["Retention"] = new Hashtable(StringComparer.OrdinalIgnoreCase) { ["KeepLast"] = 3 },
            ["Image"] = new Hashtable(StringComparer.OrdinalIgnoreCase) { ["Source"] = volume, ["Repository"] = Path.Combine(fixture, "repo") },
            ["Schedules"] = new Hashtable(StringComparer.OrdinalIgnoreCase) { ["Folder"] = new Hashtable(StringComparer.OrdinalIgnoreCase) { ["Frequency"] = "Interval", ["EveryHours"] = 4 } },
            ["Daw"] = new Hashtable(StringComparer.OrdinalIgnoreCase) { ["Processes"] = new object[] { "reaper" }, ["Policy"] = "Defer" },
        };

        private static readonly PlanRunOptions Quiet = new() { Job = "Folder", FindDaws = _ => Array.Empty<DawProcess>(), WriteEventLog = false };

        /// <summary>Runs a plan with NEKKBACKUP_DATA pointing into the fixture (the fuzz collection runs alone).</summary>
        internal static async Task<PlanRunResult> RunPlan(BackupPlan plan, string job, string data, CancellationToken ct)
        {
            var old = Environment.GetEnvironmentVariable("NEKKBACKUP_DATA");
            Environment.SetEnvironmentVariable("NEKKBACKUP_DATA", data);
            try
            {
                return await PlanRunner.RunAsync(plan, new PlanRunOptions { Job = job, FindDaws = Quiet.FindDaws, WriteEventLog = false }, new RecordingObserver(), ct).ConfigureAwait(false);
            }
            finally { Environment.SetEnvironmentVariable("NEKKBACKUP_DATA", old); }
        }

        public override void Build(string dir)
        {
            FuzzRunner.TryDelete(dir);
            var fx = Path.Combine(dir, "fx");
            var src = Path.Combine(dir, "src", "S");
            FolderTarget.Generate(src, 31);
            _volume = Path.Combine(dir, "vol.img");
            Imaging.GhostTestSupport.WriteVolumeFile(_volume, 96 * 1024, 3);
            var plan = PlanParser.Parse(BasePlan(fx, src, _volume), Path.Combine(fx, "plan.psd1"));
            foreach (var job in new[] { "Folder", "Image", "Drill" })
            {
                var r = RunPlan(plan, job, Path.Combine(fx, "data"), CancellationToken.None).GetAwaiter().GetResult();
                if (r.Status != "Succeeded") throw new InvalidOperationException($"fixture plan {job} run: {r.Status} {r.Reason}");
            }
        }

        public override void Prepare(string fixture, TrialContext t)
        {
            FsCopy.Tree(Path.Combine(fixture, "fx"), t.Fixture);
            FsCopy.Tree(Path.Combine(fixture, "src"), Path.Combine(t.Sandbox, "src"));
            File.Copy(_volume, Path.Combine(t.Sandbox, "vol.img"));
        }

        private Hashtable _plan = new();

        public override void Attack(TrialContext t)
        {
            _plan = BasePlan(t.Fixture, Path.Combine(t.Sandbox, "src", "S"), Path.Combine(t.Sandbox, "vol.img"));
            if (_part == Part.File)
            {
                int ops = 1 + t.Rng.Next(3);
                for (int i = 0; i < ops; i++) new PlanMutator(t).Mutate(_plan);
            }
            else
            {
                var nasHistory = Path.Combine(t.Fixture, "nas", ".nekkbackup", "plan-history");
                var local = Path.Combine(t.Fixture, "data", "plans", "studio-fuzz", "history.jsonl");
                int r = t.Rng.Next(100);
                if (r < 10) t.Mutate.SwapDirectory(nasHistory);
                else if (r < 15) t.Mutate.SwapDirectory(Path.Combine(t.Fixture, "nas", ".nekkbackup", "status"));
                else if (r < 35) t.Mutate.Attack(local, json: true, lines: true);
                else t.Mutate.Attack(Directory.GetFiles(nasHistory).First(), json: true, lines: true);
            }
            t.Entry = FolderTarget.Weighted(t, _part == Part.File
                ? new[] { ("Parse", 30), ("Run -Job Folder", 40), ("Run -Job Due", 10), ("Compliance", 20) }
                : new[] { ("History", 25), ("FolderEvidence", 15), ("Run -Job Folder", 40), ("Compliance", 20) });
        }

        public override async Task<object?> InvokeAsync(TrialContext t, CancellationToken ct)
        {
            var plan = PlanParser.Parse(_plan, Path.Combine(t.Fixture, "plan.psd1"));
            var data = Path.Combine(t.Fixture, "data");
            switch (t.Entry)
            {
                case "Parse": return plan;
                case "History": return PlanHistoryStore.Read(plan);
                case "FolderEvidence": return await new FolderEvidenceSource().ReadAsync(plan, ct).ConfigureAwait(false);
                case "Compliance":
                    var evidence = await PlanLegRegistry.GatherAsync(plan, ct).ConfigureAwait(false);
                    return ComplianceEvaluator.Evaluate(plan, evidence, DateTime.Now);
                case "Run -Job Due": return await RunPlan(plan, "Due", data, ct).ConfigureAwait(false);
                default: return await RunPlan(plan, plan.Legs.Contains(PlanLeg.Folder) ? "Folder" : "Due", data, ct).ConfigureAwait(false);
            }
        }

        public override string? Verify(TrialContext t, object? result) => result switch
        {
            BackupPlan p when !SafeName.IsSafe(p.Host) || !SafeName.IsSafe(p.Name) => $"the parser accepted host '{p.Host}' / name '{p.Name}'",
            _ => null,
        };
    }

    /// <summary>Mutates a plan hashtable the way a careless or hostile editor of a .psd1 could.</summary>
    internal sealed class PlanMutator
    {
        private static readonly string[] PathKeys = { "Sources", "NasDestination", "Repository", "Source", "FleetStatusPath" };
        private readonly TrialContext _t;

        public PlanMutator(TrialContext t) => _t = t;

        public void Mutate(Hashtable root)
        {
            var slots = new List<(IDictionary Table, string Key, string Where)>();
            void Walk(IDictionary d, string where)
            {
                foreach (DictionaryEntry e in d)
                {
                    var k = (string)e.Key;
                    slots.Add((d, k, where + k));
                    if (e.Value is IDictionary sub) Walk(sub, where + k + ".");
                }
            }
            Walk(root, "");
            var (table, key, label) = slots[_t.Rng.Next(slots.Count)];
            bool pathKey = PathKeys.Contains(key, StringComparer.OrdinalIgnoreCase);
            object? value;
            string what;
            switch (_t.Rng.Next(pathKey ? 6 : 8))
            {
                case 0: table.Remove(key); _t.Notes.Add($"plan: {label} removed"); return;
                case 1: value = null; what = "null"; break;
                case 2: value = _t.Pick<object>(42, -1, 3.5, true, new object[] { 1, "x" }, new Hashtable(), long.MaxValue, ""); what = "another type"; break;
                case 3:
                case 4:
                    if (pathKey)
                    {
                        value = _t.Pick<object>("relative/nas", "", " ", "C:\\backup", "\\\\nas\\share", Path.Combine(_t.Fixture, "nas2"), Path.Combine(_t.Fixture, "nas", "..", "nas3"),
                            Path.Combine(_t.Fixture, "repo2"), "a\0b", new object[] { Path.Combine(_t.Fixture, "other") });
                        what = "another path";
                    }
                    else { value = _t.Mutate.HostileString(Convert.ToString(table[key]) ?? ""); what = "a hostile string"; }
                    break;
                case 5:
                    if (table[key] is IDictionary) { ((IDictionary)table[key]!)["Extra" + _t.Rng.Next(9)] = "x"; _t.Notes.Add($"plan: {label}.Extra added"); return; }
                    value = new object?[] { table[key], table[key] }; what = "a list";
                    break;
                case 6:
                    var name = _t.Pick("Password", "Unknown", "host", "SECRETKEY", "Cloud2", "Notify");
                    root[name] = _t.Mutate.HostileString("x");
                    _t.Notes.Add($"plan: key {name} added");
                    return;
                default:
                    value = _t.Mutate.HostileString(Convert.ToString(table[key]) ?? ""); what = "a hostile string";
                    break;
            }
            table[key] = value;
            _t.Notes.Add($"plan: {label} = {what} ({(value as string)?.Replace("\0", "\\0") ?? value?.GetType().Name ?? "null"})");
        }
    }

    /// <summary>Host status files under a fleet folder (a FleetStatusPath and per-host NAS destinations), read by Get-NekkFleetStatus.</summary>
    internal sealed class FleetTarget : FuzzTarget
    {
        public override string Name => "fleet.status";

        public override void Build(string dir)
        {
            FuzzRunner.TryDelete(dir);
            var now = DateTime.UtcNow;
            HostStatusDocument Doc(string host, bool ok) => new()
            {
                Host = host, Plan = "studio", GeneratedUtc = now.AddHours(-1), Compliant = ok, LastRunStatus = ok ? "Succeeded" : "Failed",
                Findings = new List<HostStatusDocument.StatusFinding> { new() { Rule = "Fresh.Folder", Status = ok ? "Pass" : "Fail", Detail = "checked" } },
                LastGood = new Dictionary<string, DateTime?> { ["Folder"] = now.AddHours(-2), ["Cloud"] = null, ["Image"] = now.AddDays(-3), ["Drill"] = now.AddDays(-20) },
            };
            FleetStatus.Write(dir, Doc("studio-a", true));
            FleetStatus.Write(dir, Doc("studio-b", false));
            FleetStatus.Write(Path.Combine(dir, "studio-c", ".nekkbackup", "status"), Doc("studio-c", true));
            FleetStatus.Write(Path.Combine(dir, ".nekkbackup", "status"), Doc("studio-d", true));
        }

        public override void Attack(TrialContext t)
        {
            var files = Directory.GetFiles(t.Fixture, "*.json", SearchOption.AllDirectories);
            int r = t.Rng.Next(100);
            if (r < 15) t.Mutate.SwapDirectory(t.Pick(Path.Combine(t.Fixture, "studio-c"), Path.Combine(t.Fixture, "studio-c", ".nekkbackup", "status"), Path.Combine(t.Fixture, ".nekkbackup")));
            else t.Mutate.Attack(t.Pick(files), json: true, swapPercent: 20);
            t.Entry = "FleetStatus.Read";
        }

        public override Task<object?> InvokeAsync(TrialContext t, CancellationToken ct) =>
            Task.FromResult<object?>(FleetStatus.Read(t.Fixture, null, (_, _) => { }));

        public override string? Verify(TrialContext t, object? result) =>
            result is IReadOnlyList<FleetHostStatus> hosts && hosts.FirstOrDefault(h => !SafeName.IsSafe(h.Host)) is FleetHostStatus bad ? $"a status with host '{bad.Host}' was accepted" : null;
    }

    /// <summary>snapshots.json, the data folder's list of snapshots this module made (its records drive deletions).</summary>
    internal sealed class SnapshotStateTarget : FuzzTarget
    {
        public override string Name => "snapshot.state";

        public override void Build(string dir)
        {
            FuzzRunner.TryDelete(dir);
            var store = new SnapshotStateStore(Path.Combine(dir, "snapshots.json"));
            var btrfs = new SnapshotRecord
            {
                SnapshotId = "btrfs-" + Guid.NewGuid().ToString("N").Substring(0, 8), Provider = "Btrfs", Volume = "/mnt/pool", SourcePath = "/mnt/pool/Sessions",
                SnapshotPath = "/mnt/pool/.nekk-snapshots/nekk_1/Sessions", CreatedUtc = DateTime.UtcNow, State = SnapshotStates.Ready, Persistent = true, OwnerHost = "fuzzhost",
            };
            btrfs.Data["SnapshotDir"] = "/mnt/pool/.nekk-snapshots/nekk_1";
            btrfs.Data["SubvolumeRoot"] = "/mnt/pool";
            var lvm = new SnapshotRecord
            {
                SnapshotId = "lvm-" + Guid.NewGuid().ToString("N").Substring(0, 8), Provider = "Lvm", Volume = "/dev/vg0/data", SourcePath = "/dev/vg0/data",
                SnapshotPath = "/dev/vg0/nekk_2", CreatedUtc = DateTime.UtcNow, State = SnapshotStates.Creating, OwnerPid = 4242, OwnerHost = "fuzzhost",
            };
            lvm.Data[SnapshotRecord.ModeKey] = SnapshotRecord.BlockMode;
            lvm.Data["Vg"] = "vg0";
            lvm.Data["SnapshotLv"] = "nekk_2";
            store.Add(btrfs);
            store.Add(lvm);
        }

        public override void Attack(TrialContext t)
        {
            t.Mutate.Attack(Path.Combine(t.Fixture, "snapshots.json"), json: true, swapPercent: 20);
            t.Entry = FolderTarget.Weighted(t, new[] { ("Load", 35), ("Add", 20), ("Remove", 20), ("List", 15), ("FindOrphans", 10) });
        }

        public override Task<object?> InvokeAsync(TrialContext t, CancellationToken ct)
        {
            var store = new SnapshotStateStore(Path.Combine(t.Fixture, "snapshots.json"));
            var manager = new SnapshotManager(store, Array.Empty<ISnapshotProvider>(), new RecordingObserver());
            object? r = t.Entry switch
            {
                "Load" => store.Load(),
                "Add" => Add(store),
                "Remove" => store.Remove(t.Pick("btrfs-x", "lvm-y", "")),
                "List" => manager.List(),
                _ => manager.FindOrphans(),
            };
            return Task.FromResult<object?>(r);
        }

        private static object Add(SnapshotStateStore store)
        {
            store.Add(new SnapshotRecord { SnapshotId = "new-" + Guid.NewGuid().ToString("N"), Provider = "Btrfs", Volume = "/", SourcePath = "/", SnapshotPath = "/", OwnerHost = "h" });
            return store.Load();
        }
    }
}
