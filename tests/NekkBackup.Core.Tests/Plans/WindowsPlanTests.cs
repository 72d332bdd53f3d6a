using System;
using System.IO;
using System.Text;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Plans;
using NekkBackup.Core.Tests.TestKit;
using Xunit;

namespace NekkBackup.Core.Tests.Plans
{
    /// <summary>What only a Windows host can confirm: DPAPI at rest, Task Scheduler COM registration, the Event Log writer.</summary>
    public class WindowsPlanTests
    {
        [WindowsOnlyFact]
        public void Dpapi_store_never_holds_the_secret_in_clear()
        {
            using var dir = new TempDir("cred");
            var old = CredentialStore.DirectoryOverride;
            CredentialStore.DirectoryOverride = Path.Combine(dir.Path, "credentials");
            try
            {
                var s = CredentialStore.Set(@"\\nas\backup", "backup", "clear-text-marker-123");
                Assert.Equal(CredentialStore.DpapiProtection, s.Protection);
                var bytes = File.ReadAllBytes(s.Path);
                Assert.DoesNotContain("clear-text-marker-123", Encoding.UTF8.GetString(bytes));
                Assert.DoesNotContain("clear-text-marker-123", Encoding.Unicode.GetString(bytes));
                Assert.Equal("clear-text-marker-123", CredentialStore.TryGet(@"\\nas\backup")!.Secret);
            }
            finally { CredentialStore.DirectoryOverride = old; }
        }

        [WindowsOnlyFact]
        public void Task_xml_registers_through_com_as_system_when_elevated()
        {
            var plan = PlanParser.Parse(PlanTestData.Full(), @"C:\ProgramData\NekkBackup\xunit-plan.psd1");
            var cmd = new PlanCommandLine { Executable = Environment.ExpandEnvironmentVariables(@"%SystemRoot%\System32\WindowsPowerShell\v1.0\powershell.exe"), PlanPath = plan.Path! };
            var name = "xunit-" + Guid.NewGuid().ToString("N").Substring(0, 8);
            var xml = TaskSchedulerXml.ToText(TaskSchedulerXml.Build(plan, PlanLeg.Folder, cmd));
            if (!OperatingSystemInfo.IsElevated)
            {
                var ex = Assert.Throws<NekkBackupException>(() => TaskSchedulerCom.Register(name, xml));
                Assert.Equal("NekkBackup.TaskSchedulerError", ex.ErrorId);
                return;
            }
            TaskSchedulerCom.Register(name, xml);
            Assert.True(TaskSchedulerCom.Unregister(name));
            Assert.False(TaskSchedulerCom.Unregister(name));
        }

        [WindowsOnlyFact]
        public void Event_log_writer_never_fails_a_run()
        {
            PlanEventLog.TryWrite(new PlanRunResult { Plan = "xunit", RunId = "r", Status = "Succeeded", JobsRun = new[] { "Folder" } });
            Assert.Equal(1000, PlanExitCodes.EventId("Succeeded"));
        }
    }
}
