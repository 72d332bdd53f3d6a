using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Validation;

namespace NekkBackup.Core.Imaging
{
    /// <summary>Lifecycle of a recorded image mount.</summary>
    public static class MountStates
    {
        /// <summary>Intent written before anything exists; its owner may have died at any later step.</summary>
        public const string Creating = "Creating";
        /// <summary>Mounted; lives until Dismount-NekkGhostImage (or until the mount disappears, e.g. a reboot).</summary>
        public const string Ready = "Ready";
    }

    /// <summary>One entry of mounts.json: an image mount this module made (or is making).</summary>
    public sealed class MountRecord
    {
        public string MountId { get; set; } = "";
        public string Repository { get; set; } = "";
        public string ImageId { get; set; } = "";
        /// <summary>The image's source, host and size (for the objects Mount and Dismount write).</summary>
        public string Source { get; set; } = "";
        public string Host { get; set; } = "";
        public long SizeBytes { get; set; }
        public string MountPoint { get; set; } = "";
        /// <summary>The temp folder on the repository's volume holding the image file (mounts/&lt;MountId&gt;).</summary>
        public string WorkDirectory { get; set; } = "";
        public string ImageFile { get; set; } = "";
        /// <summary>Loop device (/dev/loopN) or Windows disk number, once attached.</summary>
        public string? Device { get; set; }
        public string? FileSystem { get; set; }
        public bool CreatedMountPoint { get; set; }
        public string State { get; set; } = MountStates.Creating;
        public DateTime CreatedUtc { get; set; }
        public int OwnerPid { get; set; }
        public long OwnerStartTicksUtc { get; set; }
        public string OwnerHost { get; set; } = "";

        public MountRecord Clone() => (MountRecord)MemberwiseClone();
    }

    /// <summary>
    /// mounts.json in the data folder: every image mount this module made and has not removed. The entry is
    /// written before the work folder, loop device or mount exist and updated as each appears (like
    /// snapshots.json), so whatever a crash leaves behind can be found and removed by the next call; nothing not
    /// listed here is ever touched.
    /// </summary>
    public sealed class MountStateStore
    {
        private readonly StateFile<StateDocument> _file;

        public MountStateStore(string filePath)
        {
            _file = new StateFile<StateDocument>(filePath, "MountStateCorrupt", "MountStateLocked", "image mount state",
                (doc, c) => MountRules.Check(doc.Mounts, c), MountRules.MaxStateBytes);
        }

        public static MountStateStore Default() => new(Path.Combine(OperatingSystemInfo.DataDirectory, "mounts.json"));

        public string FilePath => _file.FilePath;

        public IReadOnlyList<MountRecord> Load() => _file.Mutate(d => ((IReadOnlyList<MountRecord>)d.Mounts.Select(r => r.Clone()).ToList(), false));

        public void Add(MountRecord record) =>
            _file.Mutate(d =>
            {
                if (d.Mounts.Any(r => SamePath(r.MountPoint, record.MountPoint)))
                    throw new NekkBackupException("MountPointInUse", FailureKind.ResourceExists, $"An image is already mounted (or being mounted) at '{record.MountPoint}'.", record.MountPoint);
                d.Mounts.Add(record.Clone());
                return (0, true);
            });

        public void Update(MountRecord record) =>
            _file.Mutate(d =>
            {
                int i = d.Mounts.FindIndex(r => r.MountId == record.MountId);
                if (i < 0) d.Mounts.Add(record.Clone());
                else d.Mounts[i] = record.Clone();
                return (0, true);
            });

        public bool Remove(string mountId) =>
            _file.Mutate(d => { int n = d.Mounts.RemoveAll(r => r.MountId == mountId); return (n > 0, n > 0); });

        internal static bool SamePath(string a, string b) =>
            string.Equals(a.TrimEnd('/', '\\'), b.TrimEnd('/', '\\'), OperatingSystemInfo.IsWindows ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);

        private sealed class StateDocument
        {
            public int Version { get; set; } = 1;
            public List<MountRecord> Mounts { get; set; } = new();
        }
    }
}
