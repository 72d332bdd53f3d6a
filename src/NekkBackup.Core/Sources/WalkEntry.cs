using System;
using System.IO;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Sources
{
    public enum WalkEntryKind
    {
        File,
        Directory,

        /// <summary>A symbolic link or junction, recorded with its target and never entered (<see cref="LinkPolicy.Record"/>).</summary>
        Link,

        /// <summary>
        /// Something that could not be read: a folder that cannot be listed, an item that cannot be inspected, a followed
        /// link that points to nothing. <see cref="WalkEntry.Error"/> says why; the walk goes on.
        /// </summary>
        Failed,
    }

    /// <summary>What the walker does with symbolic links and junctions.</summary>
    public enum LinkPolicy
    {
        /// <summary>A link is yielded as <see cref="WalkEntryKind.Link"/> with its target and never followed out of the tree (the default).</summary>
        Record,

        /// <summary>Links are followed: a link to a file is that file, a link to a folder is entered (once per real folder: loops end).</summary>
        Follow,
    }

    /// <summary>One item the walker found below a source.</summary>
    public sealed class WalkEntry
    {
        public WalkEntryKind Kind { get; init; }

        /// <summary>
        /// '/'-separated path relative to the walked root ("" for the root itself), laid out as in the live source
        /// also when a snapshot is read: record and compare by this.
        /// </summary>
        public string RelativePath { get; init; } = "";

        /// <summary>Where to read the item: below the view's read path (inside the snapshot when one is used).</summary>
        public string FullPath { get; init; } = "";

        /// <summary>Bytes of a file (of the link's target when <see cref="Followed"/>); 0 otherwise.</summary>
        public long Size { get; init; }

        /// <summary>Last write time (of the link itself for <see cref="WalkEntryKind.Link"/>); <see cref="DateTime.MinValue"/> when it could not be read.</summary>
        public DateTime LastWriteTimeUtc { get; init; }

        /// <summary>The item's attributes as the enumeration reported them (ReadOnly, Hidden, System… on Windows).</summary>
        public FileAttributes Attributes { get; init; }

        /// <summary>The target of a <see cref="WalkEntryKind.Link"/>.</summary>
        public string? LinkTarget { get; init; }

        /// <summary>The link is a link to a folder (a directory symlink or a junction).</summary>
        public bool LinkIsDirectory { get; init; }

        /// <summary>A file or folder reached through a link (<see cref="LinkPolicy.Follow"/>): size and time are the target's.</summary>
        public bool Followed { get; init; }

        /// <summary>Why a <see cref="WalkEntryKind.Failed"/> item could not be read.</summary>
        public NekkBackupException? Error { get; init; }

        /// <summary>
        /// For <see cref="WalkEntryKind.Failed"/>: nothing is known about the item and what is below it (a folder that could
        /// not be listed, an item that could not be inspected), so whatever an earlier run recorded there must be kept,
        /// not taken as deleted. False for a followed link to nothing (that item is gone).
        /// </summary>
        public bool ContentsUnknown { get; init; }

        public bool IsFile => Kind == WalkEntryKind.File;
        public bool IsDirectory => Kind == WalkEntryKind.Directory;
        public bool IsLink => Kind == WalkEntryKind.Link;

        public override string ToString() => $"{Kind} {RelativePath}";
    }

    /// <summary>How a <see cref="SourceWalker"/> walks.</summary>
    public sealed class WalkOptions
    {
        /// <summary>Include/exclude rules on the relative path (default: everything).</summary>
        public PathFilter Filter { get; init; } = PathFilter.None;

        public LinkPolicy Links { get; init; } = LinkPolicy.Record;

        /// <summary>When two paths are one (the followed-folder loop guard); the filter carries its own.</summary>
        public PathIdentity PathIdentity { get; init; } = PathIdentity.Platform;

        /// <summary>
        /// Leave out the btrfs provider's snapshot folder (<c>.nekk-snapshots</c>) at the walked root: a source that is a
        /// file system's root never backs up its own snapshots. On by default.
        /// </summary>
        public bool SkipSnapshotFolder { get; init; } = true;
    }
}
