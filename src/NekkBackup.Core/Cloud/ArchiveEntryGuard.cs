using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Folder;

namespace NekkBackup.Core.Cloud
{
    /// <summary>What the restore does with one tar entry the guard accepted.</summary>
    internal sealed class ArchiveEntryVerdict
    {
        /// <summary>The manifest's record of a regular file (null for a directory).</summary>
        public ArchiveManifestEntry? File { get; init; }
        public bool IsDirectory => File == null;
    }

    /// <summary>
    /// Everything read back from an archive is untrusted: the manifest and every tar entry pass through here
    /// before any other code sees them, and nothing is written outside the restore target. One place decides:
    /// names (no '..', '.', empty or absolute segments, no drive letters or backslashes, no NUL; on Windows no
    /// ':' streams, reserved device names or trailing dots/spaces), types (regular files and directories only:
    /// symbolic and hard links, devices and FIFOs are refused), duplicates, sizes (never past the object's end,
    /// always equal to the manifest's), and agreement with the manifest (every file entry must be the manifest's
    /// entry at the same data offset). Target paths are resolved under the target and no existing folder on
    /// the way may be a link.
    /// </summary>
    internal static class ArchiveEntryGuard
    {
        public const int MaxNameLength = 4096;
        private static readonly string[] WindowsDeviceNames =
            { "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9" };

        internal static StringComparer NameComparer => OperatingSystemInfo.IsWindows ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal;

        /// <summary>Why a relative '/'-separated name may not be written under a target, or null when it may.</summary>
        public static string? NameProblem(string name, bool windows)
        {
            if (string.IsNullOrEmpty(name)) return "the name is empty";
            if (name.Length > MaxNameLength) return $"the name is longer than {MaxNameLength} characters";
            if (name.IndexOf('\0') >= 0) return "the name contains a NUL character";
            if (name[0] == '/') return "the name is absolute";
            if (name.IndexOf('\\') >= 0) return "the name contains a backslash";
            if (name.Length >= 2 && name[1] == ':' && char.IsLetter(name[0])) return "the name starts with a drive letter";
            foreach (var seg in name.Split('/'))
            {
                if (seg.Length == 0) return "the name has an empty segment";
                if (seg == "." || seg == "..") return $"the name has a '{seg}' segment";
                if (!windows) continue;
                if (seg.IndexOfAny(new[] { ':', '<', '>', '"', '|', '?', '*' }) >= 0 || seg.Any(c => c < 32))
                    return "the name has a character Windows forbids (an alternate data stream or a wildcard)";
                if (seg.EndsWith(".", StringComparison.Ordinal) || seg.EndsWith(" ", StringComparison.Ordinal))
                    return "a segment ends with a dot or a space (Windows would write another name)";
                var stem = seg.Split('.')[0].TrimEnd(' ');
                if (WindowsDeviceNames.Contains(stem, StringComparer.OrdinalIgnoreCase)) return $"'{seg}' is a Windows device name";
            }
            return null;
        }

        /// <summary>Checks a downloaded archive manifest once, before anything uses it.</summary>
        public static ArchiveManifest ValidateManifest(ArchiveManifest? m, string archiveId, string expectedKey, string label)
        {
            NekkBackupException Bad(string what) => Fail.InvalidData("ManifestCorrupt", $"The archive manifest '{label}' is damaged: {what}.", label);
            if (m == null || m.Format != ArchiveManifest.FormatName) throw Bad($"it is not a '{ArchiveManifest.FormatName}' manifest");
            if (m.ArchiveId != archiveId) throw Bad($"it names archive '{m.ArchiveId}', not '{archiveId}'");
            if (m.Key != expectedKey) throw Bad($"it points at '{m.Key}' instead of '{expectedKey}'");
            if (m.TarBytes < 1024 || m.TarBytes % TarReader.Block != 0) throw Bad($"the tar size {m.TarBytes} is not a tar's size");
            if (m.Files == null) throw Bad("it lists no files");
            var paths = new HashSet<string>(NameComparer);
            var offsets = new HashSet<long>();
            foreach (var f in m.Files)
            {
                if (f == null) throw Bad("it has an empty file record");
                var problem = NameProblem(f.Path, OperatingSystemInfo.IsWindows);
                if (problem != null)
                    throw new NekkBackupException("UnsafePath", FailureKind.SecurityError, $"The archive manifest '{label}' lists '{f.Path}': {problem}. Nothing was restored.", f.Path);
                if (!Validation.ContentHash.IsSha256Hex(f.Hash)) throw Bad($"'{f.Path}' has no valid SHA-256");
                if (f.Size < 0 || f.Offset < TarReader.Block || f.Offset % TarReader.Block != 0 || f.Offset > m.TarBytes - f.Size)
                    throw Bad($"'{f.Path}' has an impossible size or offset ({f.Size} bytes at {f.Offset})");
                if (!paths.Add(f.Path)) throw Bad($"'{f.Path}' is listed twice");
                if (!offsets.Add(f.Offset)) throw Bad($"two files share the offset {f.Offset}");
            }
            return m;
        }

