using System;
using System.Collections.Generic;

namespace NekkBackup
{
    /// <summary>
    /// One thing a -WhatIf preview says would happen: a file copied, checked, versioned or deleted, a file uploaded or
    /// found already stored, an item removed. Written one line per item with -Verbose, and kept in the preview's Items.
    /// </summary>
    public sealed class PreviewItem
    {
        /// <summary>Copy, Check, Link, Folder, Version, Delete, Prune (folder); Upload, Stored, Unchanged, NotRead (cloud); Remove.</summary>
        public string Action { get; init; } = "";
        /// <summary>The recorded path (&lt;source name&gt;/relative), run id, snapshot id or credential target.</summary>
        public string Path { get; init; } = "";
        /// <summary>Bytes involved, or null where there are none (a folder, a link, a credential).</summary>
        public long? Size { get; init; }
        public string? Detail { get; init; }

        public override string ToString() => Detail == null ? $"{Action} {Path}" : $"{Action} {Path} ({Detail})";
    }

    /// <summary>Backup-NekkFolder -WhatIf: what the run would do now, worked out without writing to the destination.</summary>
    public sealed class FolderBackupPreview
    {
        public string[] Source { get; init; } = Array.Empty<string>();
        public string Destination { get; init; } = "";
        /// <summary>False before the first run (the destination holds no backup yet): everything is new.</summary>
        public bool DestinationHasBackup { get; init; }
        public long FilesScanned { get; init; }
        /// <summary>New or changed files that would be copied (and their bytes).</summary>
        public long FilesToCopy { get; init; }
        public long BytesToCopy { get; init; }
        /// <summary>Same size, other time (or -Checksum): hashed, and copied only if the content differs.</summary>
        public long FilesToCheck { get; init; }
        public long BytesToCheck { get; init; }
        public long LinksToRecord { get; init; }
        public long FoldersToCreate { get; init; }
        /// <summary>Current versions on the destination that a replacement or deletion would move into history (at most).</summary>
        public long FilesToVersion { get; init; }
        public long BytesToVersion { get; init; }
        /// <summary>Files and links gone from the source: removed from the mirror (their last version stays in history).</summary>
        public long FilesToDelete { get; init; }
        public long BytesToDelete { get; init; }
        /// <summary>Pass, Refuse, or NotChecked (first run, -Force).</summary>
        public string Guard { get; init; } = "";
        public double ChangedPercent { get; init; }
        public string GuardDetail { get; init; } = "";
        /// <summary>Run ids -Retention would prune once this run is committed.</summary>
        public string[] RetentionPrunes { get; init; } = Array.Empty<string>();
        public string? RetentionDetail { get; init; }
        /// <summary>Items the scan could not read (each also reported as an error).</summary>
        public long Errors { get; init; }
        /// <summary>Every item above, one per file, folder, deletion and pruned run.</summary>
        public PreviewItem[] Items { get; init; } = Array.Empty<PreviewItem>();

        public override string ToString() => $"{Destination}: {FilesToCopy} to copy, {FilesToVersion} to version, {FilesToDelete} to delete; guard {Guard}";
    }

    /// <summary>Send-NekkCloudBackup -WhatIf: what the upload would send, against what the bucket already holds; nothing is written.</summary>
    public sealed class CloudBackupPreview
    {
        public string Bucket { get; init; } = "";
        public string Prefix { get; init; } = "";
        public string[] Source { get; init; } = Array.Empty<string>();
        /// <summary>The host's latest run in the bucket the preview compared with (null: none yet).</summary>
        public string? PreviousRunId { get; init; }
        public long FilesScanned { get; init; }
        /// <summary>Files whose content the bucket does not hold: they would be sent.</summary>
        public long FilesToUpload { get; init; }
        public long BytesToUpload { get; init; }
        /// <summary>Same size and time as the latest run recorded: not read, not sent.</summary>
        public long FilesUnchanged { get; init; }
        public long BytesUnchanged { get; init; }
        /// <summary>New or changed files whose content is in the bucket already (a copy, a rename, a touched file): recorded, not sent.</summary>
        public long FilesAlreadyStored { get; init; }
        public long BytesAlreadyStored { get; init; }
        /// <summary>Older than -ModifiedWithin: not read, their last entry stays.</summary>
        public long FilesOutsideWindow { get; init; }
        public long LinksToRecord { get; init; }
        public long Errors { get; init; }
        public PreviewItem[] Items { get; init; } = Array.Empty<PreviewItem>();

        public override string ToString() => $"{Bucket}/{Prefix}: {FilesToUpload} to upload, {FilesUnchanged + FilesAlreadyStored} already in the bucket";
    }
}
