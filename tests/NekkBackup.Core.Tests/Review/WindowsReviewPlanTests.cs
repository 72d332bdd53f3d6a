#pragma warning disable CA1416 // DataProtectionScope / Unix file modes: the fakes model Windows on any OS
using System;
using System.Collections;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using System.Xml.Linq;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Plans;
using NekkBackup.Core.Tests.Plans;
using NekkBackup.Core.Tests.TestKit;
using Xunit;

namespace NekkBackup.Core.Tests.Review
{
    /// <summary>
    /// Review findings W1, W2, W3, W8, W9 and W10 (issue 10): the Windows SYSTEM / workgroup NAS flow, checked here
    /// through PlatformServices' fakes (DPAPI, ACLs, WNet calls) with the real plan runner, stores and readers.
    /// </summary>
    public sealed class WindowsReviewPlanTests : IDisposable
    {
        private readonly TempDir _dir = new("review");
        private readonly FakeNas _nas = new();

        public void Dispose() => _dir.Dispose();

        private static BackupPlan Plan(string nas, string? imageRepository = null, string? name = null)
        {
            var h = PlanTestData.Full();
            h["NasDestination"] = nas;
            if (name != null) h["Name"] = name;
            if (imageRepository != null) ((Hashtable)h["Image"]!)["Repository"] = imageRepository;
            else h.Remove("Image");
            h.Remove("Cloud");
            return PlanParser.Parse(h, "/etc/nekk/" + (name ?? "studio-a") + ".psd1");
        }

        /// <summary>
        /// Windows services replaced by fakes, and a credential store of this test's own, for the current async flow
        /// only (both are AsyncLocal): parallel tests keep theirs.
        /// </summary>
        private IDisposable Windows(FakeDpapi? dpapi = null, FakeAcl? acl = null)
        {
            CredentialStore.DirectoryOverride = Path.Combine(_dir.Path, "credentials");
            return PlatformServices.Use(new PlatformServices { Nas = _nas, Dpapi = dpapi, Acl = acl });
        }

        // ------------------------------------------------------------------ W1

        [Fact]
        [Trait("Review", "W1")]
        public async Task W1_compliance_and_fleet_reads_open_the_stored_credential_connection()
        {
            using var _ = Windows();
            CredentialStore.Set(@"\\nas\backup", @"nas\backup", "pa55");
            CredentialStore.Set(@"\\nas2\ghost", @"nas2\ghost", "pa66");
            var plan = Plan(@"\\NAS\Backup\studio-a", @"\\nas2\ghost\images");

            // Compliance (Test-NekkBackupCompliance / Intune detection) gathers evidence through the connection.
            await PlanLegRegistry.GatherAsync(plan, CancellationToken.None);
            Assert.Equal(new[] { @"Connect \\NAS\Backup as nas\backup", @"Disconnect \\nas\backup", @"Connect \\nas2\ghost as nas2\ghost", @"Disconnect \\nas2\ghost" }, _nas.Calls);
            Assert.Empty(_nas.Connected);

            // Get-NekkFleetStatus -Path on the share: the same.
            _nas.Calls.Clear();
            var ex = Assert.Throws<NekkBackupException>(() => FleetFolder.Read(@"\\nas\backup\fleet"));
            Assert.Equal("NekkBackup.PathNotFound", ex.ErrorId); // this Linux host has no SMB client: the share stays unreachable
            Assert.Equal(new[] { @"Connect \\nas\backup as nas\backup", @"Disconnect \\nas\backup" }, _nas.Calls);

            // A refused logon is what the reader reports, not a generic "not reachable".
            _nas.ConnectResult = 1326;
            var evidence = await PlanLegRegistry.GatherAsync(plan, CancellationToken.None);
            Assert.Contains("user name or password is wrong", evidence[PlanLeg.Folder].Problem);
            Assert.Contains("user name or password is wrong", evidence[PlanLeg.Image].Problem);
            Assert.Equal("NekkBackup.NasLogonFailed", Assert.Throws<NekkBackupException>(() => FleetFolder.Read(@"\\nas\backup\fleet")).ErrorId);
        }

        // ------------------------------------------------------------------ W2

