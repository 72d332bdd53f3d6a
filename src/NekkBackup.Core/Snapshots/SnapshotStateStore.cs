using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Validation;

namespace NekkBackup.Core.Snapshots
{
    /// <summary>
    /// snapshots.json in the data folder: every snapshot this module made and has not removed yet.
    /// Entries are written before the snapshot exists (intent) and updated as soon as it is identified,
    /// so a crash at any point leaves enough to find and remove it; nothing not listed is ever touched.
    /// Each change is a read-modify-write under a lock file, written to a temp file, flushed and renamed.
    /// </summary>
    public sealed class SnapshotStateStore
    {
        private readonly StateFile<StateDocument> _file;

        public SnapshotStateStore(string filePath)
        {
            _file = new StateFile<StateDocument>(filePath, Reasons.SnapshotStateCorrupt, "SnapshotStateLocked", "snapshot state",
                (doc, c) => doc.Snapshots = SnapshotRules.Check(doc.Snapshots, c), SnapshotRules.MaxStateBytes);
        }

        public static string DefaultPath => Path.Combine(OperatingSystemInfo.DataDirectory, "snapshots.json");

        public static SnapshotStateStore Default() => new(DefaultPath);

        public string FilePath => _file.FilePath;

        public IReadOnlyList<SnapshotRecord> Load() => Mutate(list => (list.Select(r => r.Clone()).ToList(), false));

        public void Add(SnapshotRecord record) =>
            Mutate(list =>
            {
                if (list.Any(r => r.SnapshotId == record.SnapshotId))
                    throw new NekkBackupException("SnapshotExists", FailureKind.ResourceExists, $"A snapshot with id '{record.SnapshotId}' is already recorded.", record.SnapshotId);
                list.Add(record.Clone());
                return (0, true);
            });

        /// <summary>Replaces the entry <paramref name="previousId"/> (the id may change, e.g. VSS pending → {GUID}).</summary>
        public void Update(string previousId, SnapshotRecord record) =>
            Mutate(list =>
            {
                int i = list.FindIndex(r => r.SnapshotId == previousId);
                if (i < 0) list.Add(record.Clone());
                else list[i] = record.Clone();
                return (0, true);
            });

        public bool Remove(string snapshotId) =>
            Mutate(list => { int n = list.RemoveAll(r => r.SnapshotId == snapshotId); return (n > 0, n > 0); });

        private T Mutate<T>(Func<List<SnapshotRecord>, (T Result, bool Changed)> change) =>
            _file.Mutate(doc =>
            {
                doc.Version = 1;
                doc.Snapshots ??= new List<SnapshotRecord>();
                return change(doc.Snapshots);
            });

        /// <summary>The file's shape: { "Version": 1, "Snapshots": [ … ] }.</summary>
        private sealed class StateDocument
        {
            public int Version { get; set; } = 1;
            public List<SnapshotRecord> Snapshots { get; set; } = new();
        }
    }
}
