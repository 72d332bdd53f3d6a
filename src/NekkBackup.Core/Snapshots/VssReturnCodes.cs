using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Snapshots
{
    /// <summary>
    /// Return values of CIM Win32_ShadowCopy.Create (windows-notes.md §1.2) and the NekkBackup error each
    /// becomes. 9 is retried with back-off; 4 (and 5) mean "this volume cannot be shadow-copied" and make
    /// Auto fall back to reading the live folder.
    /// </summary>
    public static class VssReturnCodes
    {
        public const uint Success = 0;
        public const uint AccessDenied = 1;
        public const uint InvalidArgument = 2;
        public const uint VolumeNotFound = 3;
        public const uint VolumeNotSupported = 4;
        public const uint UnsupportedContext = 5;
        public const uint InsufficientStorage = 6;
        public const uint VolumeInUse = 7;
        public const uint MaximumShadowCopiesReached = 8;
        public const uint AnotherOperationInProgress = 9;
        public const uint ProviderVetoed = 10;
        public const uint ProviderNotRegistered = 11;
        public const uint ProviderFailure = 12;
        public const uint UnknownError = 13;

        /// <summary>Null for 0, else the error to throw for <paramref name="code"/>.</summary>
        public static NekkBackupException? ToException(uint code, string volume)
        {
            string v = volume;
            switch (code)
            {
                case Success:
                    return null;
                case AccessDenied:
                    return new NekkBackupException("SnapshotAccessDenied", FailureKind.PermissionDenied, $"VSS refused to shadow-copy {v}: access denied (code 1). Run elevated (Administrators, Backup Operators or SYSTEM).", v);
                case InvalidArgument:
                    return new NekkBackupException("SnapshotInvalidArgument", FailureKind.InvalidArgument, $"VSS rejected the arguments for {v} (code 2).", v);
                case VolumeNotFound:
                    return new NekkBackupException("SnapshotVolumeNotFound", FailureKind.NotFound, $"VSS did not find the volume {v} (code 3).", v);
                case VolumeNotSupported:
                    return new NekkBackupException(SnapshotErrors.UnsupportedReason, FailureKind.NotSupported, $"The volume {v} does not support shadow copies (code 4; e.g. FAT/exFAT or a network drive).", v);
                case UnsupportedContext:
                    return new NekkBackupException("SnapshotContextUnsupported", FailureKind.NotSupported, $"VSS does not support a ClientAccessible shadow copy of {v} on this Windows edition (code 5).", v);
                case InsufficientStorage:
                    return new NekkBackupException("SnapshotInsufficientStorage", FailureKind.LimitsExceeded, $"Not enough shadow storage to shadow-copy {v} (code 6); enlarge it with 'vssadmin resize shadowstorage'.", v);
                case VolumeInUse:
                    return new NekkBackupException("SnapshotVolumeInUse", FailureKind.ResourceUnavailable, $"The volume {v} is in use and cannot be shadow-copied now (code 7).", v);
                case MaximumShadowCopiesReached:
                    return new NekkBackupException("SnapshotLimitReached", FailureKind.LimitsExceeded, $"The volume {v} already has the maximum number of shadow copies (code 8).", v);
                case AnotherOperationInProgress:
                    return new NekkBackupException("SnapshotInProgress", FailureKind.ResourceUnavailable, $"Another shadow copy operation is in progress on {v} (code 9).", v) { IsTransient = true };
                case ProviderVetoed:
                    return new NekkBackupException("SnapshotProviderVetoed", FailureKind.InvalidOperation, $"The shadow copy provider vetoed the shadow copy of {v} (code 10).", v);
                case ProviderNotRegistered:
                    return new NekkBackupException("SnapshotProviderNotRegistered", FailureKind.ResourceUnavailable, $"The shadow copy provider is not registered (code 11) while shadow-copying {v}.", v);
                case ProviderFailure:
                    return new NekkBackupException("SnapshotProviderFailure", FailureKind.InvalidOperation, $"The shadow copy provider failed on {v} (code 12); see the VSS events in the Application log.", v);
                case UnknownError:
                    return new NekkBackupException("SnapshotUnknownError", FailureKind.InvalidOperation, $"VSS reported an unknown error shadow-copying {v} (code 13).", v);
                default:
                    return new NekkBackupException("SnapshotUnknownError", FailureKind.InvalidOperation, $"Win32_ShadowCopy.Create returned the undocumented code {code} for {v}.", v);
            }
        }
    }
}
