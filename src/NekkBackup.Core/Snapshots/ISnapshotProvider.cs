using System;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Snapshots
{
    /// <summary>Lets a provider rewrite its state entry the moment it learns something (e.g. the VSS shadow id).</summary>
    public interface ISnapshotJournal
    {
        void Update(string previousId, SnapshotRecord record);
    }

    /// <summary>
    /// One snapshot technology. Prepare finds what to snapshot and fills the record (the intent the
    /// manager writes before Create); Create makes it; Delete/Exists work from a record alone, so a later
    /// process can clean up what a crashed one left.
    /// </summary>
    public interface ISnapshotProvider
    {
        SnapshotProviderKind Kind { get; }

        /// <summary>
        /// Fills <paramref name="record"/> (SnapshotId, Volume, SnapshotPath when known, Data) for
        /// <paramref name="fullPath"/>. Throws NekkBackup.SnapshotUnsupported (NotSupported) when this
        /// provider cannot snapshot the volume holding the path. Changes nothing on disk.
        /// </summary>
        Task PrepareAsync(string fullPath, SnapshotRecord record, CancellationToken cancellationToken);

        /// <summary>Creates the snapshot described by <paramref name="record"/>; updates it through the journal.</summary>
        Task CreateAsync(SnapshotRecord record, ISnapshotJournal journal, CancellationToken cancellationToken);

        /// <summary>Removes the snapshot (and any mount it needed). A snapshot that is already gone is not an error.</summary>
        Task DeleteAsync(SnapshotRecord record, CancellationToken cancellationToken);

        /// <summary>True when the recorded snapshot still exists; null when that cannot be known (e.g. VSS intent without id).</summary>
        Task<bool?> ExistsAsync(SnapshotRecord record, CancellationToken cancellationToken);
    }

    /// <summary>
    /// A provider that can also snapshot a whole block device or volume without mounting it (Ghost
    /// images read the snapshot's device). The record it prepares is marked <see cref="SnapshotRecord.IsBlock"/>;
    /// CreateAsync then sets SnapshotPath to the snapshot's device path, and DeleteAsync/ExistsAsync work
    /// as for any record, so orphans are cleaned up the same way.
    /// </summary>
    public interface IBlockSnapshotProvider : ISnapshotProvider
    {
        /// <summary>
        /// Fills <paramref name="record"/> for the device <paramref name="device"/> (as the user named it).
        /// Throws NekkBackup.SnapshotUnsupported when this provider cannot snapshot that device. Changes nothing.
        /// </summary>
        Task PrepareDeviceAsync(string device, SnapshotRecord record, CancellationToken cancellationToken);
    }

    public static class SnapshotErrors
    {
        public const string UnsupportedReason = "SnapshotUnsupported";

        public static NekkBackupException Unsupported(string message, object? target) =>
            new(UnsupportedReason, FailureKind.NotSupported, message, target);

        public static bool IsUnsupported(Exception ex) =>
            ex is NekkBackupException n && n.Kind == FailureKind.NotSupported;

        /// <summary>A sortable, unique name for a snapshot: nekk_20261125T153400Z_1a2b3c4d.</summary>
        public static string NewName() =>
            "nekk_" + DateTime.UtcNow.ToString("yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture) + "_" + Guid.NewGuid().ToString("N").Substring(0, 8);
    }
}