        [Fact]
        [Trait("Review", "W2")]
        public void W2_a_secret_stored_by_an_admin_is_readable_by_the_SYSTEM_task()
        {
            var dpapi = new FakeDpapi { Account = @"STUDIO-PC\admin" };
            var acl = new FakeAcl();
            using var _ = Windows(dpapi, acl);

            // Set-NekkCredential from an elevated admin console...
            var stored = CredentialStore.Set(@"\\nas\backup", @"nas\backup", "pa55-w0rd");
            Assert.Equal(CredentialStore.DpapiProtection, stored.Protection);
            Assert.Contains("LockDown " + Path.GetFullPath(CredentialStore.DirectoryOverride!), acl.Calls);
            Assert.DoesNotContain("pa55-w0rd", System.Text.Encoding.UTF8.GetString(File.ReadAllBytes(stored.Path)));

            // ...then the scheduled task, as SYSTEM, reads it and connects with it.
            dpapi.Account = @"NT AUTHORITY\SYSTEM";
            Assert.Equal("pa55-w0rd", CredentialStore.TryGet(@"\\nas\backup")!.Secret);
            using (NasConnection.Open(@"\\nas\backup\studio-a")) { }
            Assert.Equal(@"Connect \\nas\backup as nas\backup", _nas.Calls[0]);
            Assert.All(dpapi.ScopesUsed, s => Assert.Equal(DataProtectionScope.LocalMachine, s));
        }

        // ------------------------------------------------------------------ W3

        [Fact]
        [Trait("Review", "W3")]
        public async Task W3_a_refused_run_never_touches_the_running_runs_connection()
        {
            using var _ = Windows();
            CredentialStore.Set(@"\\nas\backup", @"nas\backup", "pa55");
            var plan = Plan(@"\\nas\backup\studio-a", name: "review-w3-" + Guid.NewGuid().ToString("N").Substring(0, 8));
            var options = new PlanRunOptions { PublishStatus = false, WriteEventLog = false, FindDaws = _ => Array.Empty<DawProcess>() };
            try
            {
                using (var running = PlanLock.TryAcquire(plan))
                {
                    Assert.NotNull(running);
                    // The first run holds the lock and, on Windows, the connection: a second start is refused untouched.
                    var refused = await PlanRunner.RunAsync(plan, options, null!, CancellationToken.None);
                    Assert.Equal("Refused", refused.Status);
                    Assert.Empty(_nas.Calls);
                }

                // Alone, a run connects after taking the lock and disconnects (never forced: INasConnector cannot) at the end.
                var alone = await PlanRunner.RunAsync(plan, options, null!, CancellationToken.None);
                Assert.Equal("Unreachable", alone.Status); // no SMB client on this host
                Assert.Equal(new[] { @"Connect \\nas\backup as nas\backup", @"Disconnect \\nas\backup" }, _nas.Calls);

                // Nested users in one process (a run publishing its status) share one connection; the last one out cancels it.
                _nas.Calls.Clear();
                var outer = NasConnection.Open(@"\\nas\backup\studio-a");
                using (NasConnection.Open(@"\\NAS\backup\studio-a\.nekkbackup\status")) { }
                Assert.Single(_nas.Calls);
                outer.Dispose();
                Assert.Equal(new[] { @"Connect \\nas\backup as nas\backup", @"Disconnect \\nas\backup" }, _nas.Calls);
            }
            finally
            {
                try { Directory.Delete(PlanPaths.PlanDataDirectory(plan), true); } catch (IOException) { }
            }
        }

        // ------------------------------------------------------------------ W8

