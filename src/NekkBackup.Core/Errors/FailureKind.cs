namespace NekkBackup.Core.Errors
{
    /// <summary>What kind of failure an error is; the cmdlet layer maps it to an ErrorCategory in one place.</summary>
    public enum FailureKind
    {
        InvalidArgument,
        NotFound,
        PermissionDenied,
        InvalidData,
        InvalidOperation,
        ResourceUnavailable,
        ResourceExists,
        NotSupported,
        LimitsExceeded,
        ConnectionError,
        ReadError,
        WriteError,
        SecurityError,
        OperationStopped,
    }
}
