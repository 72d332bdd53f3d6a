using System;
using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace NekkBackup.Core.Plans
{
    /// <summary>
    /// One Windows Event Log entry per plan run (Application log, source NekkBackup, ids 1000 ok / 1001 warning /
    /// 1002 failure; docs/exit-codes.md). The source is registered at install time (examples/Install-NekkBackup.ps1,
    /// elevated); at run time this only writes and never fails a run. No-op off Windows.
    /// </summary>
    public static class PlanEventLog
    {
        public const string Source = "NekkBackup";
        public const string LogName = "Application";

        public static void TryWrite(PlanRunResult result)
        {
            if (!OperatingSystemInfo.IsWindows) return;
            try { Write(result); }
            catch (Exception) { /* no source registered, no rights: the run's own log has the story */ }
        }

        public static string Message(PlanRunResult r) =>
            $"NekkBackup plan '{r.Plan}' run {r.RunId}: {r.Status} (exit code {r.ExitCode}). Jobs: {string.Join(", ", r.JobsRun)}." +
            (r.Reason != null ? " " + r.Reason : "");

        [MethodImpl(MethodImplOptions.NoInlining)]
        private static void Write(PlanRunResult r)
        {
            var id = PlanExitCodes.EventId(r.Status);
#pragma warning disable CA1416 // Windows only: guarded by TryWrite
            var type = id == PlanExitCodes.EventOk ? EventLogEntryType.Information
                : id == PlanExitCodes.EventWarning ? EventLogEntryType.Warning : EventLogEntryType.Error;
            var msg = Message(r);
            if (msg.Length > 31000) msg = msg.Substring(0, 31000);
            EventLog.WriteEntry(Source, msg, type, id);
#pragma warning restore CA1416
        }

        /// <summary>Registers the source (needs elevation; the install script calls this once).</summary>
        [MethodImpl(MethodImplOptions.NoInlining)]
        public static bool EnsureSource()
        {
            if (!OperatingSystemInfo.IsWindows) return false;
#pragma warning disable CA1416
            if (EventLog.SourceExists(Source)) return false;
            var data = new EventSourceCreationData(Source, LogName)
            {
                // A stable message file (dotnet/runtime#27742): the .NET Framework one is on every Windows.
                MessageResourceFile = Environment.ExpandEnvironmentVariables(@"%SystemRoot%\Microsoft.NET\Framework64\v4.0.30319\EventLogMessages.dll"),
            };
            EventLog.CreateEventSource(data);
#pragma warning restore CA1416
            return true;
        }
    }
}