        [Fact]
        [Trait("Review", "W8")]
        public void W8_long_unc_form_is_the_same_share()
        {
            Assert.Equal(@"\\nas\backup", PathIdentity.UncShare(@"\\?\UNC\nas\backup\studio-a"));
            Assert.Equal(@"\\nas\backup", VolumeIdentity.UncRoot(@"\\?\UNC\nas\backup"));
            Assert.Null(PathIdentity.UncShare(@"\\?\C:\Sessions"));
            Assert.Null(PathIdentity.UncShare(@"\\?\Volume{0b1c2d3e-0000-0000-0000-100000000000}\"));
            Assert.Equal(VolumeIdentity.Of(@"\\nas\backup\a").Key, VolumeIdentity.Of(@"\\?\UNC\NAS\Backup\ghost").Key);
            Assert.Equal(@"\\nas\backup", CredentialStore.NormalizeTarget(@"\\?\UNC\NAS\Backup\studio-a"));

            // The credential stored for \\nas\backup is used for the long form...
            using var _ = Windows();
            CredentialStore.Set(@"\\nas\backup", @"nas\backup", "pa55");
            using (var c = NasConnection.Open(@"\\?\UNC\nas\backup\studio-a"))
                Assert.Equal(@"stored credential (nas\backup)", c.CredentialSource);
            Assert.Equal(@"Connect \\nas\backup as nas\backup", _nas.Calls[0]);

            // ...and compliance sees one share, not two volumes.
            var plan = Plan(@"\\nas\backup\studio-a", @"\\?\UNC\nas\backup\ghost");
            var findings = ComplianceEvaluator.Evaluate(plan, new EvidenceSet(new System.Collections.Generic.Dictionary<PlanLeg, LegEvidence>()), DateTime.Now);
            var separate = findings.Single(f => f.Rule == "ImageRepositorySeparate");
            Assert.Equal("Fail", separate.Status);
            Assert.Contains("share one volume/share", separate.Detail);
        }

        // ------------------------------------------------------------------ W9

        [Fact]
        [Trait("Review", "W9")]
        public void W9_the_whole_data_folder_is_locked_down_and_planted_links_removed()
        {
            var acl = new FakeAcl();
            // Fresh install: the root is created locked down, before anything is written into it.
            var fresh = Path.Combine(_dir.Path, "fresh", "NekkBackup");
            Directory.CreateDirectory(Path.GetDirectoryName(fresh)!);
            DataFolder.Secure(fresh, acl, null);
            Assert.Equal(new[] { "LockDown " + fresh }, acl.Calls);

            // A standard user got there first: a folder of theirs and a junction into a system folder.
            var root = Path.Combine(_dir.Path, "planted", "NekkBackup");
            var victim = Path.Combine(_dir.Path, "System32");
            Directory.CreateDirectory(victim);
            File.WriteAllText(Path.Combine(victim, "kernel.dll"), "keep me");
            Directory.CreateDirectory(Path.Combine(root, "plans", "studio-a"));
            File.WriteAllText(Path.Combine(root, "plans", "studio-a", "history.jsonl"), "{}");
            Directory.CreateSymbolicLink(Path.Combine(root, "logs"), victim);
            Directory.CreateSymbolicLink(Path.Combine(root, "plans", "studio-b"), victim);

            acl.Calls.Clear();
            var changes = DataFolder.Secure(root, acl, null);
            Assert.Equal("LockDown " + root, acl.Calls[0]); // the root first: nothing new can be planted during the clean-up
            Assert.False(File.Exists(Path.Combine(root, "logs")) || Directory.Exists(Path.Combine(root, "logs")));
            Assert.False(Directory.Exists(Path.Combine(root, "plans", "studio-b")));
            Assert.Equal("keep me", File.ReadAllText(Path.Combine(victim, "kernel.dll")));
            Assert.Contains("Reset " + Path.Combine(root, "plans"), acl.Calls);
            Assert.Contains("Reset " + Path.Combine(root, "plans", "studio-a", "history.jsonl"), acl.Calls);
            Assert.Contains(changes, c => c.StartsWith("removed link", StringComparison.Ordinal));

            // Locked down already: nothing to do (the per-process first use is cheap).
            acl.Calls.Clear();
            Assert.Empty(DataFolder.Secure(root, acl, null));
            Assert.Empty(acl.Calls);

            // A root that is itself a planted link is replaced by a real, locked folder.
            var linkedRoot = Path.Combine(_dir.Path, "linked", "NekkBackup");
            Directory.CreateDirectory(Path.GetDirectoryName(linkedRoot)!);
            Directory.CreateSymbolicLink(linkedRoot, victim);
            DataFolder.Secure(linkedRoot, acl, null);
            Assert.Null(new DirectoryInfo(linkedRoot).LinkTarget);
            Assert.True(acl.IsLockedDown(linkedRoot));
            Assert.True(File.Exists(Path.Combine(victim, "kernel.dll")));
        }

        // ------------------------------------------------------------------ W10

        [Fact]
        [Trait("Review", "W10")]
        public void W10_task_is_registered_for_the_SID_S_1_5_18()
        {
            var plan = Plan("/mnt/nas/studio-a");
            var cmd = new PlanCommandLine { Executable = @"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe", PlanPath = @"C:\ProgramData\NekkBackup\studio.psd1" };
            var xml = TaskSchedulerXml.ToText(TaskSchedulerXml.Build(plan, PlanLeg.Folder, cmd));
            var args = TaskSchedulerCom.RegisterTaskArguments("NekkBackup studio-a Folder", xml);
            Assert.Equal(6, args.Length);
            Assert.Equal("S-1-5-18", args[3]);          // userId: the SID, not the localised name "SYSTEM"
            Assert.Null(args[4]);                        // password: empty for a service account
            Assert.Equal(TaskSchedulerCom.TaskLogonServiceAccount, args[5]);
            XNamespace ns = "http://schemas.microsoft.com/windows/2004/02/mit/task";
            Assert.Equal(args[3], XDocument.Parse(xml).Descendants(ns + "UserId").Single().Value);
        }

        [Fact]
        [Trait("Review", "W10")]
        public void W10_every_assembly_shipped_for_Windows_PowerShell_finds_its_references()
        {
            var missing = Net472Closure.Missing();
            Assert.True(missing.Count == 0, "net472 references nothing ships or .NET Framework 4.7.2 provides:\n" + string.Join("\n", missing));
        }
    }
}
