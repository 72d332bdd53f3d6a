using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Imaging;
using NekkBackup.Core.Plans;
using NekkBackup.Core.Tests.Imaging;
using NekkBackup.Core.Tests.TestKit;

namespace NekkBackup.Core.Tests.Fuzz
{
    /// <summary>
    /// The Ghost image repository's formats. The fixture is real: two captures of a generated volume (the second
    /// after a change), a used-block capture of a small ext4 volume (mode and allocation record; where mkfs.ext4 exists),
    /// a restore drill of each (drill records), and a stale lock in the format before TargetLock. Each trial attacks one part
    /// and calls List, Test (quick or the full drill), Restore (raw or VHD), Remove (with garbage collection), a new
    /// capture, the plugin inventory, or the plan's image evidence reader.
    /// </summary>
    internal sealed class GhostTarget : FuzzTarget
    {
        public enum Part { Config, Manifest, Index, Chunks, Drills, Locks }

        private readonly Part _part;
        private readonly Dictionary<string, (string Sha, long Size)> _volumes = new(StringComparer.Ordinal);
        private string[] _ids = Array.Empty<string>();
        private string? _usedId;
        private string? _ext;
        private string _volume = "";

        public GhostTarget(Part part) => _part = part;

        public override string Name => "ghost." + _part.ToString().ToLowerInvariant();

        public override void Build(string dir)
        {
            FuzzRunner.TryDelete(dir);
            Directory.CreateDirectory(dir);
            _volume = Path.Combine(dir, "vol.img");
            var repo = Path.Combine(dir, "repo");
            GhostTestSupport.WriteVolumeFile(_volume, 160 * 1024, 5, zeroFrom: 48 * 1024, zeroLength: 40 * 1024);
            var a = GhostTestSupport.Capture(_volume, repo, chunkSize: 8192);
            _volumes[a.ImageId] = (GhostTestSupport.Sha256(_volume), new FileInfo(_volume).Length);
            GhostTestSupport.Scribble(_volume, 100 * 1024, 9000, 6);
            var b = GhostTestSupport.Capture(_volume, repo);
            _volumes[b.ImageId] = (GhostTestSupport.Sha256(_volume), new FileInfo(_volume).Length);
            _ids = new[] { a.ImageId, b.ImageId };
            if (Conditions.HasTool("mkfs.ext4"))
            {
                // A used-block image: a fresh 2 MiB ext4 (free space is zeros, so it restores to the volume itself).
                var ext = Path.Combine(dir, "ext4.img");
                File.WriteAllBytes(ext, new byte[2 << 20]);
                ProcessHelper.Check("mkfs.ext4", $"-q -F \"{ext}\"");
                var u0 = GhostTestSupport.Capture(ext, repo, mode: GhostCaptureMode.UsedBlocks);
                // The second compares the file system's metadata with the first (its manifest records "compared"); the
                // "Capture -Mode UsedBlocks" entry compares with whatever the attacked repository then holds.
                var u = GhostTestSupport.Capture(ext, repo, mode: GhostCaptureMode.UsedBlocks, volumeDigest: false);
                if (u.Mode != GhostCaptureMode.UsedBlocks) throw new InvalidOperationException("the ext4 fixture was not captured by its bitmap");
                _volumes[u0.ImageId] = _volumes[u.ImageId] = (GhostTestSupport.Sha256(ext), new FileInfo(ext).Length);
                _usedId = u.ImageId;
                _ext = ext;
                _ids = new[] { a.ImageId, b.ImageId, u0.ImageId, u.ImageId };
            }
            if (GhostTestSupport.Test(repo, true).Status != "Passed") throw new InvalidOperationException("fixture drill failed");
            // A stale shared lock of another host, as NekkBackup wrote them before TargetLock (host-pid-random.json, no id or version).
            File.WriteAllText(Path.Combine(repo, "locks", "other-host-4242-deadbeef.json"), JsonSerializer.Serialize(new
            {
                host = "other-host", pid = 4242, exclusive = false, operation = "capture", created = DateTime.UtcNow.AddHours(-2), refreshed = DateTime.UtcNow.AddHours(-2),
            }));
        }

        public override void Prepare(string fixture, TrialContext t)
        {
            FsCopy.Tree(Path.Combine(fixture, "repo"), t.Fixture);
            File.Copy(_volume, Path.Combine(t.Sandbox, "vol.img"));
            if (_ext != null) File.Copy(_ext, Path.Combine(t.Sandbox, "ext4.img"));
        }

        private string R(TrialContext t, params string[] p) => Path.Combine(new[] { t.Fixture }.Concat(p).ToArray());

