using System;
using System.IO;
using System.Linq;
using Xunit;

namespace NekkBackup.Core.Tests.TestKit
{
    /// <summary>
    /// Skip rules shared by every test. A test that needs root or a tool skips with a stated reason
    /// when it is absent — except under CI=true, where it runs anyway and fails loudly, so a missing
    /// install step shows up red. Only Windows-only and LVM tests may skip in CI (this machine cannot
    /// run them); their reasons start with "Windows-only:" / "LVM:" and build.ps1 checks that.
    /// </summary>
    public static class Conditions
    {
        public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

        public static bool IsRoot => OperatingSystemInfo.IsElevated;

        public static bool HasTool(string tool) =>
            (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
                .Concat(new[] { "/sbin", "/usr/sbin", "/usr/local/sbin" })
                .Any(d => d.Length > 0 && File.Exists(Path.Combine(d, tool)));

        /// <summary>Null when the test can run here, else the reason it cannot.</summary>
        public static string? MissingFor(bool root, params string[] tools)
        {
            if (!OperatingSystemInfo.IsLinux) return "needs Linux";
            if (root && !IsRoot) return "needs root (loop devices, mount)";
            var missing = tools.Where(t => !HasTool(t)).ToArray();
            return missing.Length > 0 ? "needs " + string.Join(", ", missing) + " (see .ci/run for the Debian packages)" : null;
        }

        /// <summary>Lvm device-mapper snapshot support: `dmsetup targets` lists `snapshot`.</summary>
        public static bool HasDeviceMapperSnapshot()
        {
            if (!HasTool("dmsetup")) return false;
            try
            {
                var r = ProcessHelper.Run("dmsetup", "targets");
                return r.ExitCode == 0 && r.StdOut.Contains("snapshot");
            }
            catch { return false; }
        }
    }

    /// <summary>[Fact] that needs root and the given tools (skips outside CI when absent).</summary>
    public sealed class RootFactAttribute : FactAttribute
    {
        public RootFactAttribute(params string[] tools)
        {
            var why = Conditions.MissingFor(true, tools);
            if (why != null && !Conditions.IsCi) Skip = why;
        }
    }

    /// <summary>[Theory] that needs root and the given tools (skips outside CI when absent).</summary>
    public sealed class RootTheoryAttribute : TheoryAttribute
    {
        public RootTheoryAttribute(params string[] tools)
        {
            var why = Conditions.MissingFor(true, tools);
            if (why != null && !Conditions.IsCi) Skip = why;
        }
    }

    /// <summary>[Fact] that needs the given tools on PATH, no root.</summary>
    public sealed class ToolFactAttribute : FactAttribute
    {
        public ToolFactAttribute(params string[] tools)
        {
            var why = Conditions.MissingFor(false, tools);
            if (why != null && !Conditions.IsCi) Skip = why;
        }
    }

    /// <summary>[Theory] that needs the given tools, not root (skips outside CI when absent).</summary>
    public sealed class ToolTheoryAttribute : TheoryAttribute
    {
        public ToolTheoryAttribute(params string[] tools)
        {
            var why = Conditions.MissingFor(false, tools);
            if (why != null && !Conditions.IsCi) Skip = why;
        }
    }

    /// <summary>[Fact] that can only run on Windows. Allowed to skip in CI.</summary>
    public sealed class WindowsOnlyFactAttribute : FactAttribute
    {
        public WindowsOnlyFactAttribute()
        {
            if (!OperatingSystemInfo.IsWindows) Skip = "Windows-only: needs a Windows host";
        }
    }

    /// <summary>[Fact] that needs LVM (device-mapper snapshot target). Allowed to skip in CI.</summary>
    public sealed class LvmFactAttribute : FactAttribute
    {
        public LvmFactAttribute()
        {
            if (!Conditions.IsRoot || !Conditions.HasDeviceMapperSnapshot())
                Skip = "LVM: this kernel has no device-mapper snapshot target (`dmsetup targets` does not list snapshot)";
        }
    }
}
