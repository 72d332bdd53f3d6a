using System;
using System.Diagnostics;
using System.Text;

namespace NekkBackup.Core.Tests.TestKit
{
    public sealed record ProcessResult(int ExitCode, string StdOut, string StdErr);

    public static class ProcessHelper
    {
        /// <summary>Runs a process to completion (bounded by <paramref name="timeoutSeconds"/>).</summary>
        public static ProcessResult Run(string file, string arguments, int timeoutSeconds = 300, string? workingDirectory = null)
        {
            var psi = new ProcessStartInfo(file, arguments)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
            };
            using var p = Process.Start(psi)!;
            var so = new StringBuilder();
            var se = new StringBuilder();
            p.OutputDataReceived += (_, e) => { if (e.Data != null) lock (so) so.AppendLine(e.Data); };
            p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (se) se.AppendLine(e.Data); };
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            if (!p.WaitForExit(timeoutSeconds * 1000))
            {
                try { p.Kill(true); } catch { }
                throw new TimeoutException($"{file} {arguments} did not finish in {timeoutSeconds}s");
            }
            p.WaitForExit();
            return new ProcessResult(p.ExitCode, so.ToString(), se.ToString());
        }

        /// <summary>Runs and throws with the output when the exit code is not 0.</summary>
        public static string Check(string file, string arguments, int timeoutSeconds = 300)
        {
            var r = Run(file, arguments, timeoutSeconds);
            if (r.ExitCode != 0)
                throw new InvalidOperationException($"{file} {arguments} exited {r.ExitCode}: {r.StdErr}{r.StdOut}");
            return r.StdOut;
        }
    }
}
