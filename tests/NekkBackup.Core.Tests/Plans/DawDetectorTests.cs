using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using NekkBackup.Core.Plans;
using NekkBackup.Core.Tests.TestKit;
using Xunit;

namespace NekkBackup.Core.Tests.Plans
{
    public class DawDetectorTests
    {
        [Theory]
        [InlineData("ProTools", "Pro*", true)]
        [InlineData("protools", "PROTOOLS", true)]
        [InlineData("Ableton Live 12 Suite", "Ableton Live*", true)]
        [InlineData("FL64", "FL", false)]
        [InlineData("FL64", "FL??", true)]
        [InlineData("reaper", "reaper", true)]
        [InlineData("reaper_host64", "reaper", false)]
        [InlineData("Cubase14", "Cubase*", true)]
        [InlineData("a.b", "a?b", true)]
        [InlineData("a+b", "a.b", false)]
        public void Wildcards_match_whole_names_case_insensitively(string name, string pattern, bool expected) =>
            Assert.Equal(expected, DawDetector.Match(name, new[] { pattern }) != null);

        [Theory]
        [InlineData(@"C:\Program Files\Avid\Pro Tools\ProTools.exe", "ProTools")]
        [InlineData("/opt/REAPER/reaper", "reaper")]
        [InlineData("Studio One 6.exe", "Studio One 6")]
        [InlineData("/usr/bin/python3.11", "python3.11")]
        [InlineData("/tmp/x/ProToolsDaemonHelperX (deleted)", "ProToolsDaemonHelperX")]
        public void Name_without_extension(string path, string expected) =>
            Assert.Equal(expected, DawDetector.NameWithoutExtension(path));

        [ToolFact("sleep")]
        public void Finds_a_long_named_process_through_proc_exe_although_comm_is_cut_at_15_characters()
        {
            using var dir = new TempDir("daw");
            var exe = Path.Combine(dir.Path, "ProToolsDaemonHelperX");
            File.Copy("/bin/sleep", exe);
            File.SetUnixFileMode(exe, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.UserWrite);
            using var p = Process.Start(new ProcessStartInfo(exe, "60") { UseShellExecute = false })!;
            try
            {
                // comm really is cut: the name the kernel keeps is 15 characters.
                string comm = "";
                for (int i = 0; i < 50 && comm.Length == 0; i++)
                {
                    try { comm = File.ReadAllText($"/proc/{p.Id}/comm").Trim(); } catch (IOException) { }
                    if (comm.Length == 0) Thread.Sleep(20);
                }
                Assert.Equal("ProToolsDaemonH", comm);
                Assert.Null(DawDetector.Match(comm, new[] { "ProToolsDaemonHelperX" }));

                var found = DawDetector.FindRunning(new[] { "protoolsdaemonhelperx" });
                var hit = Assert.Single(found, d => d.Id == p.Id);
                Assert.Equal("ProToolsDaemonHelperX", hit.Name);
                Assert.Equal(exe, hit.ExecutablePath);
                Assert.Contains(DawDetector.FindRunning(new[] { "ProTools*HelperX" }), d => d.Id == p.Id);
                Assert.DoesNotContain(DawDetector.FindRunning(new[] { "ProToolsDaemonHelper" }), d => d.Id == p.Id);
            }
            finally
            {
                try { p.Kill(); } catch (InvalidOperationException) { }
                p.WaitForExit(5000);
            }
            Assert.DoesNotContain(DawDetector.FindRunning(new[] { "ProToolsDaemonHelperX" }), d => d.Id == p.Id);
        }
    }
}
