using System;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Observability;

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

        /// <summary>A live view with a note for the run's log (why it is not read from a snapshot).</summary>
        public SourceView(string sourcePath, RunMessageLevel noteLevel, string note)
            : this(sourcePath, sourcePath)
        {
            NoteLevel = noteLevel;
            Note = note;
        }

        /// <summary>What the run should say about how it reads this source (its observer writes it to the run log), or null.</summary>
        public string? Note { get; }
        public RunMessageLevel NoteLevel { get; }

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

    /// <summary>
    /// Says each view's <see cref="SourceView.Note"/> through the run's own observer, so it reaches the run log as well as
    /// -Verbose (the resolver was made before the run opened its log).
    /// </summary>
    public sealed class NotingSourceResolver : ISourceResolver
    {
        private readonly ISourceResolver _inner;
        private readonly IRunObserver _observer;

        public NotingSourceResolver(ISourceResolver inner, IRunObserver observer)
        {
            _inner = inner;
            _observer = observer;
        }

        public async Task<SourceView> OpenAsync(string sourcePath, CancellationToken cancellationToken)
        {
            var view = await _inner.OpenAsync(sourcePath, cancellationToken).ConfigureAwait(false);
            if (view.Note != null) _observer.Message(view.NoteLevel, view.Note);
            return view;
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
