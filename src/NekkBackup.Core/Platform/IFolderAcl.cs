namespace NekkBackup.Core
{
    /// <summary>
    /// The Windows ACL operations that keep NekkBackup's data folder private to SYSTEM and Administrators
    /// (windows-notes.md §4.4), as a seam.
    /// </summary>
    public interface IFolderAcl
    {
        /// <summary>
        /// True when the folder is owned by SYSTEM or Administrators and its DACL is protected (no inheritance) and
        /// grants access to SYSTEM and Administrators only.
        /// </summary>
        bool IsLockedDown(string directory);

        /// <summary>Owner Administrators; DACL SYSTEM + Administrators full control, inherited by everything inside; inheritance from the parent off.</summary>
        void LockDown(string directory);

        /// <summary>Owner Administrators; explicit entries removed; inherits its parent's (locked) ACL. For what was already inside a folder just locked down.</summary>
        void ResetToInherited(string path, bool isDirectory);
    }
}
