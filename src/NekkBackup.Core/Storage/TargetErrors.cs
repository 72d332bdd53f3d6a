using System;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Storage
{
    /// <summary>The shared part of every target's <see cref="IBackupTarget.IsPermanent"/>.</summary>
    public static class TargetErrors
    {
        /// <summary>
        /// Permanent: cancellation, a <see cref="NekkBackupException"/> not marked transient, argument errors.
        /// Transient: a <see cref="NekkBackupException"/> marked so (a dropped share, a 503, a reset), timeouts.
        /// Anything unknown counts as permanent: a retry loop must never spin on a bug.
        /// </summary>
        public static bool IsPermanent(Exception error) => error switch
        {
            OperationCanceledException => true,
            NekkBackupException n => !n.IsTransient,
            TimeoutException => false,
            _ => true,
        };

        public static bool IsNotFound(Exception error) => error is TargetException { ErrorKind: TargetErrorKind.NotFound };
    }
}
