#pragma warning disable CA1416 // DataProtectionScope / Unix file modes: the fakes model Windows on any OS
using System;
using System.IO;
using System.Linq;
using NekkBackup.Core.Tests.TestKit;
using Xunit;

namespace NekkBackup.Core.Tests.Review
{
    /// <summary>
    /// Review findings W5 and W6 (issue 10): the Intune/RMM example scripts, run as written by PowerShell 7 on this
    /// host. W5 plays Intune's 32-bit host (PROCESSOR_ARCHITEW6432 set, as WOW64 sets it) with a recording stand-in for
    /// %windir%\sysnative\...\powershell.exe; W6 gives the remediation script a stand-in NekkBackup module whose run
    /// reason has double spaces and a CRLF.
    /// </summary>
    public sealed class WindowsReviewScriptTests : IDisposable
    {
        private readonly TempDir _dir = new("review-scripts");

        public void Dispose() => _dir.Dispose();

        private static string Example(string relative) => Path.Combine(Net472Closure.RepoRoot, "examples", relative);

        /// <summary>PowerShell 7 as the repository's tool manifest restores it (dotnet tool restore), run through dotnet.</summary>
        private static string PwshDll()
        {
            var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
            if (string.IsNullOrEmpty(packages)) packages = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
            var os = OperatingSystemInfo.IsWindows ? "win" : "unix";
            var dll = Directory.Exists(Path.Combine(packages, "powershell"))
                ? Directory.GetFiles(Path.Combine(packages, "powershell"), "pwsh.dll", SearchOption.AllDirectories)
                    .Where(f => Path.GetFileName(Path.GetDirectoryName(f)) == os).OrderBy(f => f, StringComparer.Ordinal).LastOrDefault()
                : null;
            Assert.True(dll != null, $"PowerShell 7 (pwsh.dll) not found under {packages}/powershell: run `dotnet tool restore` in the repository.");
            return dll!;
        }

        private ProcessResult RunDriver(string script)
        {
            var driver = Path.Combine(_dir.Path, "driver.ps1");
            File.WriteAllText(driver, script);
            return ProcessHelper.Run("dotnet", $"\"{PwshDll()}\" -NoProfile -NonInteractive -File \"{driver}\"", 180, _dir.Path);
        }

        [Fact]
        [Trait("Review", "W5")]
        public void W5_every_Intune_and_RMM_example_relaunches_itself_in_64_bit_PowerShell()
        {
            // The stand-in for the 64-bit powershell.exe records what it was started with and answers 42.
            var windir = _dir.Sub("Windows");
            var native = Path.Combine(windir, "sysnative", "WindowsPowerShell", "v1.0", "powershell.exe");
            Directory.CreateDirectory(Path.GetDirectoryName(native)!);
            File.WriteAllText(native, "#!/bin/sh\n{ echo \"RELAUNCHED=$NEKK_RELAUNCHED\"; printf '%s\\n' \"$@\"; } > \"$NEKK_ARGS_FILE\"\nexit 42\n");
            File.SetUnixFileMode(native, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var plan = Path.Combine(_dir.Path, "studio plan.psd1");

            var scripts = new[]
            {
                ("intune/Detect-NekkBackupCompliance.ps1", $"@{{ PlanPath = '{plan}' }}"),
                ("intune/Remediate-NekkBackup.ps1", $"@{{ PlanPath = '{plan}' }}"),
                ("rmm/Invoke-NekkRmmJob.ps1", $"@{{ PlanPath = '{plan}'; DattoUdf = 12 }}"),
                ("Install-NekkBackup.ps1", $"@{{ PlanPath = '{plan}'; ModuleSource = '{_dir.Path}' }}"),
            };
            foreach (var (script, splat) in scripts)
            {
                var args = Path.Combine(_dir.Path, Path.GetFileNameWithoutExtension(script) + ".args");
                var r = RunDriver($$"""
                    $env:PROCESSOR_ARCHITEW6432 = 'AMD64'   # what WOW64 sets in a 32-bit process on 64-bit Windows
                    $env:windir = '{{windir}}'
                    $env:NEKK_ARGS_FILE = '{{args}}'
                    Remove-Item Env:NEKK_RELAUNCHED -ErrorAction Ignore
                    $p = {{splat}}
                    & '{{Example(script)}}' @p
                    "EXIT=$LASTEXITCODE"
                    """);
                Assert.True(r.StdOut.Contains("EXIT=42"), $"{script} did not hand over to 64-bit PowerShell:\n{r.StdOut}\n{r.StdErr}");
                var seen = File.ReadAllLines(args);
                Assert.Equal("RELAUNCHED=1", seen[0]);
                var argv = seen.Skip(1).ToList();
                int file = argv.IndexOf("-File");
                Assert.True(file >= 0 && argv[file + 1] == Example(script), $"{script}: {string.Join(" ", argv)}");
                int planArg = argv.IndexOf("-PlanPath");
                Assert.True(planArg >= 0 && argv[planArg + 1] == plan, $"{script}: {string.Join(" ", argv)}");
                Assert.Contains("-NoProfile", argv);
            }
        }

        [Fact]
        [Trait("Review", "W6")]
        public void W6_remediation_summary_is_one_line_and_keeps_the_real_exit_code()
        {
            // A stand-in module: the run completes with errors (exit 2) and a reason with double spaces and a CRLF.
            var modules = _dir.Sub("modules");
            var module = Path.Combine(modules, "NekkBackup");
            Directory.CreateDirectory(module);
            File.WriteAllText(Path.Combine(module, "NekkBackup.psm1"), """
                function Register-NekkBackupPlan { param($Path) }
                function Invoke-NekkBackupPlan {
                    [CmdletBinding()] param($Path)
                    $global:LASTEXITCODE = 2
                    $reason = if ($env:NEKK_LONG_REASON) { 'x ' * 1600 } else { "Folder Run CompletedWithErrors:  2 files   locked`r`nsee the log" }
                    [pscustomobject]@{ Status = 'CompletedWithErrors'; JobsRun = @('Folder'); Reason = $reason }
                }
                """);
            var plan = Path.Combine(_dir.Path, "plan.psd1");
            var script = Example("intune/Remediate-NekkBackup.ps1");
            var r = RunDriver($$"""
                $env:PSModulePath = '{{modules}}' + [IO.Path]::PathSeparator + $env:PSModulePath
                Remove-Item Env:PROCESSOR_ARCHITEW6432 -ErrorAction Ignore
                $out = @(& '{{script}}' -PlanPath '{{plan}}')
                "LINES=$($out.Count)"; "EXIT=$LASTEXITCODE"; "LINE=$($out[0])"
                $env:NEKK_LONG_REASON = '1'
                $out = @(& '{{script}}' -PlanPath '{{plan}}')
                "LONGLINES=$($out.Count)"; "LONGEXIT=$LASTEXITCODE"; "LONGLENGTH=$($out[0].Length)"
                """);
            var lines = r.StdOut.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
            Assert.True(lines.Contains("EXIT=2"), r.StdOut + r.StdErr);
            Assert.Contains("LINES=1", lines);
            Assert.Contains("LINE=NEKK REMEDIATED status=CompletedWithErrors jobs=Folder exit=2 reason=Folder Run CompletedWithErrors: 2 files locked see the log", lines);
            Assert.Contains("LONGLINES=1", lines);
            Assert.Contains("LONGEXIT=2", lines);
            Assert.Contains("LONGLENGTH=2048", lines);
        }
    }
}
