using System;
using System.IO;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Imaging
{
    /// <summary>Opens the right <see cref="IBlockSource"/> for what a user named.</summary>
    public static class BlockSources
    {
        public static IBlockSource Open(string source, int maxTransfer = 8 << 20)
        {
            if (string.IsNullOrWhiteSpace(source))
                throw Fail.Argument("SourceMissing", "No source volume, device or image file was given.");
            if (OperatingSystemInfo.IsWindows)
            {
                var device = WindowsDevicePath.ToDevicePath(source);
                if (device != null)
                {
                    try { return WindowsVolume.Open(device, write: false, maxTransfer); }
                    catch (FileNotFoundException) { throw Fail.NotFound("SourceNotFound", $"The volume '{source}' does not exist.", source); }
                    catch (UnauthorizedAccessException e) { throw new NekkBackupException("AccessDenied", FailureKind.PermissionDenied, e.Message, source, e); }
                }
            }
            if (Directory.Exists(source))
                throw Fail.Argument("SourceIsDirectory", $"'{source}' is a folder; a Ghost image captures a volume, a block device or a disk-image file (use Backup-NekkFolder for folders).", source);
            if (!File.Exists(source))
                throw Fail.NotFound("SourceNotFound", $"The source '{source}' does not exist.", source);
            try { return new FileBlockSource(source); }
            catch (UnauthorizedAccessException e) { throw new NekkBackupException("AccessDenied", FailureKind.PermissionDenied, $"Reading '{source}' is denied (raw devices need root): {e.Message}", source, e); }
            catch (IOException e) { throw Fail.FromIo(e, source); }
        }
    }
}
