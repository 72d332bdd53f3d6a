using System;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Storage
{
    public enum TargetErrorKind
    {
        NotFound,
        AlreadyExists,
        InvalidKey,
        /// <summary>A link, device, FIFO or folder stands where an object belongs.</summary>
        UnsafeEntry,
        AccessDenied,
        Full,
        ContentMismatch,
        RangeNotSatisfiable,
        NotSupported,
        /// <summary>The store did not answer or answered "try later": worth a retry.</summary>
        Unavailable,
        Io,
    }

    /// <summary>Every failure of an <see cref="IBackupTarget"/>: a stable NekkBackup.Target* id, a kind, and whether a retry can help.</summary>
    public sealed class TargetException : NekkBackupException
    {
        public TargetException(TargetErrorKind kind, string message, string? key, Exception? inner = null, bool? transient = null)
            : base(ReasonOf(kind), FailureKindOf(kind), message, key, inner)
        {
            ErrorKind = kind;
            Key = key;
            IsTransient = transient ?? (kind == TargetErrorKind.Unavailable || kind == TargetErrorKind.Io);
        }

        public TargetErrorKind ErrorKind { get; }

        /// <summary>The key the error is about (null for target-wide errors).</summary>
        public string? Key { get; }

        private static string ReasonOf(TargetErrorKind k) => k switch
        {
            TargetErrorKind.NotFound => "TargetObjectNotFound",
            TargetErrorKind.AlreadyExists => "TargetObjectExists",
            TargetErrorKind.InvalidKey => "TargetKeyInvalid",
            TargetErrorKind.UnsafeEntry => "TargetUnsafeEntry",
            TargetErrorKind.AccessDenied => "TargetAccessDenied",
            TargetErrorKind.Full => "TargetFull",
            TargetErrorKind.ContentMismatch => "TargetContentMismatch",
            TargetErrorKind.RangeNotSatisfiable => "TargetRangeInvalid",
            TargetErrorKind.NotSupported => "TargetNotSupported",
            TargetErrorKind.Unavailable => "TargetUnavailable",
            _ => "TargetIoError",
        };

        private static FailureKind FailureKindOf(TargetErrorKind k) => k switch
        {
            TargetErrorKind.NotFound => FailureKind.NotFound,
            TargetErrorKind.AlreadyExists => FailureKind.ResourceExists,
            TargetErrorKind.InvalidKey => FailureKind.InvalidArgument,
            TargetErrorKind.UnsafeEntry => FailureKind.SecurityError,
            TargetErrorKind.AccessDenied => FailureKind.PermissionDenied,
            TargetErrorKind.Full => FailureKind.LimitsExceeded,
            TargetErrorKind.ContentMismatch => FailureKind.InvalidData,
            TargetErrorKind.RangeNotSatisfiable => FailureKind.InvalidArgument,
            TargetErrorKind.NotSupported => FailureKind.NotSupported,
            TargetErrorKind.Unavailable => FailureKind.ConnectionError,
            _ => FailureKind.WriteError,
        };
    }
}
