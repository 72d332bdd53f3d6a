using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;

namespace NekkBackup.Core.Folder
{
    /// <summary>
    /// What the destination holds before a run: the newest readable manifest and the journals of interrupted runs after
    /// it, replayed, so the run knows what already landed (read through the validation layer; nothing is written).
    /// </summary>
    internal sealed class Baseline
    {
        private Baseline(RunManifest? last, Dictionary<string, ManifestEntry> lastMap, Dictionary<string, ManifestEntry> state, List<string> pending)
        {
            Last = last;
            LastMap = lastMap;
            State = state;
            Pending = pending;
        }

        /// <summary>The newest manifest that reads (a damaged newer one is reported and skipped).</summary>
        public RunManifest? Last { get; }

        /// <summary>The last run's sound entries by recorded path.</summary>
        public Dictionary<string, ManifestEntry> LastMap { get; }

        /// <summary>The mirror as recorded: the last run plus what interrupted runs landed or removed since.</summary>
        public Dictionary<string, ManifestEntry> State { get; }

        /// <summary>Journal files of runs that have no manifest (oldest first).</summary>
        public List<string> Pending { get; }

        /// <summary>The newest run id the destination knows (committed or interrupted): a new run must sort after it.</summary>
        public string? NewestRunId =>
            Pending.Select(Path.GetFileNameWithoutExtension).Concat(Last != null ? new[] { Last.RunId } : Array.Empty<string>())
                .OrderBy(x => x, StringComparer.Ordinal).LastOrDefault();

        /// <summary>A destination without a catalog yet.</summary>
        public static Baseline Empty(StringComparer paths) =>
            new(null, new Dictionary<string, ManifestEntry>(paths), new Dictionary<string, ManifestEntry>(paths), new List<string>());

        public static Baseline Load(FolderRepository repo, StringComparer paths, IRunObserver obs)
        {
            var last = LoadLastReadable(repo, obs);
            var lastMap = new Dictionary<string, ManifestEntry>(paths);
            if (last != null)
            {
                var (good, bad) = repo.Entries(last);
                foreach (var e in good) lastMap[e.Path] = e;
                if (bad.Count > 0)
                    obs.Message(RunMessageLevel.Warning, $"Run {last.RunId} records {bad.Count} damaged or unsafe entr{(bad.Count == 1 ? "y" : "ies")} (e.g. {bad[0].Error.Message}); they are ignored and Test-NekkFolderBackup names them.");
            }
            var pending = RunJournal.Pending(repo, last?.RunId);
            var state = new Dictionary<string, ManifestEntry>(lastMap, paths);
            foreach (var j in pending)
            {
                int n = RunJournal.Replay(repo, j, state, w => obs.Message(RunMessageLevel.Warning, w));
                obs.Message(RunMessageLevel.Warning, $"Resuming after an interrupted run ({Path.GetFileNameWithoutExtension(j)}): {n} item(s) had already landed.");
            }
            return new Baseline(last, lastMap, state, pending);
        }

        private static RunManifest? LoadLastReadable(FolderRepository repo, IRunObserver obs)
        {
            var ids = repo.ListRunIds();
            for (int i = ids.Count - 1; i >= 0; i--)
            {
                try { return repo.LoadManifest(ids[i]); }
                catch (NekkBackupException ex) when (ex.ErrorId == "NekkBackup.CorruptCatalog")
                {
                    obs.Message(RunMessageLevel.Warning, ex.Message + " Comparing with the run before it; Test-NekkFolderBackup reports the damage.");
                }
            }
            return null;
        }
    }
}
