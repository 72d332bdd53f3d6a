using System;
using System.Linq;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Snapshots;

namespace NekkBackup.Core.Imaging
{
    /// <summary>
    /// Windows: the image is written as a fixed VHD (the volume wrapped in an MBR, windows-notes.md §3) and attached
    /// read-only with the Storage module (`Mount-DiskImage -Access ReadOnly -NoDriveLetter`); its partition gets the
    /// mount folder as an access path (`Add-PartitionAccessPath`). Undo: `Remove-PartitionAccessPath`, then
    /// `Dismount-DiskImage`. The scripts run in Windows PowerShell (powershell.exe, present on every supported
    /// Windows) as -EncodedCommand, so no path needs shell quoting; they print NEKK-* lines that are parsed here.
    /// </summary>
    public sealed class WindowsDiskImageMounter : IImageMounter
    {
        public const string Shell = "powershell.exe";
        private readonly IProcessRunner _runner;
        private readonly Func<bool> _isElevated;

        public WindowsDiskImageMounter(IProcessRunner runner, Func<bool>? isElevated = null)
        {
            _runner = runner;
            _isElevated = isElevated ?? (() => OperatingSystemInfo.IsElevated);
        }

        public GhostRestoreFormat Format => GhostRestoreFormat.Vhd;

        public string? Unavailable()
        {
            if (!_isElevated()) return "attaching a VHD (Mount-DiskImage) needs an elevated session (Administrator or SYSTEM)";
            if (!_runner.HasTool(Shell)) return "Windows PowerShell (powershell.exe) was not found; Mount-DiskImage runs in it";
            return null;
        }

        /// <summary>A PowerShell single-quoted literal.</summary>
        public static string Quote(string s) => "'" + s.Replace("'", "''") + "'";

        private static string Folder(string mountPoint) => mountPoint.TrimEnd('\\') + "\\";

        public static string AttachScript(string vhd, string mountPoint) =>
            "$ErrorActionPreference = 'Stop'\n" +
            $"$null = Mount-DiskImage -ImagePath {Quote(vhd)} -StorageType VHD -Access ReadOnly -NoDriveLetter\n" +
            $"$img = Get-DiskImage -ImagePath {Quote(vhd)}\n" +
            "if (-not $img.Attached -or $null -eq $img.Number) { throw 'the VHD did not attach as a disk' }\n" +
            "\"NEKK-DISK=$($img.Number)\"\n" +
            "$part = Get-Partition -DiskNumber $img.Number | Where-Object { $_.Type -ne 'Reserved' } | Sort-Object Size -Descending | Select-Object -First 1\n" +
            "if (-not $part) { throw 'the attached disk has no partition' }\n" +
            $"Add-PartitionAccessPath -DiskNumber $img.Number -PartitionNumber $part.PartitionNumber -AccessPath {Quote(Folder(mountPoint))}\n" +
            "$vol = Get-Volume -Partition $part\n" +
            "\"NEKK-FS=$($vol.FileSystem)\"\n";

        public static string DetachScript(string vhd, string mountPoint) =>
            "$ErrorActionPreference = 'Stop'\n" +
            $"$img = Get-DiskImage -ImagePath {Quote(vhd)} -ErrorAction SilentlyContinue\n" +
            "if ($img -and $img.Attached) {\n" +
            "  Get-Partition -DiskNumber $img.Number -ErrorAction SilentlyContinue |\n" +
            $"    Where-Object {{ $_.AccessPaths -contains {Quote(Folder(mountPoint))} }} |\n" +
            $"    ForEach-Object {{ Remove-PartitionAccessPath -DiskNumber $_.DiskNumber -PartitionNumber $_.PartitionNumber -AccessPath {Quote(Folder(mountPoint))} }}\n" +
            $"  $null = Dismount-DiskImage -ImagePath {Quote(vhd)}\n" +
            "}\n" +
            "'NEKK-DETACHED'\n";

