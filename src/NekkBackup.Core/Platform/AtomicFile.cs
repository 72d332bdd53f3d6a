using System;
using System.IO;

namespace NekkBackup.Core
{
    /// <summary>
    /// The one commit primitive every capability uses for its small state files (run manifests, image
    /// manifests, locks, the snapshot state file, upload journals, fleet status): write a temp file beside
    /// the target, fsync it, rename it into place. A crash leaves the old file or the new one, never half.
    /// </summary>
    public static class AtomicFile
    {
        /// <summary>Temp name prefix after the target's name; readers skip and cleaners remove "&lt;name&gt;.tmp-*".</summary>
        public const string TempMarker = ".tmp-";

        /// <summary>
        /// Writes <paramref name="bytes"/> to <paramref name="path"/> atomically. With <paramref name="overwrite"/>
        /// false an existing file is an IOException (first writer wins) and nothing is replaced.
        /// </summary>
        public static void Write(string path, byte[] bytes, bool overwrite = true)
        {
            var tmp = path + TempMarker + Guid.NewGuid().ToString("N").Substring(0, 8);
            try
            {
                using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
                {
                    fs.Write(bytes, 0, bytes.Length);
                    fs.Flush(true);
                }
                if (overwrite) MoveOverwrite(tmp, path);
                else File.Move(tmp, path);
            }
            finally
            {
                try { if (File.Exists(tmp)) File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
        }

        /// <summary>Renames <paramref name="from"/> over <paramref name="to"/> (replacing it when it exists).</summary>
        public static void MoveOverwrite(string from, string to)
        {
#if NET
            File.Move(from, to, true);
#else
            if (File.Exists(to))
            {
                File.Replace(from, to, null, true);
                return;
            }
            File.Move(from, to);
#endif
        }
    }
}
