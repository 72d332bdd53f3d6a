using System;
using System.Collections.Generic;
using NekkBackup.Core.Sources;

namespace NekkBackup.Core.Folder
{
    /// <summary>What Backup-NekkFolder was asked to do.</summary>
    public sealed class FolderBackupOptions
    {
        /// <summary>Absolute source folders; each is mirrored to &lt;Destination&gt;/&lt;folder name&gt;/.</summary>
        public IReadOnlyList<string> Sources { get; init; } = Array.Empty<string>();
        /// <summary>Absolute destination folder (created when its parent exists).</summary>
        public string Destination { get; init; } = "";
        /// <summary>Globs on the path relative to the source ('/' separated) or on a name; * ? ** supported.</summary>
        public IReadOnlyList<string>? Include { get; init; }
        public IReadOnlyList<string>? Exclude { get; init; }
        /// <summary>Compare content hashes instead of size + modification time.</summary>
        public bool Checksum { get; init; }
        public int ThrottleLimit { get; init; } = Math.Max(1, Environment.ProcessorCount * 2);
        public double MaxChangedPercent { get; init; } = 30;
        /// <summary>Lets one run through the ransomware guard.</summary>
        public bool Force { get; init; }
        public RetentionPolicy? Retention { get; init; }
        /// <summary>False (default): symbolic links are recorded with their target, not followed.</summary>
        public bool FollowSymlinks { get; init; }
        public ISourceResolver SourceResolver { get; init; } = LiveSourceResolver.Instance;
        /// <summary>
        /// When two recorded paths are the same item (PRODUCT.md §4 "Windows paths"): the platform's rules by default,
        /// so on Windows "Sessions/a.wav" and "SESSIONS/a.wav" are one file and a case rename is no mass deletion.
        /// </summary>
        public PathIdentity PathIdentity { get; init; } = PathIdentity.Platform;
    }

    /// <summary>GFS retention: how many runs to keep of each kind (null = that rule is off).</summary>
    public sealed class RetentionPolicy
    {
        public int? KeepLast { get; init; }
        public int? Hourly { get; init; }
        public int? Daily { get; init; }
        public int? Weekly { get; init; }
        public int? Monthly { get; init; }

        public override string ToString() =>
            $"KeepLast={KeepLast} Hourly={Hourly} Daily={Daily} Weekly={Weekly} Monthly={Monthly}";
    }

    /// <summary>What Restore-NekkFolder was asked to do.</summary>
    public sealed class FolderRestoreOptions
    {
        public string Destination { get; init; } = "";
        /// <summary>Folder to restore into; files land at &lt;Target&gt;/&lt;source folder name&gt;/&lt;relative path&gt;.</summary>
        public string Target { get; init; } = "";
        public string? RunId { get; init; }
        /// <summary>Restore the latest run started at or before this time.</summary>
        public DateTime? AsOf { get; init; }
        /// <summary>Globs on the recorded path ('source/rel/path') or on the path inside the source.</summary>
        public IReadOnlyList<string>? Paths { get; init; }
        public bool Overwrite { get; init; }
    }
}
