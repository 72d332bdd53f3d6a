using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Validation;

namespace NekkBackup.Core.Cloud
{
    /// <summary>
    /// What the host's latest run recorded, read (under the run's lock) before anything is sent: the entries an
    /// unchanged file keeps, and the objects already stored that this run need not send again. Only sound entries
    /// count: a damaged one would carry its damage into the new manifest.
    /// </summary>
    internal sealed class PreviousRun
    {
        private PreviousRun(string? runId) => RunId = runId;

        public string? RunId { get; }
        public Dictionary<string, ManifestEntry> ByPath { get; } = new(StringComparer.Ordinal);
        /// <summary>Objects known to hold their content, by key (the previous run's, then each one this run stores).</summary>
        public ConcurrentDictionary<string, ManifestEntry> KnownObjects { get; } = new(StringComparer.Ordinal);

        /// <summary>
        /// The run's test for not reading a file again: the latest run recorded it with the same size and time, and the
        /// object that entry names is known to be there. <paramref name="recorded"/> is that entry (or null when none).
        /// </summary>
        public bool Unchanged(SourceFile f, out ManifestEntry? recorded) =>
            ByPath.TryGetValue(f.RelPath, out recorded) && recorded.Size == f.Size && recorded.LastWriteTimeUtc == f.MTime && KnownObjects.ContainsKey(recorded.Key);

        public static async Task<PreviousRun> LoadAsync(CloudClient client, string? encryption, IRunObserver observer, CancellationToken ct)
        {
            var previous = await RunManifests.LoadAsync(client, null, ct).ConfigureAwait(false);
            var run = new PreviousRun(previous?.RunId);
            if (previous == null) return run;
            var (files, damaged) = CloudRules.SortFiles(previous, client.Target, client.Target.ManifestKey(previous.RunId));
            if (damaged.Count > 0)
                observer.Message(RunMessageLevel.Warning, $"The previous run ({previous.RunId}) records {damaged.Count} damaged or unsafe entr{(damaged.Count == 1 ? "y" : "ies")} (e.g. {damaged[0].Error.Message}); they are ignored and their files are read again.");
            foreach (var e in files) run.ByPath[e.Path] = e;
            if (previous.Encryption == encryption)
            {
                foreach (var e in files)
                    if (!e.IsLink) run.KnownObjects.TryAdd(e.Key, e);
            }
            else
                observer.Message(RunMessageLevel.Warning, $"The previous run ({previous.RunId}) used encryption '{previous.Encryption ?? "none"}'; this run uses '{encryption ?? "none"}': every file is re-read and re-sent.");
            return run;
        }
    }
}
