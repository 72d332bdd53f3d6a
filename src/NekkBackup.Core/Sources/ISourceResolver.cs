using System;
using System.Threading;
using System.Threading.Tasks;

namespace NekkBackup.Core.Sources
{
    /// <summary>
    /// Turns a live source folder into the place a run reads it from: the folder itself, or the same
    /// folder inside a point-in-time snapshot (Snapshots/ provides that implementation). The engine
    /// reads only through the returned view and always disposes it (success, error, Ctrl+C).
    /// </summary>
    public interface ISourceResolver
    {
        Task<SourceView> OpenAsync(string sourcePath, CancellationToken cancellationToken);
    }

    /// <summary>Where to read one source from, and what to release afterwards.</summary>
    public sealed class SourceView : IDisposable
    {
        private Action? _release;

        public SourceView(string sourcePath, string readPath, string? snapshotId = null, Action? release = null)
        {
            SourcePath = sourcePath;
            ReadPath = readPath;
            SnapshotId = snapshotId;
            _release = release;
        }

        /// <summary>The live path the user named.</summary>
        public string SourcePath { get; }

        /// <summary>The path holding the same tree to read from (a snapshot path, or SourcePath).</summary>
        public string ReadPath { get; }

        /// <summary>Identifier of the snapshot read from ("Btrfs:…", "Vss:{GUID}"), or null.</summary>
        public string? SnapshotId { get; }

        public void Dispose()
        {
            var r = Interlocked.Exchange(ref _release, null);
            r?.Invoke();
        }
    }

    /// <summary>Reads the live folder directly.</summary>
    public sealed class LiveSourceResolver : ISourceResolver
    {
        public static readonly LiveSourceResolver Instance = new();

        public Task<SourceView> OpenAsync(string sourcePath, CancellationToken cancellationToken) =>
            Task.FromResult(new SourceView(sourcePath, sourcePath));
    }
}
