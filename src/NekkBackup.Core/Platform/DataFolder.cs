using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core
{
    /// <summary>
    /// Keeps the whole Windows data folder (%ProgramData%\NekkBackup: logs, state, locks, history, credentials)
    /// private to SYSTEM and Administrators (windows-notes.md §4.4, review W9). BUILTIN\Users may create folders in
    /// %ProgramData%, so a standard user could pre-create it, or plant a junction in it, before SYSTEM's first write.
    /// At the first elevated use in a process (<see cref="OperatingSystemInfo.DataDirectory"/> calls
    /// <see cref="EnsureSecured(string)"/>), a folder that is not already locked down is: a root that is itself a link
    /// is replaced by a real folder; the root gets a protected SYSTEM+Administrators ACL (owner Administrators); every
    /// link inside is removed (never followed), everything else is reset to inherit that ACL.
    /// </summary>
    public static class DataFolder
    {
        private static readonly ConcurrentDictionary<string, byte> Secured = new(StringComparer.OrdinalIgnoreCase);

        /// <summary>Once per folder per process, with <see cref="PlatformServices.Current"/>'s ACL service (none: nothing to do).</summary>
        public static void EnsureSecured(string root)
        {
            var acl = PlatformServices.Current.Acl;
            if (acl == null || Secured.ContainsKey(root)) return;
            Secure(root, acl, null);
            Secured.TryAdd(root, 0);
        }

        /// <summary>
        /// Secures <paramref name="root"/> now. Returns what it changed (for logs and tests): "created", "locked",
        /// "removed link &lt;path&gt;", "reset &lt;path&gt;"; nothing when the folder was already locked down.
        /// </summary>
        public static IReadOnlyList<string> Secure(string root, IFolderAcl acl, Action<string>? report)
        {
            var done = new List<string>();
            void Note(string what) { done.Add(what); report?.Invoke(what); }
            try
            {
                if (IsLink(root))
                {
                    RemoveLink(root, true);
                    Note("removed link " + root);
                }
                if (!Directory.Exists(root))
                {
                    Directory.CreateDirectory(root);
                    acl.LockDown(root);
                    Note("created " + root);
                    return done;
                }
                if (acl.IsLockedDown(root)) return done;
                // Lock the root first: from here on no standard user can add anything, then clean what is inside.
                acl.LockDown(root);
                Note("locked " + root);
                Clean(root, acl, Note);
                return done;
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is InvalidOperationException)
            {
                throw new NekkBackupException("DataFolderInsecure", FailureKind.SecurityError,
                    $"Cannot restrict NekkBackup's data folder '{root}' to SYSTEM and Administrators: {ex.Message}. Run elevated, or remove the folder so it is created anew.", root, ex);
            }
        }

        private static void Clean(string dir, IFolderAcl acl, Action<string> note)
        {
            foreach (var path in Directory.EnumerateFileSystemEntries(dir))
            {
                bool isDir = Directory.Exists(path);
                if (IsLink(path))
                {
                    // A junction or symlink planted before the lock: removed, never followed (its target is not ours).
                    RemoveLink(path, isDir);
                    note("removed link " + path);
                    continue;
                }
                acl.ResetToInherited(path, isDir);
                note("reset " + path);
                if (isDir) Clean(path, acl, note);
            }
        }

        private static bool IsLink(string path)
        {
            try { return (File.GetAttributes(path) & FileAttributes.ReparsePoint) != 0; }
            catch (Exception ex) when (ex is FileNotFoundException || ex is DirectoryNotFoundException) { return false; }
        }

        /// <summary>The link itself (RemoveDirectory on Windows for a directory link, unlink elsewhere), not its target.</summary>
        private static void RemoveLink(string path, bool directory)
        {
            if (directory && OperatingSystemInfo.IsWindows) Directory.Delete(path, false);
            else File.Delete(path);
        }
    }
}
