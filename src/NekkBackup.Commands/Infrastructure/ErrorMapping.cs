using System;
using System.Management.Automation;
using NekkBackup.Core.Errors;

namespace NekkBackup.Commands.Infrastructure
{
    /// <summary>The one place engine failures become PowerShell ErrorRecords (PRODUCT.md §4).</summary>
    internal static class ErrorMapping
    {
        public static ErrorCategory Category(FailureKind kind) => kind switch
        {
            FailureKind.InvalidArgument => ErrorCategory.InvalidArgument,
            FailureKind.NotFound => ErrorCategory.ObjectNotFound,
            FailureKind.PermissionDenied => ErrorCategory.PermissionDenied,
            FailureKind.InvalidData => ErrorCategory.InvalidData,
            FailureKind.InvalidOperation => ErrorCategory.InvalidOperation,
            FailureKind.ResourceUnavailable => ErrorCategory.ResourceUnavailable,
            FailureKind.ResourceExists => ErrorCategory.ResourceExists,
            FailureKind.NotSupported => ErrorCategory.NotImplemented,
            FailureKind.LimitsExceeded => ErrorCategory.LimitsExceeded,
            FailureKind.ConnectionError => ErrorCategory.ConnectionError,
            FailureKind.ReadError => ErrorCategory.ReadError,
            FailureKind.WriteError => ErrorCategory.WriteError,
            FailureKind.SecurityError => ErrorCategory.SecurityError,
            FailureKind.OperationStopped => ErrorCategory.OperationStopped,
            _ => ErrorCategory.NotSpecified,
        };

        public static ErrorRecord ToRecord(NekkBackupException ex, object? target = null) =>
            new ErrorRecord(ex, ex.ErrorId, Category(ex.Kind), target ?? ex.Target);

        /// <summary>Anything the engine did not classify: still a NekkBackup id, never a bare stack trace.</summary>
        public static ErrorRecord ToRecord(Exception ex, object? target) => ex switch
        {
            NekkBackupException n => ToRecord(n, target),
            ArgumentException => new ErrorRecord(ex, "NekkBackup.InvalidArgument", ErrorCategory.InvalidArgument, target),
            UnauthorizedAccessException => new ErrorRecord(ex, "NekkBackup.AccessDenied", ErrorCategory.PermissionDenied, target),
            System.IO.IOException => new ErrorRecord(ex, "NekkBackup.IoError", ErrorCategory.WriteError, target),
            _ => new ErrorRecord(ex, "NekkBackup.UnexpectedError", ErrorCategory.NotSpecified, target),
        };
    }
}