        public override void Attack(TrialContext t)
        {
            var m = t.Mutate;
            int r = t.Rng.Next(100);
            switch (_part)
            {
                case Part.Config:
                    m.Attack(R(t, "config.json"), json: true, swapPercent: 20);
                    break;
                case Part.Manifest:
                    if (r < 10) m.SwapDirectory(R(t, "images"));
                    else if (r < 30 && _usedId != null) AttackAllocation(t, R(t, "images", _usedId + ".json"));
                    else
                    {
                        m.Attack(R(t, "images", t.Pick(_ids) + ".json"), json: true);
                        if (t.Rng.Next(4) == 0) m.Attack(R(t, "images", t.Pick(_ids) + ".json"), json: true);
                    }
                    break;
                case Part.Index:
                    var idx = R(t, "images", t.Pick(_ids) + ".idx");
                    if (r < 20) m.SwapFile(idx);
                    else File.WriteAllBytes(idx, m.MutateBytes(File.ReadAllBytes(idx)));
                    break;
                case Part.Chunks:
                    var chunks = Directory.EnumerateFiles(R(t, "chunks"), "*", SearchOption.AllDirectories).ToArray();
                    if (r < 8) m.SwapDirectory(R(t, "chunks"));
                    else if (r < 25) m.SwapDirectory(Path.GetDirectoryName(t.Pick(chunks))!);
                    else if (r < 50) m.SwapFile(t.Pick(chunks));
                    else { var c = t.Pick(chunks); File.WriteAllBytes(c, m.MutateBytes(File.ReadAllBytes(c))); }
                    break;
                case Part.Drills:
                    var drills = Directory.GetFiles(R(t, "drills"));
                    if (r < 15) m.SwapDirectory(R(t, "drills"));
                    else m.Attack(t.Pick(drills), json: true);
                    break;
                case Part.Locks:
                    var locks = Directory.GetFiles(R(t, "locks"));
                    if (r < 20) m.SwapDirectory(R(t, "locks"));
                    else m.Attack(t.Pick(locks), json: true, swapPercent: 30);
                    break;
            }
            t.Entry = FolderTarget.Weighted(t, new[]
            {
                ("List", 10), ("Test", 14), ("Test -ImageId", 8), ("Test -Full", 14), ("Restore", 16), ("Restore -Format Vhd", 5),
                ("Remove", 10), ("Capture", 9), ("Capture -Mode UsedBlocks", 6), ("PluginInventory", 4), ("ImageEvidence", 10),
            });
        }

        private static readonly string[] AllocationFields = { "mode", "allocation", "allocation.fileSystem", "allocation.blockSize", "allocation.usedBytes", "allocation.runs", "allocation.runsSha256",
            "compared", "compared.imageId", "compared.unchangedChunks", "compared.chain" };

        /// <summary>The used-block manifest's own fields: its mode and the allocation record the drill compares against.</summary>
        private static void AttackAllocation(TrialContext t, string file)
        {
            var root = JsonNode.Parse(File.ReadAllText(file))!.AsObject();
            var field = t.Pick(AllocationFields);
            var parts = field.Split('.');
            var parent = parts.Length == 1 ? root : root[parts[0]] as JsonObject;
            if (parent == null) return;
            var name = parts[parts.Length - 1];
            var original = parent[name]?.ToJsonString() ?? "null";
            JsonNode? value = t.Rng.Next(9) switch
            {
                0 => null,
                1 => JsonValue.Create(t.Pick(new[] { "AllBlocks", "UsedBlocks", "SparseBlocks", "usedblocks", "" })),
                2 => JsonValue.Create(t.Pick(new long[] { -1, 0, 1, 511, 513, 4096, 3 << 20, int.MaxValue, long.MaxValue })),
                3 => JsonValue.Create(t.Mutate.HostileString(original)),
                4 => new JsonObject(),
                5 => JsonValue.Create(t.Pick(new[] { "ext4", "ntfs", "xfs", "EXT4" })),
                6 => JsonValue.Create(new string('0', 64)),
                7 => root["sizeBytes"]?.DeepClone(),
                _ => JsonValue.Create(t.Rng.Next(2) == 0 ? 2 << 20 : 4096),
            };
            if (t.Rng.Next(6) == 0) parent.Remove(name);
            else parent[name] = value;
            t.Notes.Add($"{field}: {original} -> {(parent.ContainsKey(name) ? value?.ToJsonString() ?? "null" : "removed")}");
            File.WriteAllText(file, root.ToJsonString());
        }

