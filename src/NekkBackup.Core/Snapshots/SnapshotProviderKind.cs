namespace NekkBackup.Core.Snapshots
{
    /// <summary>Which snapshot technology to use. Auto picks by platform and file system.</summary>
    public enum SnapshotProviderKind
    {
        Auto,
        Vss,
        Btrfs,
        Lvm,
        None,
    }
}
