using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Observability;

namespace NekkBackup.Core.Cloud
{
    /// <summary>
    /// The tar's layout fixed before anything is sent: the files (the walker's order), their folders' times, and the
    /// exact tar size (a sizing pass through the same writer), so the object's size is known up front and the
    /// multipart journal can resume it.
    /// </summary>
    internal sealed class TarPlan
    {
        private readonly string _name;
        private readonly Dictionary<string, DateTime> _dirTimes = new(StringComparer.Ordinal);

        private TarPlan(string name) => _name = name;

        public List<(string FullPath, string Rel, long Size, DateTime MTime)> Files { get; private set; } = new();
        public long TarBytes { get; private set; }

        /// <param name="warnings">Gets a warning for each link in the project (an archive holds files only).</param>
        public static TarPlan Scan(string src, string name, IRunObserver observer, List<string> warnings)
        {
            var plan = new TarPlan(name) { Files = CloudScan.ProjectFiles(src, observer, warnings) };
            plan._dirTimes[""] = Directory.GetLastWriteTimeUtc(src);
            foreach (var (_, rel, _, _) in plan.Files)
            {
                var parts = rel.Split('/');
                for (int i = 1; i < parts.Length; i++)
                {
                    var dRel = string.Join("/", parts, 0, i);
                    if (!plan._dirTimes.ContainsKey(dRel)) plan._dirTimes[dRel] = Directory.GetLastWriteTimeUtc(Path.Combine(src, dRel));
                }
            }
            var sizing = new TarWriter((_, _, _) => Task.CompletedTask);
            plan.WriteAsync(sizing, f => { sizing.Advance(f.Size); return Task.CompletedTask; }, CancellationToken.None).GetAwaiter().GetResult();
            plan.TarBytes = sizing.Position;
            return plan;
        }

        /// <summary>Headers (root, each folder once, each file) and padding through <paramref name="tar"/>; <paramref name="data"/> writes a file's bytes.</summary>
        public async Task WriteAsync(TarWriter tar, Func<(string FullPath, string Rel, long Size, DateTime MTime), Task> data, CancellationToken ct)
        {
            var dirs = new HashSet<string>(StringComparer.Ordinal);
            await tar.WriteEntryHeaderAsync(_name, 0, _dirTimes[""], true).ConfigureAwait(false);
            foreach (var f in Files)
            {
                var (_, rel, size, mtime) = f;
                ct.ThrowIfCancellationRequested();
                var parts = rel.Split('/');
                for (int i = 1; i < parts.Length; i++)
                {
                    var dRel = string.Join("/", parts, 0, i);
                    if (dirs.Add(dRel)) await tar.WriteEntryHeaderAsync(_name + "/" + dRel, 0, _dirTimes[dRel], true).ConfigureAwait(false);
                }
                await tar.WriteEntryHeaderAsync(_name + "/" + rel, size, mtime, false).ConfigureAwait(false);
                await data(f).ConfigureAwait(false);
                await tar.PadAsync(size).ConfigureAwait(false);
            }
            await tar.FinishAsync().ConfigureAwait(false);
        }
    }
}
