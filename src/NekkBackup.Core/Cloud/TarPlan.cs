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
    /// The tar's layout fixed before anything is sent: the files (sorted walk), their folders' times, and the
    /// exact tar size (a sizing pass through the same writer), so the object's size is known up front and the
    /// multipart journal can resume it.
    /// </summary>
    internal sealed class TarPlan
    {
        private readonly string _name;
        private readonly Dictionary<string, DateTime> _dirTimes = new(StringComparer.Ordinal);

        private TarPlan(string name) => _name = name;

        public List<(FileInfo File, string Rel)> Files { get; private set; } = new();
        public long TarBytes { get; private set; }

        public static TarPlan Scan(string src, string name, IRunObserver observer)
        {
            var plan = new TarPlan(name) { Files = CloudScan.Walk(src, observer, () => { }).ToList() };
            plan._dirTimes[""] = Directory.GetLastWriteTimeUtc(src);
            foreach (var (_, rel) in plan.Files)
            {
                var parts = rel.Split('/');
                for (int i = 1; i < parts.Length; i++)
                {
                    var dRel = string.Join("/", parts, 0, i);
                    if (!plan._dirTimes.ContainsKey(dRel)) plan._dirTimes[dRel] = Directory.GetLastWriteTimeUtc(Path.Combine(src, dRel));
                }
            }
            var sizing = new TarWriter((_, _, _) => Task.CompletedTask);
            plan.WriteAsync(sizing, (f, _) => { sizing.Advance(f.Length); return Task.CompletedTask; }, CancellationToken.None).GetAwaiter().GetResult();
            plan.TarBytes = sizing.Position;
            return plan;
        }

        /// <summary>Headers (root, each folder once, each file) and padding through <paramref name="tar"/>; <paramref name="data"/> writes a file's bytes.</summary>
        public async Task WriteAsync(TarWriter tar, Func<FileInfo, string, Task> data, CancellationToken ct)
        {
            var dirs = new HashSet<string>(StringComparer.Ordinal);
            await tar.WriteEntryHeaderAsync(_name, 0, _dirTimes[""], true).ConfigureAwait(false);
            foreach (var (fi, rel) in Files)
            {
                ct.ThrowIfCancellationRequested();
                var parts = rel.Split('/');
                for (int i = 1; i < parts.Length; i++)
                {
                    var dRel = string.Join("/", parts, 0, i);
                    if (dirs.Add(dRel)) await tar.WriteEntryHeaderAsync(_name + "/" + dRel, 0, _dirTimes[dRel], true).ConfigureAwait(false);
                }
                await tar.WriteEntryHeaderAsync(_name + "/" + rel, fi.Length, fi.LastWriteTimeUtc, false).ConfigureAwait(false);
                await data(fi, rel).ConfigureAwait(false);
                await tar.PadAsync(fi.Length).ConfigureAwait(false);
            }
            await tar.FinishAsync().ConfigureAwait(false);
        }
    }
}
