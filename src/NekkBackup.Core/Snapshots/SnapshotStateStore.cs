using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
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
        private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };
        private static readonly object ProcessLock = new();

        public SnapshotStateStore(string filePath)
        {
            FilePath = Path.GetFullPath(filePath);
        }

        public static string DefaultPath => Path.Combine(OperatingSystemInfo.DataDirectory, "snapshots.json");

        public static SnapshotStateStore Default() => new(DefaultPath);

        public string FilePath { get; }

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

        private T Mutate<T>(Func<List<SnapshotRecord>, (T Result, bool Changed)> change)
        {
            lock (ProcessLock)
            {
                var dir = Path.GetDirectoryName(FilePath)!;
                Directory.CreateDirectory(dir);
                using var fileLock = AcquireLock(FilePath + ".lock");
                var list = Read();
                var (result, changed) = change(list);
                if (changed) Write(list);
                return result;
            }
        }

        private List<SnapshotRecord> Read()
        {
            // A regular file in the data folder, never followed or blocked on; every record checked (SnapshotRules).
            var c = new StoredCheck(FilePath, Reasons.SnapshotStateCorrupt, "the snapshot state file");
            var bytes = new StoreRoot(Path.GetDirectoryName(FilePath)!, "the data folder").ReadAllBytes(FilePath, SnapshotRules.MaxStateBytes, c.Reason, c.What);
            if (bytes == null || System.Text.Encoding.UTF8.GetString(bytes).Trim().Length == 0) return new List<SnapshotRecord>();
            try
            {
                var doc = StoredJson.Parse<StateFile>(bytes, Json, c);
                return SnapshotRules.Check(doc.Snapshots, c);
            }
            catch (NekkBackupException ex) when (ex.ErrorId == "NekkBackup." + Reasons.SnapshotStateCorrupt)
            {
                throw Fail.InvalidData(Reasons.SnapshotStateCorrupt, ex.Message + " Move it aside; snapshots it listed must then be removed by hand.", FilePath, ex);
            }
        }

        private void Write(List<SnapshotRecord> list) =>
            AtomicFile.Write(FilePath, JsonSerializer.SerializeToUtf8Bytes(new StateFile { Version = 1, Snapshots = list }, Json));

        private static FileStream AcquireLock(string path)
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (true)
            {
                try
                {
                    return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                }
                catch (IOException) when (DateTime.UtcNow < deadline)
                {
                    Thread.Sleep(25);
                }
                catch (IOException ex)
                {
                    throw new NekkBackupException("SnapshotStateLocked", FailureKind.ResourceUnavailable, $"The snapshot state file is locked by another NekkBackup process ({path}).", path, ex) { IsTransient = true };
                }
            }
        }

        private sealed class StateFile
        {
            public int Version { get; set; } = 1;
            public List<SnapshotRecord> Snapshots { get; set; } = new();
        }
    }
}
