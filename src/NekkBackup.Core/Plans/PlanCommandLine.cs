using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

namespace NekkBackup.Core.Plans
{
    /// <summary>
    /// What a schedule starts: the absolute path of the PowerShell that registered it (plus pwsh.dll when
    /// that PowerShell runs under the dotnet host), the module manifest it imports, the plan and the job.
    /// </summary>
    public sealed class PlanCommandLine
    {
        public string Executable { get; init; } = "";
        /// <summary>Arguments before the PowerShell ones (the pwsh.dll path under a dotnet host).</summary>
        public IReadOnlyList<string> HostArguments { get; init; } = Array.Empty<string>();
        /// <summary>Absolute path of NekkBackup.psd1 to import; null = by name from PSModulePath.</summary>
        public string? ModuleManifest { get; init; }
        public string PlanPath { get; init; } = "";

        /// <summary>The PowerShell script run by -Command (single-quoted paths, ends with exit $LASTEXITCODE).</summary>
        public string Script(PlanLeg job)
        {
            var import = ModuleManifest != null ? "Import-Module " + PlanWriter.Q(ModuleManifest) : "Import-Module NekkBackup";
            return $"{import}; Invoke-NekkBackupPlan -Path {PlanWriter.Q(PlanPath)} -Job {job}; exit $LASTEXITCODE";
        }

        /// <summary>PowerShell's own arguments (without the executable and host arguments).</summary>
        public IReadOnlyList<string> PowerShellArguments(PlanLeg job, bool windows) =>
            windows
                ? new[] { "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-Command", Script(job) }
                : new[] { "-NoProfile", "-NonInteractive", "-Command", Script(job) };

        /// <summary>Windows command-line quoting (CommandLineToArgvW rules) for the task's Arguments.</summary>
        public string WindowsArguments(PlanLeg job) =>
            string.Join(" ", HostArguments.Concat(PowerShellArguments(job, true)).Select(WindowsQuote));

        public static string WindowsQuote(string a)
        {
            if (a.Length > 0 && a.IndexOfAny(new[] { ' ', '\t', '"', ';', '$' }) < 0) return a;
            var sb = new StringBuilder("\"");
            int backslashes = 0;
            foreach (var c in a)
            {
                if (c == '\\') { backslashes++; continue; }
                if (c == '"') { sb.Append('\\', backslashes * 2 + 1).Append('"'); backslashes = 0; continue; }
                sb.Append('\\', backslashes).Append(c);
                backslashes = 0;
            }
            sb.Append('\\', backslashes * 2).Append('"');
            return sb.ToString();
        }

        /// <summary>systemd ExecStart= value: every word double-quoted, $ and % doubled (systemd.service "Command lines").</summary>
        public string SystemdExecStart(PlanLeg job) =>
            string.Join(" ", new[] { Executable }.Concat(HostArguments).Concat(PowerShellArguments(job, false)).Select(SystemdQuote));

        public static string SystemdQuote(string a)
        {
            var escaped = a.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("$", "$$").Replace("%", "%%");
            return escaped.Length > 0 && escaped.IndexOfAny(new[] { ' ', '\t', '\'', ';', '"' }) < 0 && a.IndexOf('\\') < 0 ? escaped : "\"" + escaped + "\"";
        }

        /// <summary>A /bin/sh command for a cron line (single-quoted words; % escaped as cron requires).</summary>
        public string CronCommand(PlanLeg job) =>
            string.Join(" ", new[] { Executable }.Concat(HostArguments).Concat(PowerShellArguments(job, false)).Select(ShQuote)).Replace("%", "\\%");

        public static string ShQuote(string a) => "'" + a.Replace("'", "'\\''") + "'";

        /// <summary>The PowerShell running this process: its executable, plus pwsh.dll when it is a dotnet host.</summary>
        public static PlanCommandLine ForCurrentProcess(string planPath, string? moduleManifest, string? psHome)
        {
            string exe;
            using (var p = System.Diagnostics.Process.GetCurrentProcess())
                exe = p.MainModule?.FileName ?? "";
            var hostArgs = new List<string>();
            var leaf = Path.GetFileNameWithoutExtension(exe);
            if (string.Equals(leaf, "dotnet", StringComparison.OrdinalIgnoreCase) && psHome != null)
                hostArgs.Add(Path.Combine(psHome, "pwsh.dll"));
            if (OperatingSystemInfo.IsWindows)
                exe = SysnativeToSystem32(exe);
            return new PlanCommandLine { Executable = exe, HostArguments = hostArgs, ModuleManifest = moduleManifest, PlanPath = planPath };
        }

        /// <summary>A 32-bit Windows PowerShell (SysWOW64) registers the 64-bit one: the Task Scheduler service is 64-bit.</summary>
        public static string SysnativeToSystem32(string exe)
        {
            var wow = "\\SysWOW64\\";
            int i = exe.IndexOf(wow, StringComparison.OrdinalIgnoreCase);
            return i >= 0 ? exe.Substring(0, i) + "\\System32\\" + exe.Substring(i + wow.Length) : exe;
        }
    }
}
