using System;
using System.IO;

namespace NekkBackup.Core.Errors
{
    /// <summary>Shorthands for the errors every capability raises.</summary>
    public static class Fail
    {
        public static NekkBackupException Argument(string reason, string message, object? target = null) =>
            new(reason, FailureKind.InvalidArgument, message, target);

        public static NekkBackupException NotFound(string reason, string message, object? target = null) =>
            new(reason, FailureKind.NotFound, message, target);

        public static NekkBackupException InvalidData(string reason, string message, object? target = null, Exception? inner = null) =>
            new(reason, FailureKind.InvalidData, message, target, inner);

        public static NekkBackupException InvalidOperation(string reason, string message, object? target = null, Exception? inner = null) =>
            new(reason, FailureKind.InvalidOperation, message, target, inner);

        /// <summary>Classifies an I/O exception about one item: denied, vanished, disk full, or other I/O.</summary>
        public static NekkBackupException FromIo(Exception ex, string path)
        {
            switch (ex)
            {
                case NekkBackupException n:
                    return n;
                case UnauthorizedAccessException:
                    return new NekkBackupException("AccessDenied", FailureKind.PermissionDenied, $"Access to '{path}' is denied: {ex.Message}", path, ex);
                case FileNotFoundException:
                case DirectoryNotFoundException:
                    return new NekkBackupException("ItemVanished", FailureKind.NotFound, $"'{path}' disappeared while it was being read: {ex.Message}", path, ex);
                case PathTooLongException:
                    return new NekkBackupException("PathTooLong", FailureKind.InvalidArgument, $"The path '{path}' is too long for this file system.", path, ex);
                case IOException io when IsDiskFull(io):
                    return new NekkBackupException("DestinationFull", FailureKind.LimitsExceeded, $"The destination is full while writing '{path}': {ex.Message}", path, ex);
                case IOException io when IsInvalidName(io):
                    return new NekkBackupException("InvalidFileName", FailureKind.InvalidArgument, $"The destination file system refuses the name '{path}': {ex.Message}", path, ex);
                case IOException:
                    return new NekkBackupException("IoError", FailureKind.ReadError, $"I/O error on '{path}': {ex.Message}", path, ex) { IsTransient = true };
                default:
                    return new NekkBackupException("IoError", FailureKind.ReadError, $"Unexpected error on '{path}': {ex.Message}", path, ex);
            }
        }

        // ENOSPC (28) / EDQUOT (122) on Unix; ERROR_DISK_FULL (112) / ERROR_HANDLE_DISK_FULL (39) on Windows.
        public static bool IsDiskFull(IOException ex)
        {
            int code = ex.HResult & 0xFFFF;
            if (code == 112 || code == 39) return OperatingSystemInfo.IsWindows;
            if (code == 28 || code == 122) return !OperatingSystemInfo.IsWindows;
            return ex.Message.IndexOf("No space left", StringComparison.OrdinalIgnoreCase) >= 0
                || ex.Message.IndexOf("not enough space", StringComparison.OrdinalIgnoreCase) >= 0;
        }

        // EINVAL/EILSEQ from a FUSE ntfs-3g mount with windows_names; ERROR_INVALID_NAME (123) on Windows.
        public static bool IsInvalidName(IOException ex)
        {
            int code = ex.HResult & 0xFFFF;
            if (OperatingSystemInfo.IsWindows) return code == 123 || code == 161;
            return code == 22 || code == 84;
        }
    }
}
