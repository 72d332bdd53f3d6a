using System;
using System.Collections.Generic;
using System.IO;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Validation
{
    /// <summary>
    /// A folder NekkBackup keeps its own files in and reads back (a backup destination, an image repository, a status
    /// folder, the data folder). The root itself is the user's choice and may sit behind links; everything below it is
    /// confined to it after normalisation and after resolving links: a folder on the way that is a link (or a file) is
    /// refused before anything is read or written through it, a file is opened only when it is a regular file
    /// (lstat first, then an open that neither follows a final link nor blocks on a FIFO), and what was opened is
    /// re-confined by its real path. Every refusal is a named <see cref="NekkBackupException"/>.
    /// </summary>
    public sealed class StoreRoot
    {
        private static readonly StringComparison Cmp = OperatingSystemInfo.IsWindows ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        private string? _real;
        private bool _realKnown;

        public StoreRoot(string path, string what = "the store")
        {
            if (string.IsNullOrWhiteSpace(path)) throw Fail.Argument("InvalidPath", "No folder was given.");
            Path = Trim(System.IO.Path.GetFullPath(path));
            What = what;
        }

        /// <summary>The normalised root folder.</summary>
        public string Path { get; }

        /// <summary>What the root is, for messages ("the repository").</summary>
        public string What { get; }

        private static string Trim(string full)
        {
            var root = System.IO.Path.GetPathRoot(full) ?? "";
            return full.Length > root.Length ? full.TrimEnd(System.IO.Path.DirectorySeparatorChar, System.IO.Path.AltDirectorySeparatorChar) : full;
        }

        /// <summary>True when <paramref name="full"/> (normalised) is the root or below it — a string check only.</summary>
        public bool Contains(string full) => IsBelow(full, Path, orEqual: true);

        internal static bool IsBelow(string inner, string outer, bool orEqual)
        {
            if (string.Equals(inner, outer, Cmp)) return orEqual;
            var o = outer.EndsWith(System.IO.Path.DirectorySeparatorChar.ToString(), StringComparison.Ordinal) ? outer : outer + System.IO.Path.DirectorySeparatorChar;
            return inner.StartsWith(o, Cmp);
        }

        /// <summary>root/segments…, normalised; UnsafePath when the result is not below the root.</summary>
        public string Combine(params string[] segments)
        {
            var parts = new string[segments.Length + 1];
            parts[0] = Path;
            Array.Copy(segments, 0, parts, 1, segments.Length);
            string full;
            try { full = Trim(System.IO.Path.GetFullPath(System.IO.Path.Combine(parts))); }
            catch (Exception e) when (e is ArgumentException || e is NotSupportedException || e is PathTooLongException)
            {
                throw Unsafe(string.Join("/", segments), $"is not a usable path ({e.Message})");
            }
            if (!IsBelow(full, Path, orEqual: false) || string.Join("", segments).IndexOf('\0') >= 0)
                throw Unsafe(string.Join("/", segments), "would leave " + What);
            return full;
        }

        private NekkBackupException Unsafe(string item, string problem) =>
            new(Reasons.UnsafePath, FailureKind.SecurityError, $"'{item}' {problem} ('{Path}'); NekkBackup does not read or write outside it.", item);

        /// <summary>What <paramref name="full"/> is, without following a final link (Missing when a folder on the way is missing).</summary>
        public StoredKind Kind(string full)
        {
            try { return NativeFs.KindOf(full); }
            catch (Exception e) when (e is IOException || e is UnauthorizedAccessException) { return StoredKind.Other; }
        }

        /// <summary>The folders strictly between the root and <paramref name="full"/>, outermost first.</summary>
        private IEnumerable<string> Between(string full)
        {
            if (!IsBelow(full, Path, orEqual: false)) throw Unsafe(full, "is not inside " + What);
            var rel = full.Substring(Path.Length).TrimStart(System.IO.Path.DirectorySeparatorChar, System.IO.Path.AltDirectorySeparatorChar);
            var segs = rel.Split(System.IO.Path.DirectorySeparatorChar, System.IO.Path.AltDirectorySeparatorChar);
            var cur = Path;
            for (int i = 0; i < segs.Length - 1; i++)
            {
                cur = System.IO.Path.Combine(cur, segs[i]);
                yield return cur;
            }
        }

        /// <summary>
        /// What stands between the root and <paramref name="full"/>: Directory when every folder on the way is a real
        /// folder, else the first that is not (Link, Missing, File, Fifo…), in <paramref name="at"/>. Never throws.
        /// </summary>
        public StoredKind ParentsKind(string full, out string at)
        {
            foreach (var dir in Between(full))
            {
                var k = Kind(dir);
                if (k != StoredKind.Directory) { at = dir; return k; }
            }
            at = "";
            return StoredKind.Directory;
        }

        /// <summary>
        /// Refuses <paramref name="full"/> when a folder between the root and it is a link (UnsafePath). Returns false
        /// when one is missing or is not a folder (a file, a FIFO…): then nothing can be at <paramref name="full"/>.
        /// </summary>
        public bool CheckParents(string full, string reason)
        {
            var k = ParentsKind(full, out var at);
            if (k == StoredKind.Link) throw LinkRefused(at);
            return k == StoredKind.Directory;
        }

        private NekkBackupException LinkRefused(string dir) =>
            new(Reasons.UnsafePath, FailureKind.SecurityError,
                $"'{dir}' in {What} '{Path}' is a symbolic link or junction; NekkBackup does not read or write through links in its own files.", dir);

        private NekkBackupException NotFolder(string dir, StoredKind k, string reason) =>
            Fail.InvalidData(reason, $"'{dir}' in {What} '{Path}' should be a folder, but {StoredKindText.Describe(k)}.", dir);

        /// <summary>Creates <paramref name="dir"/> and the folders on the way; a link or a file among them is refused (nothing is created through it).</summary>
        public string EnsureDirectory(string dir, string reason)
        {
            if (string.Equals(dir, Path, Cmp)) return dir;
            foreach (var d in Between(System.IO.Path.Combine(dir, "x")))
            {
                var k = Kind(d);
                if (k == StoredKind.Directory) continue;
                if (k == StoredKind.Link) throw LinkRefused(d);
                if (k != StoredKind.Missing) throw NotFolder(d, k, reason);
                try { Directory.CreateDirectory(d); }
                catch (IOException) when (Kind(d) == StoredKind.Directory) { }
                k = Kind(d);
                if (k == StoredKind.Link) throw LinkRefused(d);
                if (k != StoredKind.Directory) throw NotFolder(d, k, reason);
            }
            return dir;
        }

        /// <summary>
        /// Opens a regular file below the root for reading; null when it (or a folder on the way) does not exist.
        /// A link, FIFO, device, socket or folder in its place is <paramref name="reason"/> naming the file.
        /// </summary>
        public FileStream? OpenRead(string file, string reason, string what) => Open(file, reason, what, append: false);

        /// <summary>Opens (creating when missing) a regular file below the root for appending; the folder must exist.</summary>
        public FileStream OpenAppend(string file, string reason, string what) =>
            Open(file, reason, what, append: true) ?? throw Fail.NotFound("ItemVanished", $"The folder of '{file}' does not exist.", file);

        private FileStream? Open(string file, string reason, string what, bool append)
        {
            if (!CheckParents(file, reason)) return null;
            FileStream? fs;
            try { fs = NativeFs.OpenRegular(file, append); }
            catch (NotRegularFileException e) { throw StoredCheck.Damage(reason, file, what, "", StoredKindText.Describe(e.Kind), e); }
            if (fs == null) return null;
            try
            {
                Reconfine(fs, file);
                return fs;
            }
            catch
            {
                fs.Dispose();
                throw;
            }
        }

        /// <summary>After links were resolved by the open, what was opened must still be below the root.</summary>
        private void Reconfine(FileStream fs, string file)
        {
            var real = NativeFs.RealPath(fs.SafeFileHandle);
            var root = RealRoot();
            if (real == null || root == null) return; // the platform cannot tell: the folder checks above stand
            if (!IsBelow(real, root, orEqual: false))
                throw Unsafe(file, $"resolves to '{real}', outside {What}");
        }

        private string? RealRoot()
        {
            if (!_realKnown)
            {
                _real = NativeFs.RealDirectoryPath(Path);
                _realKnown = _real != null;
            }
            return _real;
        }

        /// <summary>
        /// Reads a whole regular file of at most <paramref name="maxBytes"/>; null when it does not exist. Larger is
        /// <paramref name="reason"/> (a catalog file is never that big: it is damage, or an attempt to exhaust memory).
        /// </summary>
        public byte[]? ReadAllBytes(string file, long maxBytes, string reason, string what)
        {
            using var fs = OpenRead(file, reason, what);
            if (fs == null) return null;
            long len = fs.Length;
            if (len > maxBytes) throw StoredCheck.Damage(reason, file, what, "", $"is {len:N0} bytes, more than the {maxBytes:N0} such a file can be");
            var buf = new byte[len];
            int got = 0;
            while (got < buf.Length)
            {
                int n = fs.Read(buf, got, buf.Length - got);
                if (n <= 0) break;
                got += n;
            }
            if (got != buf.Length) Array.Resize(ref buf, got);
            return buf;
        }

        /// <summary>
        /// The entries of a folder below the root (or the root), without following links; empty when it is missing.
        /// The folder itself (and those on the way) must not be a link.
        /// </summary>
        public List<(string Path, StoredKind Kind)> List(string dir, string reason, string? suffix = null)
        {
            var result = new List<(string, StoredKind)>();
            if (!string.Equals(dir, Path, Cmp))
            {
                if (!CheckParents(System.IO.Path.Combine(dir, "x"), reason)) return result;
                var k = Kind(dir);
                if (k == StoredKind.Missing) return result;
                if (k == StoredKind.Link) throw LinkRefused(dir);
                if (k != StoredKind.Directory) throw NotFolder(dir, k, reason);
            }
            IEnumerable<string> names;
            try { names = Directory.EnumerateFileSystemEntries(dir); }
            catch (DirectoryNotFoundException) { return result; }
            try
            {
                foreach (var p in names)
                    if (suffix == null || p.EndsWith(suffix, StringComparison.Ordinal)) result.Add((p, Kind(p)));
            }
            catch (DirectoryNotFoundException) { }
            return result;
        }

        /// <summary>Everything but folders below <paramref name="dir"/>, recursively, never entering a linked folder.</summary>
        public IEnumerable<(string Path, StoredKind Kind)> EntriesBelow(string dir, string reason)
        {
            var stack = new Stack<string>();
            stack.Push(dir);
            while (stack.Count > 0)
            {
                foreach (var (p, k) in List(stack.Pop(), reason))
                {
                    if (k == StoredKind.Directory) stack.Push(p);
                    else yield return (p, k);
                }
            }
        }

        /// <summary>Regular files below <paramref name="dir"/>, recursively, never entering a linked folder.</summary>
        public IEnumerable<string> FilesBelow(string dir, string reason)
        {
            foreach (var (p, k) in EntriesBelow(dir, reason))
                if (k == StoredKind.File) yield return p;
        }

        public override string ToString() => Path;
    }
}
