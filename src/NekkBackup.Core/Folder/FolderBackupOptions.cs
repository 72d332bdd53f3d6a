using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Sources;
using NekkBackup.Core.Storage;

namespace NekkBackup.Core.Folder
{
    /// <summary>What Backup-NekkFolder was asked to do. <see cref="Validate"/> is the one place these are checked.</summary>
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

        /// <summary>The destination lock's timing (tests shorten it); null: <see cref="FolderLock.DefaultOptions"/>.</summary>
        internal LockOptions? LockOptions { get; init; }

        /// <summary>Tests only: called after each copy attempt of a file has read it, before it is checked for change.</summary>
        internal Action<string>? AfterCopyAttempt { get; init; }

        /// <summary>Checks the options; throws <see cref="NekkBackupException"/> for bad input. Writes nothing.</summary>
        public void Validate()
        {
            if (Sources == null || Sources.Count == 0)
                throw Fail.Argument("SourceNotFound", "Give at least one source folder.");
            if (string.IsNullOrWhiteSpace(Destination))
                throw Fail.Argument("DestinationNotFound", "Give a destination folder.");
            if (!Path.IsPathRooted(Destination))
                throw Fail.Argument("InvalidPath", $"The destination '{Destination}' must be an absolute path.", Destination);
            var dest = Normalize(Destination);
            if (File.Exists(dest))
                throw Fail.Argument("DestinationNotFound", $"The destination '{dest}' is a file, not a folder.", dest);
            if (!Directory.Exists(dest))
            {
                var parent = Path.GetDirectoryName(dest);
                if (parent == null || !Directory.Exists(parent))
                    throw Fail.NotFound("DestinationNotFound", $"The destination '{dest}' does not exist and neither does its parent folder (is the NAS share mounted?).", dest);
            }
            var identity = PathIdentity ?? PathIdentity.Platform;
            var names = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var s in Sources)
            {
                if (string.IsNullOrWhiteSpace(s))
                    throw Fail.Argument("SourceNotFound", "A source path is empty.");
                if (!Path.IsPathRooted(s))
                    throw Fail.Argument("InvalidPath", $"The source '{s}' must be an absolute path.", s);
                var src = Normalize(s);
                if (!Directory.Exists(src) && File.Exists(src))
                    throw Fail.Argument("SourceIsFile",
                        $"The source '{src}' is a file; Backup-NekkFolder backs up folders. Give its folder and pick the file with -Include: -Path '{Path.GetDirectoryName(src)}' -Include '{Path.GetFileName(src)}'.", src);
                if (!Directory.Exists(src))
                    throw Fail.NotFound("SourceNotFound", $"The source folder '{src}' does not exist.", src);
                if (identity.IsSameOrInside(dest, src, Path.DirectorySeparatorChar))
                    throw Fail.Argument("DestinationInsideSource", $"The destination '{dest}' is inside the source '{src}'; the backup would copy itself.", dest);
                if (identity.IsSameOrInside(src, dest, Path.DirectorySeparatorChar))
                    throw Fail.Argument("SourceInsideDestination", $"The source '{src}' is inside the destination '{dest}'.", src);
                var name = Path.GetFileName(src);
                if (string.IsNullOrEmpty(name) || name == FolderRepository.MetaDirName)
                    throw Fail.Argument("InvalidPath", $"The source '{src}' has no usable folder name (a drive or file-system root cannot be mirrored by name).", src);
                if (names.TryGetValue(name, out var other))
                    throw Fail.Argument("SourceNameConflict", $"The sources '{other}' and '{src}' have the same folder name '{name}'; each source is mirrored to <Destination>/<folder name>.", src);
                names[name] = src;
            }
            if (double.IsNaN(MaxChangedPercent) || MaxChangedPercent < 0 || MaxChangedPercent > 100)
                throw Fail.Argument("InvalidArgument", $"MaxChangedPercent must be between 0 and 100 (was {MaxChangedPercent}).", MaxChangedPercent);
            if (SourceResolver == null)
                throw Fail.Argument("InvalidArgument", "SourceResolver is null.");
            Folder.Retention.Validate(Retention);
            LockOptions?.Validate();
        }

        /// <summary>The options a run uses: paths absolute and without trailing separators, at least one worker.</summary>
        internal FolderBackupOptions Normalized(Observability.IRunObserver observer) => new()
        {
            Sources = Sources.Select(Normalize).ToArray(),
            Destination = Normalize(Destination),
            Include = Include,
            Exclude = Exclude,
            Checksum = Checksum,
            ThrottleLimit = Math.Max(1, ThrottleLimit),
            MaxChangedPercent = MaxChangedPercent,
            Force = Force,
            Retention = Retention,
            FollowSymlinks = FollowSymlinks,
            SourceResolver = new Sources.NotingSourceResolver(SourceResolver, observer),
            PathIdentity = PathIdentity ?? PathIdentity.Platform,
            LockOptions = LockOptions,
            AfterCopyAttempt = AfterCopyAttempt,
        };

        internal static string Normalize(string p)
        {
            var full = Path.GetFullPath(p);
            var root = Path.GetPathRoot(full) ?? "";
            return full.Length > root.Length ? full.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar) : full;
        }
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

        /// <summary>The rules that are on, as a person reads them: "KeepLast 3, Daily 7".</summary>
        public string Describe()
        {
            var parts = new List<string>();
            void Add(string name, int? n) { if (n > 0) parts.Add(name + " " + n.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)); }
            Add("KeepLast", KeepLast);
            Add("Hourly", Hourly);
            Add("Daily", Daily);
            Add("Weekly", Weekly);
            Add("Monthly", Monthly);
            return string.Join(", ", parts);
        }
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
        /// <summary>How recorded paths and -Path globs compare (the platform's rules by default).</summary>
        public PathIdentity PathIdentity { get; init; } = PathIdentity.Platform;

        /// <summary>Checks the options before anything is read or written; returns the normalised restore target.</summary>
        internal string Validate(FolderRepository repo)
        {
            if (string.IsNullOrWhiteSpace(Target) || !Path.IsPathRooted(Target))
                throw Fail.Argument("InvalidPath", $"The restore target '{Target}' must be an absolute path.", Target);
            var target = FolderBackupOptions.Normalize(Target);
            if ((PathIdentity ?? PathIdentity.Platform).IsSameOrInside(target, repo.Destination, Path.DirectorySeparatorChar))
                throw Fail.Argument("TargetInsideDestination", $"The restore target '{target}' is inside the backup destination '{repo.Destination}'.", target);
            if (File.Exists(target))
                throw Fail.Argument("InvalidPath", $"The restore target '{target}' is a file.", target);
            return target;
        }
    }
}
