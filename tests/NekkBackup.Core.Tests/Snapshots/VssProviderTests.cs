using System;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Resilience;
using NekkBackup.Core.Snapshots;
using NekkBackup.Core.Tests.TestKit;
using Xunit;

namespace NekkBackup.Core.Tests.Snapshots
{
    /// <summary>Everything in the VSS provider that is logic, against a fake CIM layer (runs on any OS).</summary>
    public class VssProviderTests
    {
        private const string Guid1 = @"\\?\Volume{0b1c2d3e-0000-0000-0000-100000000000}\";
        private static readonly NekkResilience.RetryPreset Fast = new(3, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(5));

        private static VssSnapshotProvider Provider(FakeCim cim, FakeVolumes vols, IRunObserver? obs = null, bool elevated = true, bool windows = true,
            VssHostCheck.Result host = VssHostCheck.Result.Native) =>
            new(() => cim, vols, obs ?? NullRunObserver.Instance, () => elevated, () => windows, () => host, Fast);

        private sealed class NoJournal : ISnapshotJournal
        {
            public void Update(string previousId, SnapshotRecord record) { }
        }

        private static async Task<SnapshotRecord> Make(VssSnapshotProvider p, string path)
        {
            var r = new SnapshotRecord { SourcePath = path };
            await p.PrepareAsync(path, r, CancellationToken.None);
            await p.CreateAsync(r, new NoJournal(), CancellationToken.None);
            return r;
        }

        [Fact]
        public async Task Create_passes_the_volume_with_a_trailing_backslash_and_ClientAccessible()
        {
            var cim = new FakeCim();
            var vols = new FakeVolumes { Guid = Guid1.TrimEnd('\\') };
            var r = await Make(Provider(cim, vols), @"D:\Sessions\Song A");
            Assert.Equal(@"Create Volume=" + Guid1 + " Context=ClientAccessible", cim.Calls[0]);
            Assert.Equal(Guid1, r.Volume);
            Assert.StartsWith("Vss:{", r.SnapshotId);
            Assert.Equal(r.SnapshotId.Substring(4), r.Get("ShadowId"));
        }

        [Fact]
        public async Task Without_a_volume_guid_the_mount_point_is_used_with_a_trailing_backslash()
        {
            var cim = new FakeCim();
            var vols = new FakeVolumes { Guid = null, MountPoint = @"E:\Mount\Media" };
            await Make(Provider(cim, vols), @"E:\Mount\Media\Takes");
            Assert.Equal(@"Create Volume=E:\Mount\Media\ Context=ClientAccessible", cim.Calls[0]);
        }

