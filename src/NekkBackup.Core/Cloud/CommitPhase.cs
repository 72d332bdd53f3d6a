using System.Text;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Storage;

namespace NekkBackup.Core.Cloud
{
    /// <summary>
    /// Phase 3 of Send-NekkCloudBackup: the run's manifest, written last (it names only objects already stored), then
    /// the LATEST pointer. Right before, the run proves it still holds its bucket lock: a run whose lock was lost (a
    /// prune may have judged it stale) stops with NekkBackup.LockLost and commits nothing.
    /// </summary>
    internal static class CommitPhase
    {
        public static async Task<string> WriteAsync(CloudClient client, TargetLock held, CloudManifest manifest, CancellationToken ct)
        {
            await CloudLocks.EnsureHeldAsync(held, client, ct).ConfigureAwait(false);
            var key = client.Target.ManifestKey(manifest.RunId);
            await client.PutSmallAsync(key, manifest.ToBytes(), "application/json", ct).ConfigureAwait(false);
            await client.PutSmallAsync(client.Target.LatestPointerKey, Encoding.UTF8.GetBytes(manifest.RunId), "text/plain", ct).ConfigureAwait(false);
            return key;
        }
    }
}
