using System;
using System.Reflection;
using System.Runtime.InteropServices;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Plans
{
    /// <summary>
    /// Registers task XML through the Task Scheduler COM API, late-bound (Type.GetTypeFromProgID + InvokeMember),
    /// so it compiles everywhere and needs no interop assembly. Windows only at run time.
    /// </summary>
    public static class TaskSchedulerCom
    {
        public const int TaskCreateOrUpdate = 6;
        public const int TaskLogonServiceAccount = 5;
        /// <summary>SCHED_S_SOME_TRIGGERS_FAILED / SCHED_S_BATCH_LOGON_PROBLEM are warnings, not failures.</summary>
        public const int SchedSomeTriggersFailed = 0x0004131B;
        public const int SchedBatchLogonProblem = 0x0004131C;

        public static void Register(string taskName, string xml)
        {
            var folder = OpenFolder(create: true)!;
            Invoke(folder, "RegisterTask", RegisterTaskArguments(taskName, xml));
        }

        /// <summary>
        /// ITaskFolder::RegisterTask(path, xmlText, flags, userId, password, logonType). The user is given explicitly (a
        /// NULL user with SERVICE_ACCOUNT fails with 0x80070534 when the caller is SYSTEM, e.g. Intune) and as LocalSystem's
        /// SID S-1-5-18, the same id the task XML's principal carries: the name "SYSTEM" is localised on some Windows
        /// languages, the SID is not. Task Scheduler accepts "the name or the corresponding SID string" of the built-in
        /// service accounts (Task Security Hardening, MicrosoftDocs/win32 desktop-src/TaskSchd/task-security-hardening.md);
        /// tests/Windows/Invoke-NekkWindowsCheck.ps1 confirms it on a real host. The password must be empty (VT_NULL) for a
        /// service account.
        /// </summary>
        public static object?[] RegisterTaskArguments(string taskName, string xml) =>
            new object?[] { taskName, xml, TaskCreateOrUpdate, TaskSchedulerXml.SystemSid, null, TaskLogonServiceAccount };

        /// <summary>Deletes the task; false when it did not exist.</summary>
        public static bool Unregister(string taskName)
        {
            var folder = OpenFolder(create: false);
            if (folder == null) return false;
            try
            {
                Invoke(folder, "DeleteTask", taskName, 0);
                return true;
            }
            catch (NekkBackupException ex) when (ex.InnerException is COMException c && (uint)c.HResult == 0x80070002)
            {
                return false;
            }
        }

        private static object? OpenFolder(bool create)
        {
            if (!OperatingSystemInfo.IsWindows)
                throw new NekkBackupException("NotSupportedOnPlatform", FailureKind.NotSupported, "The Windows Task Scheduler exists only on Windows.");
#pragma warning disable CA1416 // Windows only: guarded above
            var type = Type.GetTypeFromProgID("Schedule.Service", false)
                ?? throw new NekkBackupException("TaskSchedulerUnavailable", FailureKind.ResourceUnavailable, "The Task Scheduler COM service (Schedule.Service) is not registered on this machine.");
#pragma warning restore CA1416
            var service = Activator.CreateInstance(type)!;
            Invoke(service, "Connect");
            var root = Invoke(service, "GetFolder", "\\")!;
            try
            {
                return Invoke(service, "GetFolder", TaskSchedulerXml.TaskFolder);
            }
            catch (NekkBackupException) when (create)
            {
                return Invoke(root, "CreateFolder", TaskSchedulerXml.TaskFolder.TrimStart('\\'), Type.Missing);
            }
            catch (NekkBackupException)
            {
                return null;
            }
        }

        private static object? Invoke(object target, string method, params object?[] args)
        {
            try
            {
                return target.GetType().InvokeMember(method, BindingFlags.InvokeMethod, null, target, args);
            }
            catch (TargetInvocationException tie) when (tie.InnerException != null)
            {
                var inner = tie.InnerException;
                var kind = (uint)inner.HResult == 0x80070005 ? FailureKind.PermissionDenied : FailureKind.InvalidOperation;
                throw new NekkBackupException("TaskSchedulerError", kind,
                    $"Task Scheduler {method} failed (0x{inner.HResult:X8}): {inner.Message}" + (kind == FailureKind.PermissionDenied ? " Run elevated (as Administrator or SYSTEM)." : ""), method, inner);
            }
        }
    }
}