        [Fact]
        public async Task Snapshot_path_is_DeviceObject_plus_backslash_plus_relative_path()
        {
            var cim = new FakeCim { Counter = 7 };
            var r = await Make(Provider(cim, new FakeVolumes()), @"D:\Sessions\Song A");
            Assert.Equal(@"\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy7\Sessions\Song A", r.SnapshotPath);

            // A volume root is read through a directory link to the shadow's root (.NET cannot enumerate "…ShadowCopyN\").
            using var links = new TempDir("vss-links");
            var vols = new FakeVolumes();
            var root = await Make(new VssSnapshotProvider(() => cim, vols, NullRunObserver.Instance, () => true, () => true, () => VssHostCheck.Result.Native, Fast, links.Path), @"D:\");
            Assert.Equal(System.IO.Path.Combine(links.Path, root.Get("ShadowId")!.Trim('{', '}')), root.SnapshotPath);
            Assert.Equal(root.SnapshotPath, root.Get(VssSnapshotProvider.LinkKey));
            Assert.Equal($"Link {root.SnapshotPath} -> " + @"\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy8\", Assert.Single(vols.Calls));
        }

        [Theory]
        [InlineData(@"\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy3", "", @"\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy3\")]
        [InlineData(@"\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy3", @"Sessions\Song", @"\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy3\Sessions\Song")]
        [InlineData(@"\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy3\", @"\Sessions\Song\", @"\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy3\Sessions\Song")]
        [InlineData(@"\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy3", "Sessions/Song", @"\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy3\Sessions\Song")]
        public void MapToShadow(string device, string relative, string expected) =>
            Assert.Equal(expected, VssPaths.MapToShadow(device, relative));

        [Theory]
        [InlineData(@"C:\", @"C:\", "")]
        [InlineData(@"C:\", @"C:\Users\Studio", @"Users\Studio")]
        [InlineData(@"D:\Mount\X\", @"d:\mount\x\Take 1\", "Take 1")]
        [InlineData(@"D:\Mount\X", @"D:\Mount\X", "")]
        public void RelativeToMountPoint(string mount, string path, string expected) =>
            Assert.Equal(expected, VssPaths.RelativeToMountPoint(mount, path));

        [Theory]
        [InlineData(0u, null, null)]
        [InlineData(1u, "NekkBackup.SnapshotAccessDenied", FailureKind.PermissionDenied)]
        [InlineData(2u, "NekkBackup.SnapshotInvalidArgument", FailureKind.InvalidArgument)]
        [InlineData(3u, "NekkBackup.SnapshotVolumeNotFound", FailureKind.NotFound)]
        [InlineData(4u, "NekkBackup.SnapshotUnsupported", FailureKind.NotSupported)]
        [InlineData(5u, "NekkBackup.SnapshotContextUnsupported", FailureKind.NotSupported)]
        [InlineData(6u, "NekkBackup.SnapshotInsufficientStorage", FailureKind.LimitsExceeded)]
        [InlineData(7u, "NekkBackup.SnapshotVolumeInUse", FailureKind.ResourceUnavailable)]
        [InlineData(8u, "NekkBackup.SnapshotLimitReached", FailureKind.LimitsExceeded)]
        [InlineData(9u, "NekkBackup.SnapshotInProgress", FailureKind.ResourceUnavailable)]
        [InlineData(10u, "NekkBackup.SnapshotProviderVetoed", FailureKind.InvalidOperation)]
        [InlineData(11u, "NekkBackup.SnapshotProviderNotRegistered", FailureKind.ResourceUnavailable)]
        [InlineData(12u, "NekkBackup.SnapshotProviderFailure", FailureKind.InvalidOperation)]
        [InlineData(13u, "NekkBackup.SnapshotUnknownError", FailureKind.InvalidOperation)]
        [InlineData(42u, "NekkBackup.SnapshotUnknownError", FailureKind.InvalidOperation)]
        public void Return_codes_map_to_errors(uint code, string? errorId, FailureKind? kind)
        {
            var ex = VssReturnCodes.ToException(code, @"D:\");
            if (errorId == null) { Assert.Null(ex); return; }
            Assert.NotNull(ex);
            Assert.Equal(errorId, ex!.ErrorId);
            Assert.Equal(kind, ex.Kind);
            Assert.Equal(code == 9u, ex.IsTransient);
            Assert.Contains(@"D:\", ex.Message);
        }

        [Fact]
        public void Return_code_constants_are_the_documented_values()
        {
            Assert.Equal(new uint[] { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13 }, new[]
            {
                VssReturnCodes.Success, VssReturnCodes.AccessDenied, VssReturnCodes.InvalidArgument, VssReturnCodes.VolumeNotFound,
                VssReturnCodes.VolumeNotSupported, VssReturnCodes.UnsupportedContext, VssReturnCodes.InsufficientStorage, VssReturnCodes.VolumeInUse,
                VssReturnCodes.MaximumShadowCopiesReached, VssReturnCodes.AnotherOperationInProgress, VssReturnCodes.ProviderVetoed,
                VssReturnCodes.ProviderNotRegistered, VssReturnCodes.ProviderFailure, VssReturnCodes.UnknownError,
            });
        }

        [Fact]
        public async Task Code_9_is_retried_with_backoff_then_succeeds()
        {
            var cim = new FakeCim();
            cim.ReturnCodes.Enqueue(9);
            cim.ReturnCodes.Enqueue(9);
            var obs = new RecordingObserver();
            var r = await Make(Provider(cim, new FakeVolumes(), obs), @"D:\S");
            Assert.Equal(3, cim.Calls.Count(c => c.StartsWith("Create")));
            Assert.StartsWith("Vss:{", r.SnapshotId);
            Assert.Contains(obs.Messages, m => m.Text.Contains("retry"));
        }

        [Fact]
        public async Task Code_9_that_persists_fails_after_the_bounded_retries()
        {
            var cim = new FakeCim();
            for (int i = 0; i < 10; i++) cim.ReturnCodes.Enqueue(9);
            var ex = await Assert.ThrowsAsync<NekkBackupException>(() => Make(Provider(cim, new FakeVolumes()), @"D:\S"));
            Assert.Equal("NekkBackup.SnapshotInProgress", ex.ErrorId);
            Assert.Equal(1 + Fast.MaxRetryAttempts, cim.Calls.Count(c => c.StartsWith("Create")));
        }

        [Theory]
        [InlineData(1u)]
        [InlineData(4u)]
        [InlineData(6u)]
        public async Task Other_codes_are_not_retried(uint code)
        {
            var cim = new FakeCim();
            cim.ReturnCodes.Enqueue(code);
            await Assert.ThrowsAsync<NekkBackupException>(() => Make(Provider(cim, new FakeVolumes()), @"D:\S"));
            Assert.Single(cim.Calls, c => c.StartsWith("Create"));
        }

        [Fact]
        public async Task Not_elevated_fails_before_any_CIM_call()
        {
            var cim = new FakeCim();
            var ex = await Assert.ThrowsAsync<NekkBackupException>(() => Make(Provider(cim, new FakeVolumes(), elevated: false), @"D:\S"));
            Assert.Equal("NekkBackup.SnapshotRequiresElevation", ex.ErrorId);
            Assert.Equal(FailureKind.PermissionDenied, ex.Kind);
            Assert.Empty(cim.Calls);
        }

        [Fact]
        public async Task Not_Windows_and_UNC_paths_are_unsupported()
        {
            var ex = await Assert.ThrowsAsync<NekkBackupException>(() => Make(Provider(new FakeCim(), new FakeVolumes(), windows: false), @"D:\S"));
            Assert.Equal("NekkBackup.SnapshotUnsupported", ex.ErrorId);
            ex = await Assert.ThrowsAsync<NekkBackupException>(() => Make(Provider(new FakeCim(), new FakeVolumes()), @"\\nas\studio\Sessions"));
            Assert.Equal("NekkBackup.SnapshotUnsupported", ex.ErrorId);
        }

        [Fact]
        public void Host_check_flags_a_32_bit_process_on_64_bit_Windows()
        {
            Assert.Equal(VssHostCheck.Result.Wow64, VssHostCheck.Evaluate(is64BitOperatingSystem: true, is64BitProcess: false));
            Assert.Equal(VssHostCheck.Result.Native, VssHostCheck.Evaluate(true, true));
            Assert.Equal(VssHostCheck.Result.Native, VssHostCheck.Evaluate(false, false));
        }

        [Fact]
        public async Task A_32_bit_host_is_told_the_64_bit_provider_is_forced()
        {
            var obs = new RecordingObserver();
            await Make(Provider(new FakeCim(), new FakeVolumes(), obs, host: VssHostCheck.Result.Wow64), @"D:\S");
            Assert.Contains(obs.Messages, m => m.Text.Contains("__ProviderArchitecture=64"));
        }

        [Fact]
        public void Shadow_ids_are_validated_before_they_reach_a_WQL_query()
        {
            Assert.True(VssPaths.IsShadowId("{0B1C2D3E-0000-0000-0000-100000000000}"));
            Assert.False(VssPaths.IsShadowId("{x}' OR ID<>'"));
            Assert.False(VssPaths.IsShadowId("0B1C2D3E-0000-0000-0000-100000000000"));
        }

        // ---- bookkeeping through the manager and the state file ----

        private sealed class Env : IDisposable
        {
            public readonly TempDir Dir = new("vss");
            public readonly FakeCim Cim = new();
            public readonly RecordingObserver Obs = new();
            public readonly SnapshotManager Manager;
            public readonly string Source;

            public Env()
            {
                Source = Dir.Sub("Sessions");
                var vols = new FakeVolumes { MountPoint = Dir.Path.Replace('/', '\\') + "\\" };
                var vss = new VssSnapshotProvider(() => Cim, vols, Obs, () => true, () => true, () => VssHostCheck.Result.Native, Fast);
                Manager = new SnapshotManager(new SnapshotStateStore(Path.Combine(Dir.Path, "state", "snapshots.json")), new ISnapshotProvider[] { vss }, Obs, () => true, () => false);
            }

            public void Dispose() => Dir.Dispose();
        }

        [Fact]
        public async Task The_intent_is_recorded_before_Create_and_the_id_right_after()
        {
            using var env = new Env();
            SnapshotRecord[]? atCreate = null;
            env.Cim.OnCreate = () => atCreate = env.Manager.Records().ToArray();
            var snap = await env.Manager.CreateAsync(env.Source, SnapshotProviderKind.Auto, persistent: false, CancellationToken.None);

            Assert.NotNull(atCreate);
            var intent = Assert.Single(atCreate!);
            Assert.StartsWith(VssSnapshotProvider.PendingPrefix, intent.SnapshotId);
            Assert.Equal(SnapshotStates.Creating, intent.State);
            Assert.Equal(Environment.ProcessId, intent.OwnerPid);

            var rec = Assert.Single(env.Manager.Records());
            Assert.Equal(snap.SnapshotId, rec.SnapshotId);
            Assert.Equal(SnapshotStates.Ready, rec.State);
            Assert.Equal("Vss", snap.Provider);
            Assert.EndsWith(@"\Sessions", snap.SnapshotPath);

            await env.Manager.RemoveAsync(snap.SnapshotId, CancellationToken.None);
            Assert.Empty(env.Cim.Shadows);
            Assert.Empty(env.Manager.Records());
        }

        [Fact]
        public async Task Orphans_of_dead_owners_are_deleted_by_id_and_nothing_else_is_touched()
        {
            using var env = new Env();
            // A shadow someone else made (System Restore, Previous Versions): never ours.
            var foreign = env.Cim.Create(@"C:\", "ClientAccessible").ShadowId!;
            env.Cim.Calls.Clear();

            var snap = await env.Manager.CreateAsync(env.Source, SnapshotProviderKind.Vss, persistent: false, CancellationToken.None);
            var mine = snap.SnapshotId.Substring(4);
            // Pretend the owner died: rewrite the owner to a pid that does not exist.
            var rec = env.Manager.Records().Single();
            rec.OwnerPid = DeadPid();
            env.Manager.Store.Update(rec.SnapshotId, rec);
            // And a crash before VSS returned an id: only an intent is left.
            env.Manager.Store.Add(new SnapshotRecord { SnapshotId = VssSnapshotProvider.PendingPrefix + "abc", Provider = "Vss", Volume = @"D:\", State = SnapshotStates.Creating, OwnerPid = DeadPid(), OwnerHost = OperatingSystemInfo.HostName });
            // A persistent snapshot (New-NekkSnapshot) whose creator exited normally: not an orphan.
            var kept = await env.Manager.CreateAsync(env.Source, SnapshotProviderKind.Vss, persistent: true, CancellationToken.None);
            var keptRec = env.Manager.Records().Single(r => r.SnapshotId == kept.SnapshotId);
            keptRec.OwnerPid = DeadPid();
            env.Manager.Store.Update(keptRec.SnapshotId, keptRec);

            var removed = await env.Manager.RemoveOrphansAsync(CancellationToken.None);

            Assert.Equal(new[] { snap.SnapshotId }, removed);
            Assert.DoesNotContain(mine, env.Cim.Shadows.Keys);
            Assert.Contains(foreign, env.Cim.Shadows.Keys);
            Assert.DoesNotContain(env.Cim.Calls, c => c == "Delete " + foreign);
            Assert.Equal(new[] { kept.SnapshotId }, env.Manager.Records().Select(r => r.SnapshotId));
            Assert.Contains(env.Obs.Warnings, w => w.Contains("vssadmin list shadows"));
        }

        [Fact]
        public async Task Remove_refuses_ids_not_in_the_state_file()
        {
            using var env = new Env();
            var foreign = env.Cim.Create(@"C:\", "ClientAccessible").ShadowId!;
            var ex = await Assert.ThrowsAsync<NekkBackupException>(() => env.Manager.RemoveAsync("Vss:" + foreign, CancellationToken.None));
            Assert.Equal("NekkBackup.SnapshotNotFound", ex.ErrorId);
            Assert.Contains(foreign, env.Cim.Shadows.Keys);
        }

        [Fact]
        public async Task Code_4_makes_Auto_read_live_with_a_warning_and_Required_fail()
        {
            using var env = new Env();
            env.Cim.ReturnCodes.Enqueue(4);
            var auto = SnapshotSources.ForMode(SnapshotMode.Auto, env.Obs, env.Manager);
            using (var view = await auto.OpenAsync(env.Source, CancellationToken.None))
            {
                Assert.Equal(env.Source, view.ReadPath);
                Assert.Null(view.SnapshotId);
                // A volume VSS cannot shadow-copy (FAT, a network drive) is a Verbose note, not a warning every run.
                Assert.Equal(RunMessageLevel.Verbose, view.NoteLevel);
                Assert.Contains("code 4", view.Note);
            }
            Assert.Empty(env.Obs.Warnings);
            Assert.Empty(env.Manager.Records());

            // A capable provider that failed (out of shadow storage) is a warning.
            env.Cim.ReturnCodes.Enqueue(6);
            using (var view = await auto.OpenAsync(env.Source, CancellationToken.None))
            {
                Assert.Equal(env.Source, view.ReadPath);
                Assert.Equal(RunMessageLevel.Warning, view.NoteLevel);
                Assert.Contains("SnapshotInsufficientStorage", view.Note);
            }

            env.Cim.ReturnCodes.Enqueue(4);
            var req = SnapshotSources.ForMode(SnapshotMode.Required, env.Obs, env.Manager);
            var ex = await Assert.ThrowsAsync<NekkBackupException>(() => req.OpenAsync(env.Source, CancellationToken.None));
            Assert.Equal("NekkBackup.SnapshotUnsupported", ex.ErrorId);
            Assert.Equal(FailureKind.NotSupported, ex.Kind);
            Assert.Empty(env.Manager.Records());
        }

        [Fact]
        public async Task A_source_view_reads_from_the_shadow_and_dispose_deletes_it()
        {
            using var env = new Env();
            var resolver = SnapshotSources.ForMode(SnapshotMode.Required, env.Obs, env.Manager);
            var view = await resolver.OpenAsync(env.Source, CancellationToken.None);
            Assert.StartsWith(@"\\?\GLOBALROOT\Device\HarddiskVolumeShadowCopy", view.ReadPath);
            Assert.EndsWith(@"\Sessions", view.ReadPath);
            Assert.StartsWith("Vss:{", view.SnapshotId);
            Assert.Single(env.Cim.Shadows);
            view.Dispose();
            Assert.Empty(env.Cim.Shadows);
            Assert.Empty(env.Manager.Records());
        }

        /// <summary>A pid no process has (above Linux's pid_max and any Windows pid in practice).</summary>
        internal static int DeadPid() => int.MaxValue - 3;

        [WindowsOnlyFact]
        public async Task Real_shadow_copy_of_the_system_drive()
        {
            using var dir = new TempDir("vss-real");
            File.WriteAllText(Path.Combine(dir.Path, "a.txt"), "before");
            var manager = SnapshotManager.CreateDefault(NullRunObserver.Instance, new SnapshotStateStore(Path.Combine(dir.Path, "state.json")));
            var snap = await manager.CreateAsync(dir.Path, SnapshotProviderKind.Vss, false, CancellationToken.None);
            try
            {
                File.WriteAllText(Path.Combine(dir.Path, "a.txt"), "after");
                Assert.Equal("before", File.ReadAllText(Path.Combine(snap.SnapshotPath, "a.txt")));
            }
            finally
            {
                await manager.RemoveAsync(snap.SnapshotId, CancellationToken.None);
            }
            Assert.Empty(manager.Records());
        }
    }
}
