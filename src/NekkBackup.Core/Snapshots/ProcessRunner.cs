using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Snapshots
{
    /// <summary>The result of one external tool run.</summary>
    public sealed class ProcessOutput
    {
        public ProcessOutput(int exitCode, string stdOut, string stdErr)
        {
            ExitCode = exitCode;
            StdOut = stdOut;
            StdErr = stdErr;
        }

        public int ExitCode { get; }
        public string StdOut { get; }
        public string StdErr { get; }
    }

    /// <summary>
    /// Runs external tools (btrfs, lvs, lvcreate, findmnt, stat, mount). A seam so unit tests check the
    /// exact command lines and feed canned output.
    /// </summary>
    public interface IProcessRunner
    {
        /// <summary>Runs <paramref name="tool"/> with literal arguments (no shell); throws NekkBackup.ToolNotFound when absent.</summary>
        Task<ProcessOutput> RunAsync(string tool, IReadOnlyList<string> arguments, CancellationToken cancellationToken);

        /// <summary>True when the tool can be found.</summary>
        bool HasTool(string tool);
    }

    /// <summary>Runs tools as child processes, C locale, killed on cancellation.</summary>
    public sealed class ProcessRunner : IProcessRunner
    {
        public static readonly ProcessRunner Instance = new();

        private static readonly string[] SystemDirs = { "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin" };

        public bool HasTool(string tool) => Resolve(tool) != null;

        public static string? Resolve(string tool)
        {
            if (Path.IsPathRooted(tool)) return File.Exists(tool) ? tool : null;
            var dirs = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Concat(OperatingSystemInfo.IsWindows ? new string[0] : SystemDirs);
            foreach (var d in dirs)
            {
                if (d.Length == 0) continue;
                var candidate = Path.Combine(d, tool);
                if (File.Exists(candidate)) return candidate;
                if (OperatingSystemInfo.IsWindows && File.Exists(candidate + ".exe")) return candidate + ".exe";
            }
            return null;
        }

        public async Task<ProcessOutput> RunAsync(string tool, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var file = Resolve(tool) ?? throw new NekkBackupException("ToolNotFound", FailureKind.NotSupported, $"The tool '{tool}' is not installed (not found on PATH or in the system directories).", tool);
            var psi = new ProcessStartInfo(file)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                RedirectStandardInput = true,
                UseShellExecute = false,
                CreateNoWindow = true,
            };
#if NET
            foreach (var a in arguments) psi.ArgumentList.Add(a);
#else
            psi.Arguments = string.Join(" ", arguments.Select(QuoteArgument));
#endif
            psi.Environment["LC_ALL"] = "C";
            psi.Environment["LANG"] = "C";
            using var p = new Process { StartInfo = psi, EnableRaisingEvents = true };
            var so = new StringBuilder();
            var se = new StringBuilder();
            var exited = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            p.OutputDataReceived += (_, e) => { if (e.Data != null) lock (so) so.Append(e.Data).Append('\n'); };
            p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (se) se.Append(e.Data).Append('\n'); };
            p.Exited += (_, _) => exited.TrySetResult(true);
            p.Start();
            p.StandardInput.Close();
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            using (cancellationToken.Register(() =>
            {
                try { if (!p.HasExited) p.Kill(); } catch (InvalidOperationException) { } catch (System.ComponentModel.Win32Exception) { }
            }))
            {
                await exited.Task.ConfigureAwait(false);
            }
            p.WaitForExit(); // drains the redirected streams
            cancellationToken.ThrowIfCancellationRequested();
            string o, e2;
            lock (so) o = so.ToString();
            lock (se) e2 = se.ToString();
            return new ProcessOutput(p.ExitCode, o, e2);
        }

        /// <summary>Windows command-line quoting (CommandLineToArgvW rules) for net472's single Arguments string.</summary>
        public static string QuoteArgument(string arg)
        {
            if (arg.Length > 0 && arg.IndexOfAny(new[] { ' ', '\t', '\n', '\v', '"' }) < 0) return arg;
            var sb = new StringBuilder("\"");
            int backslashes = 0;
            foreach (var c in arg)
            {
                if (c == '\\') { backslashes++; continue; }
                if (c == '"') { sb.Append('\\', backslashes * 2 + 1); sb.Append('"'); }
                else { sb.Append('\\', backslashes); sb.Append(c); }
                backslashes = 0;
            }
            sb.Append('\\', backslashes * 2);
            sb.Append('"');
            return sb.ToString();
        }
    }

    internal static class ProcessRunnerExtensions
    {
        /// <summary>Runs and throws NekkBackup.<paramref name="reason"/> with the tool's message on a non-zero exit.</summary>
        public static async Task<ProcessOutput> RunCheckedAsync(this IProcessRunner runner, string reason, string tool, IReadOnlyList<string> args, object? target, CancellationToken ct)
        {
            var r = await runner.RunAsync(tool, args, ct).ConfigureAwait(false);
            if (r.ExitCode != 0)
            {
                var msg = (r.StdErr.Trim().Length > 0 ? r.StdErr : r.StdOut).Trim();
                var kind = msg.IndexOf("Permission denied", StringComparison.OrdinalIgnoreCase) >= 0 || msg.IndexOf("Operation not permitted", StringComparison.OrdinalIgnoreCase) >= 0
                    ? FailureKind.PermissionDenied
                    : FailureKind.InvalidOperation;
                if (kind == FailureKind.PermissionDenied) reason = "SnapshotAccessDenied";
                throw new NekkBackupException(reason, kind, $"'{tool} {string.Join(" ", args)}' failed (exit {r.ExitCode}): {msg}", target);
            }
            return r;
        }
    }
}