        /// <summary>
        /// THE check of one tar entry. Returns what to do with it, or throws NekkBackup.UnsafeArchiveEntry
        /// (SecurityError) naming the entry and the reason; the caller skips the entry's data and goes on.
        /// </summary>
        public static ArchiveEntryVerdict Check(TarEntry e, ArchiveIndex index, ISet<string> seen, long objectLength)
        {
            NekkBackupException Refuse(string why) => new("UnsafeArchiveEntry", FailureKind.SecurityError,
                $"The archive entry '{Printable(e.Name)}' at offset {e.HeaderOffset} is refused: {why}; nothing was written for it.", e.Name);

            if (e.Size < 0 || e.DataOffset > objectLength || e.Size > objectLength - e.DataOffset)
                throw Refuse($"it claims {e.Size} bytes, past the end of the {objectLength}-byte archive");
            var name = e.IsDirectory && e.Name.EndsWith("/", StringComparison.Ordinal) ? e.Name.Substring(0, e.Name.Length - 1) : e.Name;
            var problem = NameProblem(name, OperatingSystemInfo.IsWindows);
            if (problem != null) throw Refuse(problem);
            switch (e.Type)
            {
                case '1': throw Refuse($"it is a hard link to '{Printable(e.LinkName)}'");
                case '2': throw Refuse($"it is a symbolic link to '{Printable(e.LinkName)}'");
                case '3': case '4': throw Refuse("it is a device node");
                case '6': throw Refuse("it is a FIFO");
            }
            if (!e.IsRegularFile && !e.IsDirectory) throw Refuse($"its type '{e.Type}' is not a regular file or a directory");
            if (!seen.Add(name)) throw Refuse("the archive holds this name twice");
            if (e.IsDirectory)
            {
                if (!index.Directories.Contains(name)) throw Refuse("the manifest has no file under this directory");
                return new ArchiveEntryVerdict();
            }
            if (!index.ByOffset.TryGetValue(e.DataOffset, out var f))
                throw Refuse("the manifest lists no file at this offset");
            if (!string.Equals(f.Path, name, StringComparison.Ordinal))
                throw Refuse($"the manifest names the file at this offset '{f.Path}'");
            if (f.Size != e.Size) throw Refuse($"the manifest records {f.Size} bytes, the entry claims {e.Size}");
            return new ArchiveEntryVerdict { File = f };
        }

        /// <summary>The full path of a checked name under <paramref name="root"/>; UnsafePath when it would leave it.</summary>
        public static string TargetPath(string root, string name)
        {
            var full = Path.GetFullPath(Path.Combine(root, name.Replace('/', Path.DirectorySeparatorChar)));
            if (!FolderBackupEngine.IsInside(full, root) || string.Equals(full.TrimEnd(Path.DirectorySeparatorChar), root.TrimEnd(Path.DirectorySeparatorChar), StringComparison.Ordinal))
                throw new NekkBackupException("UnsafePath", FailureKind.SecurityError, $"'{Printable(name)}' would be written outside the target '{root}'; it is skipped.", name);
            return full;
        }

        /// <summary>Creates the folders from <paramref name="root"/> down to <paramref name="dir"/>, refusing any existing link on the way.</summary>
        public static void EnsureSafeDirectory(string root, string dir, ISet<string> known)
        {
            if (known.Contains(dir)) return;
            var rootTrim = root.TrimEnd(Path.DirectorySeparatorChar);
            var rel = dir.Length > rootTrim.Length ? dir.Substring(rootTrim.Length).Trim(Path.DirectorySeparatorChar) : "";
            var cur = rootTrim;
            foreach (var seg in rel.Split(new[] { Path.DirectorySeparatorChar }, StringSplitOptions.RemoveEmptyEntries))
            {
                cur = Path.Combine(cur, seg);
                if (known.Contains(cur)) continue;
                var di = new DirectoryInfo(cur);
                if (IsLink(cur))
                    throw new NekkBackupException("UnsafePath", FailureKind.SecurityError, $"'{cur}' in the restore target is a link; NekkBackup does not write through links.", cur);
                if (!di.Exists) Directory.CreateDirectory(cur);
                known.Add(cur);
            }
        }

        /// <summary>True when a path exists as a symbolic link or reparse point (never followed).</summary>
        public static bool IsLink(string path)
        {
            try
            {
#if NET
                return new FileInfo(path).LinkTarget != null;
#else
                return (File.Exists(path) || Directory.Exists(path)) && (File.GetAttributes(path) & FileAttributes.ReparsePoint) != 0;
#endif
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return false;
            }
        }

        /// <summary>A name as it can be shown in a message (control characters escaped, long names cut).</summary>
        internal static string Printable(string s)
        {
            var sb = new System.Text.StringBuilder();
            foreach (var c in s.Length > 300 ? s.Substring(0, 300) + "…" : s)
                sb.Append(c < 32 ? $"\\x{(int)c:x2}" : c.ToString());
            return sb.ToString();
        }
    }

    /// <summary>A validated manifest indexed for the guard: files by data offset, and every folder that holds one.</summary>
    internal sealed class ArchiveIndex
    {
        public ArchiveIndex(ArchiveManifest m)
        {
            foreach (var f in m.Files)
            {
                ByOffset[f.Offset] = f;
                var parts = f.Path.Split('/');
                for (int i = 1; i < parts.Length; i++) Directories.Add(string.Join("/", parts, 0, i));
            }
        }

        public Dictionary<long, ArchiveManifestEntry> ByOffset { get; } = new();
        public HashSet<string> Directories { get; } = new(ArchiveEntryGuard.NameComparer);
    }
}
