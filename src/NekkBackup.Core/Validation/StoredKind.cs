namespace NekkBackup.Core.Validation
{
    /// <summary>What a path in a store is, seen without following a final link (lstat / GetFileAttributes).</summary>
    public enum StoredKind
    {
        Missing,
        File,
        Directory,
        Link,
        Fifo,
        Device,
        Socket,
        Other,
    }

    internal static class StoredKindText
    {
        /// <summary>"is a FIFO (named pipe)", … — for messages that name what was found where a file belongs.</summary>
        public static string Describe(StoredKind kind) => kind switch
        {
            StoredKind.Missing => "is missing",
            StoredKind.File => "is a file",
            StoredKind.Directory => "is a folder",
            StoredKind.Link => "is a symbolic link or junction (NekkBackup does not follow links in its metadata)",
            StoredKind.Fifo => "is a FIFO (named pipe), not a regular file",
            StoredKind.Device => "is a device, not a regular file",
            StoredKind.Socket => "is a socket, not a regular file",
            _ => "is not a regular file",
        };
    }
}