        public override async Task<object?> InvokeAsync(TrialContext t, CancellationToken ct)
        {
            var repo = t.Fixture;
            var obs = new SpyObserver();
            switch (t.Entry)
            {
                case "List": return GhostRepository.List(repo, obs);
                case "Test": return await GhostRepository.TestAsync(repo, null, false, obs, ct).ConfigureAwait(false);
                case "Test -ImageId": return await GhostRepository.TestAsync(repo, new[] { t.Pick(_ids) }, false, obs, ct).ConfigureAwait(false);
                case "Test -Full": return await GhostRepository.TestAsync(repo, t.Rng.Next(2) == 0 ? null : new[] { t.Pick(_ids) }, true, obs, ct).ConfigureAwait(false);
                case "Restore":
                case "Restore -Format Vhd":
                    Directory.CreateDirectory(t.Target);
                    var format = t.Entry == "Restore" ? GhostRestoreFormat.Raw : GhostRestoreFormat.Vhd;
                    return await GhostRepository.RestoreAsync(repo, t.Pick(_ids), Path.Combine(t.Target, "restored.img"), format, false, obs, ct).ConfigureAwait(false);
                case "Remove": return await GhostRepository.RemoveAsync(repo, new[] { t.Pick(_ids) }, obs, ct).ConfigureAwait(false);
                case "Capture":
                    return await GhostRepository.CaptureAsync(new GhostCaptureOptions
                    {
                        Source = Path.Combine(t.Sandbox, "vol.img"), Repository = repo, SkipPluginInventory = true, VolumeDigest = true,
                    }, obs, ct).ConfigureAwait(false);
                case "Capture -Mode UsedBlocks":
                    return await GhostRepository.CaptureAsync(new GhostCaptureOptions
                    {
                        Source = Path.Combine(t.Sandbox, _ext != null ? "ext4.img" : "vol.img"), Repository = repo, SkipPluginInventory = true,
                        Mode = GhostCaptureMode.UsedBlocks,
                    }, obs, ct).ConfigureAwait(false);
                case "PluginInventory": return GhostRepository.GetPluginInventory(repo, t.Pick(_ids));
                default:
                    var plan = new BackupPlan
                    {
                        Name = "fuzz", Host = OperatingSystemInfo.HostName, Sources = new[] { t.Sandbox }, NasDestination = t.Target,
                        ImageSource = "/dev/null", ImageRepository = repo,
                    };
                    return await new ImageEvidenceSource().ReadAsync(plan, ct).ConfigureAwait(false);
            }
        }

        public override string? Verify(TrialContext t, object? result)
        {
            switch (result)
            {
                case GhostRestoreResult r:
                    if (!_volumes.TryGetValue(r.ImageId, out var want)) return $"restored image '{r.ImageId}', which the repository does not hold";
                    // A restore that answers is exact: every chunk hashed, the chunk list and the volume digest checked.
                    var file = Path.Combine(t.Target, "restored.img");
                    var got = r.Format == "Vhd" ? GhostTestSupport.Sha256(file, r.VolumeOffset, want.Size) : GhostTestSupport.Sha256(file);
                    return got == want.Sha ? null : $"restored image {r.ImageId} ({r.Format}) differs from the captured volume";
                case GhostImage img when t.Entry.StartsWith("Capture", StringComparison.Ordinal):
                    Directory.CreateDirectory(t.Target);
                    var o = Watchdog.Run(ct => GhostRepository.RestoreAsync(t.Fixture, img.ImageId, Path.Combine(t.Target, "captured.img"), GhostRestoreFormat.Raw, false, null, ct), Deadline, t.Sandbox);
                    if (o.Hung) return "restoring the new image hung";
                    if (o.Error != null) return o.Error is NekkBackupException ? null : "restoring the new image threw " + o.Error.GetType().Name;
                    var source = Path.Combine(t.Sandbox, t.Entry == "Capture" || _ext == null ? "vol.img" : "ext4.img");
                    return GhostTestSupport.Sha256(Path.Combine(t.Target, "captured.img")) == GhostTestSupport.Sha256(source)
                        ? null : "a new image restored different bytes than were captured";
                case GhostImageTestResult tr:
                    // A drill that passes has read every byte: the image must really be sound (restore it and compare).
                    if (tr.Status != "Passed" || !tr.Full || tr.ImageId.Length == 0) return null;
                    var id = tr.ImageId[0];
                    if (!_volumes.TryGetValue(id, out var vol)) return $"a drill passed image '{id}', which the repository does not hold";
                    Directory.CreateDirectory(t.Target);
                    var rr = Watchdog.Run(ct => GhostRepository.RestoreAsync(t.Fixture, id, Path.Combine(t.Target, "drilled.img"), GhostRestoreFormat.Raw, false, null, ct), Deadline, t.Sandbox);
                    if (rr.Hung || rr.Error != null) return $"a drill passed image {id}, but it does not restore ({rr})";
                    return GhostTestSupport.Sha256(Path.Combine(t.Target, "drilled.img")) == vol.Sha ? null : $"a drill passed image {id}, which restores wrong bytes";
                default:
                    return null;
            }
        }
    }
}
