using System;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Folder
{
    /// <summary>
    /// A run that had to stop (e.g. NekkBackup.DestinationFull). Thrown after cleanup; <see cref="Run"/>
    /// is the run record (Status Failed) so the cmdlet can still write it. The last good run is intact.
    /// </summary>
    public sealed class FolderBackupException : NekkBackupException
    {
        public FolderBackupException(NekkBackupException cause, FolderBackupRun run)
            : base(cause.ErrorId, cause.Kind, cause.Message, cause.Target, cause)
        {
            Run = run;
        }

        public FolderBackupRun Run { get; }
    }
}
