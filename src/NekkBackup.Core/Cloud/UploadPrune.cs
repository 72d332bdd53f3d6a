using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Observability;

namespace NekkBackup.Core.Cloud
{
    /// <summary>
    /// Phase 4 of Send-NekkCloudBackup: journaled multipart uploads that will never be completed are aborted
    /// (AbortMultipartUpload, tolerating servers without it) and forgotten: those older than the stale limit (checked
    /// before the upload phase, so it starts clean) and, after the commit, those whose file is gone or now holds other
    /// content. Only this host's uploads (&lt;Prefix&gt;/&lt;host&gt;/) are touched.
    /// </summary>
    internal static class UploadPrune
    {
        public static async Task AbortStaleAsync(UploadContext ctx, int staleDays, CancellationToken ct)
        {
            foreach (var j in ctx.Journal.All(ctx.Client.Target.JournalScope))
            {
                if (!Mine(ctx, j)) continue;
                if (DateTime.UtcNow - j.CreatedUtc < TimeSpan.FromDays(staleDays)) continue;
                await AbortAsync(ctx, j, $"older than {staleDays} days", ct).ConfigureAwait(false);
            }
        }

        /// <param name="scannedHashes">The content hash of each live path this run read.</param>
        public static async Task AbortUnwantedAsync(UploadContext ctx, IReadOnlyDictionary<string, string> scannedHashes, CancellationToken ct)
        {
            foreach (var j in ctx.Journal.All(ctx.Client.Target.JournalScope))
            {
                if (!Mine(ctx, j) || j.SourcePath == null) continue;
                bool gone = !File.Exists(j.SourcePath);
                bool changed = scannedHashes.TryGetValue(j.SourcePath, out var h) && h != j.ContentHash;
                if (gone || changed)
                    await AbortAsync(ctx, j, gone ? "its file is gone" : "its file has new content", ct).ConfigureAwait(false);
            }
        }

        private static bool Mine(UploadContext ctx, JournalEntry j) => j.Key.StartsWith(ctx.Client.Target.HostRoot, StringComparison.Ordinal);

        private static async Task AbortAsync(UploadContext ctx, JournalEntry j, string why, CancellationToken ct)
        {
            ct.ThrowIfCancellationRequested();
            var w = new ObjectWriter(ctx, new ObjectSpec { Key = j.Key }, ct);
            bool aborted = await w.AbortQuietlyAsync(j.Key, j.UploadId).ConfigureAwait(false);
            ctx.Journal.Delete(j.Scope, j.Key);
            ctx.Observer.Message(RunMessageLevel.Verbose, aborted
                ? $"Aborted the unfinished upload of '{j.Key}' ({why})."
                : $"Forgot the unfinished upload of '{j.Key}' ({why}); the endpoint could not abort it.");
        }
    }
}
