using System;
using System.Collections.Generic;
using System.Threading;

namespace NekkBackup.Core.Imaging.Allocation
{
    /// <summary>
    /// One regular file's data as its file system records it: where its written data lies on the volume, and a
    /// fingerprint of every metadata field a write through the file system changes (docs/ghost-repository.md
    /// "Second captures"). Two captures that see the same fingerprint for the same file number treat its data
    /// blocks as unchanged, the way Acronis' "fast incremental" and Macrium's MFT comparison do.
    /// </summary>
    internal readonly struct FileRecord
    {
        public FileRecord(Fingerprint fingerprint, long changed, AllocationRun[] runs)
        {
            Fingerprint = fingerprint;
            Changed = changed;
            Runs = runs;
        }

        public Fingerprint Fingerprint { get; }

        /// <summary>The file's metadata change time in <see cref="FileTable.ChangeUnitsPerSecond"/> units (100 ns ticks for ext4 and NTFS).</summary>
        public long Changed { get; }

        /// <summary>Byte ranges of the volume holding the file's written data, as the file system maps it.</summary>
        public AllocationRun[] Runs { get; }
    }

    /// <summary>128 bits of a SHA-256 over a file's metadata.</summary>
    internal readonly struct Fingerprint : IEquatable<Fingerprint>
    {
        private readonly ulong _a, _b;

        public Fingerprint(byte[] sha256)
        {
            _a = BitConverter.ToUInt64(sha256, 0);
            _b = BitConverter.ToUInt64(sha256, 8);
        }

        public bool Equals(Fingerprint other) => _a == other._a && _b == other._b;
        public override bool Equals(object? obj) => obj is Fingerprint f && Equals(f);
        public override int GetHashCode() => _a.GetHashCode() ^ _b.GetHashCode();
    }

    /// <summary>
    /// The regular files of a volume whose data only a write through the file system changes, by file number, plus
    /// every byte range any other file-system object maps (directories, special and system files, files this reader
    /// does not vouch for): such ranges are never taken as unchanged. Read by <see cref="FileTables"/>.
    /// </summary>
    internal sealed class FileTable
    {
        public FileTable(string fileSystem, string volumeId, Dictionary<long, FileRecord> files, List<AllocationRun> others, long newestChange, long changeUnitsPerSecond,
            bool coarseTimes = false)
        {
            FileSystem = fileSystem;
            VolumeId = volumeId;
            Files = files;
            Others = others;
            NewestChange = newestChange;
            ChangeUnitsPerSecond = changeUnitsPerSecond;
            RacyWindow = coarseTimes ? 2 * changeUnitsPerSecond : changeUnitsPerSecond / 20;
        }

        /// <summary>"ext4", "ntfs", ...</summary>
        public string FileSystem { get; }

        /// <summary>The file system's own identity (ext4 UUID, NTFS volume serial number), hex: a reformatted volume differs.</summary>
        public string VolumeId { get; }

        public Dictionary<long, FileRecord> Files { get; }

        /// <summary>Ranges mapped by objects that are not in <see cref="Files"/>.</summary>
        public List<AllocationRun> Others { get; }

        /// <summary>
        /// The latest metadata change time (ext4 ctime, NTFS MFT change time — times a user cannot set with utimes or
        /// SetFileTime) of any object read: a lower bound of the volume's own "now" at its snapshot.
        /// </summary>
        public long NewestChange { get; }

        public long ChangeUnitsPerSecond { get; }

        /// <summary>
        /// How close to <see cref="NewestChange"/> a file's change time must be for a later write to have kept it (a write
        /// after the snapshot within the same clock tick stores the same time): 50 ms, three times the coarsest clock tick
        /// a file time is taken from (Windows' 15.6 ms; Linux's 1/HZ, at most 10 ms), or 2 s where times are whole seconds
        /// (ext4 inodes without their extra time fields). Such files are read again.
        /// </summary>
        public long RacyWindow { get; }
    }

    /// <summary>Reads a volume's <see cref="FileTable"/>; like <see cref="AllocationMaps"/>, never throws for what the volume holds.</summary>
    internal static class FileTables
    {
        /// <summary>The table, or null with <paramref name="reason"/> (an unsupported file system or feature, damaged metadata, a read error).</summary>
        public static FileTable? Read(IBlockSource source, out string reason, CancellationToken ct = default)
        {
            string why = "";
            var table = AllocationMaps.Dispatch<FileTable?>(source, ct, NtfsFileTable.Read, Ext4FileTable.Read, (_, r) =>
            {
                why = r;
                return null;
            });
            reason = why;
            return table;
        }
    }
}
