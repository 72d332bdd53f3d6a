namespace NekkBackup.Core.Plans
{
    /// <summary>
    /// The two Win32 calls a NAS connection is made of (windows-notes.md §4.4), as a seam. Both return the Win32
    /// error code (0 = success). There is deliberately no "force": a forced cancel tears down a connection another
    /// SYSTEM process (a concurrent run, an Intune detection) is copying over.
    /// </summary>
    public interface INasConnector
    {
        /// <summary>WNetAddConnection2(RESOURCETYPE_DISK, no local name, <paramref name="share"/>, secret, user, CONNECT_TEMPORARY).</summary>
        int Connect(string share, string userName, string secret);

        /// <summary>WNetCancelConnection2(<paramref name="share"/>, 0, fForce: FALSE): fails (and keeps it) while files are open.</summary>
        int Disconnect(string share);
    }
}
