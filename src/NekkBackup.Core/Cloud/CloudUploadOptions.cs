using System;
using System.Collections.Generic;
using System.IO;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Sources;

namespace NekkBackup.Core.Cloud
{
    /// <summary>
    /// What every upload to a bucket is told (Send-NekkCloudBackup, Send-NekkCloudArchive), validated in one place
    /// (<see cref="Validate"/>) with the documented error ids before anything is sent.
    /// </summary>
    public abstract class CloudUploadOptions
    {
        private static readonly string[] ValidClasses =
            { "STANDARD", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER", "GLACIER_IR", "DEEP_ARCHIVE", "REDUCED_REDUNDANCY" };

        public string? StorageClass { get; init; }
        public int ThrottleLimit { get; init; } = 4;
        /// <summary>Bandwidth cap in MiB/s; 0 = none.</summary>
        public double MaxMBps { get; init; }
        public int? ObjectLockDays { get; init; }
        public string ObjectLockMode { get; init; } = "GOVERNANCE";
        public int PartSize { get; init; } = 8 * 1024 * 1024;
        /// <summary>Journaled uploads older than this are aborted (an archive's starts over under a new ArchiveId).</summary>
        public int StaleUploadDays { get; init; } = 7;
        /// <summary>Where the resume journals live; default DataDirectory/cloud-journal.</summary>
        public string? JournalDirectory { get; init; }

        internal string JournalDirectoryOrDefault => JournalDirectory ?? Path.Combine(OperatingSystemInfo.DataDirectory, "cloud-journal");

        /// <summary>The settings every object of the upload is stored with, after checking them.</summary>
        internal UploadSettings Validate()
        {
            var storageClass = NormalizeStorageClass(StorageClass);
            var lockMode = (ObjectLockMode ?? "GOVERNANCE").ToUpperInvariant();
            if (ThrottleLimit < 1 || ThrottleLimit > 64)
                throw Fail.Argument("InvalidThrottleLimit", $"-ThrottleLimit {ThrottleLimit} must be between 1 and 64.", ThrottleLimit);
            if (MaxMBps < 0 || double.IsNaN(MaxMBps))
                throw Fail.Argument("InvalidMaxMBps", $"-MaxMBps {MaxMBps} must be zero (no cap) or positive.", MaxMBps);
            if (ObjectLockDays is int d && (d < 1 || d > 36500))
                throw Fail.Argument("InvalidObjectLockDays", $"-ObjectLockDays {d} must be between 1 and 36500.", d);
            if (lockMode is not ("GOVERNANCE" or "COMPLIANCE"))
                throw Fail.Argument("InvalidObjectLockMode", $"Object Lock mode '{lockMode}' must be GOVERNANCE or COMPLIANCE.", lockMode);
            if (PartSize < 5 * 1024 * 1024 || PartSize > UploadContext.MaxPartSize)
                throw Fail.Argument("InvalidPartSize", $"Part size {PartSize} must be between 5 MiB and 16 MiB.", PartSize);
            DateTime? until = ObjectLockDays is int days ? DateTime.UtcNow.AddDays(days) : null;
            return new UploadSettings(storageClass, until != null ? lockMode : null, until);
        }

        /// <summary>An S3 storage class in its canonical spelling (null: the bucket's default); NekkBackup.InvalidStorageClass otherwise.</summary>
        public static string? NormalizeStorageClass(string? value)
        {
            if (string.IsNullOrWhiteSpace(value)) return null;
            var v = value!.Trim().ToUpperInvariant().Replace('-', '_');
            if (v == "GLACIER_FLEXIBLE_RETRIEVAL") v = "GLACIER";
            if (Array.IndexOf(ValidClasses, v) < 0)
                throw Fail.Argument("InvalidStorageClass", $"'{value}' is not an S3 storage class ({string.Join(", ", ValidClasses)}).", value);
            return v;
        }
    }

    /// <summary>How the objects of one upload are stored: class and write-once retention (Object Lock).</summary>
    internal sealed class UploadSettings
    {
        public UploadSettings(string? storageClass, string? objectLockMode, DateTime? retainUntilUtc)
        {
            StorageClass = storageClass;
            ObjectLockMode = objectLockMode;
            RetainUntilUtc = retainUntilUtc;
        }

        /// <summary>Null: the bucket's default (recorded as STANDARD).</summary>
        public string? StorageClass { get; }
        public string StorageClassOrDefault => StorageClass ?? "STANDARD";
        public string? ObjectLockMode { get; }
        public DateTime? RetainUntilUtc { get; }
    }

    public sealed class CloudBackupOptions : CloudUploadOptions
    {
        public IReadOnlyList<string> Paths { get; init; } = Array.Empty<string>();
        /// <summary>Only files modified within this span are read; older ones keep their manifest entry.</summary>
        public TimeSpan? ModifiedWithin { get; init; }
        /// <summary>Globs (as Backup-NekkFolder's -Include/-Exclude) on paths relative to each source; excluded files never reach the bucket.</summary>
        public IReadOnlyList<string>? Include { get; init; }
        public IReadOnlyList<string>? Exclude { get; init; }
        /// <summary>Where each source is read from: the live folder (default) or a snapshot of it (SnapshotSources.ForMode).</summary>
        public ISourceResolver? SourceResolver { get; init; }
        public ContentCipher? Cipher { get; init; }
        /// <summary>
        /// Files up to this size go up as ONE streamed PutObject (Content-MD5 from the hashing pass, no buffer);
        /// larger ones, and every file when -MaxMBps is set, go multipart with journaled parts. Minimum: the part size.
        /// </summary>
        public long SinglePutMaxBytes { get; init; } = 64L * 1024 * 1024;
        public string? RunId { get; init; }
    }

    public sealed class CloudArchiveOptions : CloudUploadOptions
    {
        public CloudArchiveOptions()
        {
            StorageClass = "DEEP_ARCHIVE";
            PartSize = 16 * 1024 * 1024;
        }

        /// <summary>The completed project folder.</summary>
        public string Path { get; init; } = "";
        public string? ArchiveId { get; init; }
    }
}
