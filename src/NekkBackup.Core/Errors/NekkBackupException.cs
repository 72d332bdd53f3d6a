using System;

namespace NekkBackup.Core.Errors
{
    /// <summary>
    /// Every failure the engine reports to a user. <see cref="ErrorId"/> is stable
    /// (<c>NekkBackup.&lt;Reason&gt;</c>) so scripts and tests can match it.
    /// </summary>
    public class NekkBackupException : Exception
    {
        public NekkBackupException(string reason, FailureKind kind, string message, object? target = null, Exception? inner = null)
            : base(message, inner)
        {
            if (string.IsNullOrEmpty(reason)) throw new ArgumentNullException(nameof(reason));
            ErrorId = reason.StartsWith("NekkBackup.", StringComparison.Ordinal) ? reason : "NekkBackup." + reason;
            Kind = kind;
            Target = target;
        }

        /// <summary>NekkBackup.&lt;Reason&gt;</summary>
        public string ErrorId { get; }

        public FailureKind Kind { get; }

        /// <summary>The object the error is about (a path, a run id…), for ErrorRecord.TargetObject.</summary>
        public object? Target { get; }

        /// <summary>True for faults worth retrying (a NAS share dropping out), false for permanent ones.</summary>
        public bool IsTransient { get; init; }
    }
}