        public static string StatusScript(string vhd) =>
            $"$img = Get-DiskImage -ImagePath {Quote(vhd)} -ErrorAction SilentlyContinue\n" +
            "if ($img -and $img.Attached) { 'NEKK-ATTACHED' } else { 'NEKK-NOT-ATTACHED' }\n";

        /// <summary>powershell.exe arguments running <paramref name="script"/> (UTF-16LE base64, as -EncodedCommand takes it).</summary>
        public static string[] Arguments(string script) =>
            new[] { "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-EncodedCommand", Convert.ToBase64String(Encoding.Unicode.GetBytes(script)) };

        /// <summary>Reads NEKK-DISK / NEKK-FS from the attach script's output.</summary>
        public static (string? Disk, string? FileSystem) ParseAttach(string output)
        {
            string? disk = null, fs = null;
            foreach (var raw in output.Split('\n'))
            {
                var line = raw.Trim();
                if (line.StartsWith("NEKK-DISK=", StringComparison.Ordinal) && int.TryParse(line.Substring(10), out var n) && n >= 0) disk = n.ToString(System.Globalization.CultureInfo.InvariantCulture);
                else if (line.StartsWith("NEKK-FS=", StringComparison.Ordinal)) fs = line.Substring(8).Trim();
            }
            return (disk, fs);
        }

        public async Task<(string Device, string FileSystem)> AttachAsync(string imageFile, string mountPoint, Action<string> attached, CancellationToken ct)
        {
            var r = await _runner.RunAsync(Shell, Arguments(AttachScript(imageFile, mountPoint)), ct).ConfigureAwait(false);
            var (disk, fs) = ParseAttach(r.StdOut);
            if (disk != null) attached("disk " + disk);
            if (r.ExitCode != 0 || disk == null)
                throw Fail.InvalidOperation("MountFailed", $"Mount-DiskImage could not attach '{imageFile}': {Message(r)}", imageFile);
            var fileSystem = string.IsNullOrEmpty(fs) ? "unknown" : fs!.ToLowerInvariant();
            return ("disk " + disk, fileSystem);
        }

        public async Task DetachAsync(MountRecord record, CancellationToken ct)
        {
            if (string.IsNullOrEmpty(record.ImageFile)) return;
            var r = await _runner.RunAsync(Shell, Arguments(DetachScript(record.ImageFile, record.MountPoint)), ct).ConfigureAwait(false);
            if (r.ExitCode != 0 || r.StdOut.IndexOf("NEKK-DETACHED", StringComparison.Ordinal) < 0)
            {
                var msg = Message(r);
                if (msg.IndexOf("in use", StringComparison.OrdinalIgnoreCase) >= 0 || msg.IndexOf("being used", StringComparison.OrdinalIgnoreCase) >= 0)
                    throw new NekkBackupException("MountBusy", FailureKind.ResourceUnavailable, $"'{record.MountPoint}' is in use ({msg}); close what uses it and run Dismount-NekkGhostImage again.", record.MountPoint);
                throw Fail.InvalidOperation("DismountFailed", $"Dismount-DiskImage of '{record.ImageFile}' failed: {msg}", record.MountPoint);
            }
        }

        public async Task<bool> IsLiveAsync(MountRecord record, CancellationToken ct)
        {
            if (string.IsNullOrEmpty(record.ImageFile)) return false;
            var r = await _runner.RunAsync(Shell, Arguments(StatusScript(record.ImageFile)), ct).ConfigureAwait(false);
            return r.StdOut.Split('\n').Any(l => l.Trim() == "NEKK-ATTACHED");
        }

        private static string Message(ProcessOutput r)
        {
            var text = (r.StdErr.Trim().Length > 0 ? r.StdErr : r.StdOut).Trim();
            return text.Length > 600 ? text.Substring(0, 600) + "…" : text.Length == 0 ? $"exit code {r.ExitCode}" : text;
        }
    }
}
