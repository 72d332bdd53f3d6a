using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;
using System.Text.Json.Serialization;
using NekkBackup.Core.Validation;

namespace NekkBackup.Core.Folder
{
    /// <summary>One file or symbolic link as a run recorded it.</summary>
    internal sealed class ManifestEntry
    {
        /// <summary>Path relative to the destination: "&lt;source name&gt;/rel/path".</summary>
        [JsonPropertyName("p")] public string Path { get; set; } = "";
        [JsonPropertyName("s")] public long Size { get; set; }
        /// <summary>Last write time, UTC ticks.</summary>
        [JsonPropertyName("m")] public long MTime { get; set; }
        /// <summary>SHA-256 hex of the content (files).</summary>
        [JsonPropertyName("h")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Hash { get; set; }
        /// <summary>Link target (symbolic links).</summary>
        [JsonPropertyName("l")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Link { get; set; }

        /// <summary>"d" for a folder (recorded so empty folders and folder times come back); null otherwise.</summary>
        [JsonPropertyName("k")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public string? Kind { get; set; }

        /// <summary>Windows file attributes worth keeping (ReadOnly, Hidden, System), when any.</summary>
        [JsonPropertyName("a")] [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public int? Attributes { get; set; }

        [JsonIgnore] public bool IsLink => Link != null;
        [JsonIgnore] public bool IsDir => Kind == "d";
        [JsonIgnore] public bool IsFile => Link == null && Kind == null;

        public ManifestEntry Clone() => new() { Path = Path, Size = Size, MTime = MTime, Hash = Hash, Link = Link, Kind = Kind, Attributes = Attributes };
    }

    /// <summary>A mirror file or history object seen without following links (<see cref="FolderRepository.Copy"/>).</summary>
    internal readonly struct StoredCopy
    {
        public StoredCopy(string path, StoredKind kind, long length, long mtime, string? problem, string? note)
        {
            Path = path; Kind = kind; Length = length; MTime = mtime; Problem = problem; Note = note;
        }

        public string Path { get; }
        public StoredKind Kind { get; }
        public long Length { get; }
        public long MTime { get; }
        /// <summary>Damage no backup makes (a FIFO, device or socket where a file belongs), or null.</summary>
        public string? Problem { get; }
        /// <summary>Why the copy is not a usable file (for messages): damage, a link on the way, a folder…; null when fine or missing.</summary>
        public string? Note { get; }
        public bool IsFile => Kind == StoredKind.File;
    }

    /// <summary>The header of a manifest without its entries (listing runs).</summary>
    internal class RunHeader
    {
        /// <summary>The one versioning rule (<see cref="Primitives.FormatVersion"/>): a number or "major.minor"; written first.</summary>
        [JsonPropertyName(Primitives.FormatVersion.PropertyName)] [JsonPropertyOrder(-1)]
        [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] public JsonElement? FormatVersionValue { get; set; }

        /// <summary>The version as 0.1.0 wrote it (still written, so 0.1.0 reads what this version writes).</summary>
        public int Format { get; set; }
        public string RunId { get; set; } = "";
        public DateTime StartedUtc { get; set; }
        public DateTime FinishedUtc { get; set; }
        public string[] Sources { get; set; } = Array.Empty<string>();
        public string[] SourceNames { get; set; } = Array.Empty<string>();
        public string? SnapshotUsed { get; set; }
        public string Status { get; set; } = "";
        public long FilesScanned { get; set; }
        public long FilesCopied { get; set; }
        public long FilesVersioned { get; set; }
        public long FilesDeleted { get; set; }
        public long BytesCopied { get; set; }
        public int Errors { get; set; }
    }

    /// <summary>A run manifest: the complete state of the backup after one good run. The commit point.</summary>
    internal sealed class RunManifest : RunHeader
    {
        public string Host { get; set; } = "";
        public List<ManifestEntry> Entries { get; set; } = new();
    }
}
