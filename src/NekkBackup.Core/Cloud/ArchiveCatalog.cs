using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Storage;

namespace NekkBackup.Core.Cloud
{
    /// <summary>
    /// Get-NekkCloudArchive: the archives a bucket holds for a host. A listing of
    /// &lt;Prefix&gt;/&lt;host&gt;/archives/*.manifest.json finds them (the manifest is written last, so an
    /// archive whose upload never finished is not listed); each manifest is read and validated, and a HEAD of
    /// its tar object tells the storage class and whether it is Cold, Thawing or Available.
    /// </summary>
    public sealed class ArchiveCatalog
    {
        private const string ManifestSuffix = ".manifest.json";
        private static readonly Regex IdPattern = new("^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$", RegexOptions.CultureInvariant);
        private readonly CloudTarget _target;
        private readonly IRunObserver _observer;

        public ArchiveCatalog(CloudTarget target, IRunObserver? observer = null)
        {
            _target = target;
            _observer = observer ?? NullRunObserver.Instance;
        }

        public static bool IsValidArchiveId(string? id) => id != null && IdPattern.IsMatch(id);

        public static void ValidateArchiveId(string? id)
        {
            if (!IsValidArchiveId(id))
                throw Fail.Argument("InvalidArchiveId", $"'{id}' is not an archive id (letters, digits, '.', '_' and '-' only).", id);
        }

        /// <summary>The archives (all, or those whose id matches one of the wildcard patterns), oldest first.</summary>
        public async Task<IReadOnlyList<CloudArchiveInfo>> ListAsync(IReadOnlyList<string>? idPatterns, int throttleLimit = 4, CancellationToken ct = default)
        {
            using var client = await CloudClient.OpenAsync(_target, _observer, null, ct).ConfigureAwait(false);
            var match = CloudRestoreEngine.Matcher(idPatterns);
            var ids = (await ListIdsAsync(client, ct).ConfigureAwait(false)).Where(id => match(id)).ToList();
            var found = new ConcurrentBag<CloudArchiveInfo>();
            await BoundedParallel.ForEachAsync(ids, Math.Max(1, throttleLimit), async id =>
            {
                try
                {
                    var m = await LoadManifestAsync(client, id, ct).ConfigureAwait(false);
                    var (info, _) = await DescribeAsync(client, m, ct).ConfigureAwait(false);
                    found.Add(info);
                }
                catch (NekkBackupException ex) when (!CloudErrors.IsFatal(ex))
                {
                    _observer.ItemFailed(id, ex);
                }
            }, ct).ConfigureAwait(false);
            return found.OrderBy(a => a.Created).ThenBy(a => a.ArchiveId, StringComparer.Ordinal).ToList();
        }

        /// <summary>One archive: NekkBackup.CloudArchiveNotFound when its manifest is not in the bucket.</summary>
        public async Task<CloudArchiveInfo> GetAsync(string archiveId, CancellationToken ct = default)
        {
            ValidateArchiveId(archiveId);
            using var client = await CloudClient.OpenAsync(_target, _observer, null, ct).ConfigureAwait(false);
            var m = await LoadManifestAsync(client, archiveId, ct).ConfigureAwait(false);
            return (await DescribeAsync(client, m, ct).ConfigureAwait(false)).Info;
        }

        internal static async Task<List<string>> ListIdsAsync(CloudClient client, CancellationToken ct)
        {
            var prefix = client.Target.ArchivePrefix;
            var ids = new List<string>();
            foreach (var o in await client.ListAsync(prefix, ct).ConfigureAwait(false))
            {
                var name = o.Key.Substring(prefix.Length);
                if (!name.EndsWith(ManifestSuffix, StringComparison.Ordinal)) continue;
                var id = name.Substring(0, name.Length - ManifestSuffix.Length);
                if (IsValidArchiveId(id)) ids.Add(id);
            }
            return ids.Distinct(StringComparer.Ordinal).ToList();
        }

        /// <summary>Reads and validates an archive's manifest (never trusted before <see cref="ArchiveEntryGuard.ValidateManifest"/>).</summary>
        internal static async Task<ArchiveManifest> LoadManifestAsync(CloudClient client, string archiveId, CancellationToken ct)
        {
            var key = client.Target.ArchiveManifestKey(archiveId);
            var bytes = await client.TryGetSmallAsync(key, ct).ConfigureAwait(false)
                ?? throw Fail.NotFound("CloudArchiveNotFound", $"Bucket '{client.Target.Bucket}' holds no archive '{archiveId}' under '{client.Target.HostRoot}'.", archiveId);
            Validation.CloudRules.CheckVersion(bytes, Validation.CloudRules.Check(key, "the archive manifest"), ArchiveManifest.Version, $"The archive manifest '{key}'", key);
            ArchiveManifest? m;
            try { m = JsonSerializer.Deserialize<ArchiveManifest>(bytes); }
            catch (JsonException ex) { throw Fail.InvalidData("ManifestCorrupt", $"The archive manifest '{key}' is not valid JSON: {ex.Message}", key, ex); }
            return ArchiveEntryGuard.ValidateManifest(m, archiveId, client.Target.ArchiveKey(archiveId), key);
        }

        /// <summary>The listing row of an archive and the HEAD of its tar object (missing object: CloudObjectNotFound).</summary>
        internal static async Task<(CloudArchiveInfo Info, TargetEntry Head)> DescribeAsync(CloudClient client, ArchiveManifest m, CancellationToken ct)
        {
            var head = await client.HeadAsync(m.Key, ct).ConfigureAwait(false)
                ?? throw Fail.NotFound("CloudObjectNotFound", $"The tar object '{m.Key}' of archive '{m.ArchiveId}' is missing from bucket '{client.Target.Bucket}'.", m.ArchiveId);
            var (state, cls, until) = ColdStorage.StateOf(head);
            var project = m.Files.Count > 0 ? m.Files[0].Path.Split('/')[0] : ProjectOf(m.Source);
            return (new CloudArchiveInfo
            {
                ArchiveId = m.ArchiveId, Project = project, Host = string.IsNullOrEmpty(m.Host) ? client.Target.HostName : m.Host,
                Created = DateTime.SpecifyKind(m.CreatedUtc, DateTimeKind.Utc), SizeBytes = m.TarBytes, Files = m.Files.Count,
                StorageClass = cls, State = state.ToString(), ThawedUntil = until, Bucket = client.Target.Bucket, Key = m.Key, Source = m.Source,
            }, head);
        }

        private static string ProjectOf(string source)
        {
            var s = (source ?? "").TrimEnd('/', '\\');
            int cut = Math.Max(s.LastIndexOf('/'), s.LastIndexOf('\\'));
            return cut >= 0 ? s.Substring(cut + 1) : s;
        }
    }
}
