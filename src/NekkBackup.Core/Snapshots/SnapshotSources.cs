using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Sources;

namespace NekkBackup.Core.Snapshots
{
    public enum SnapshotMode
    {
        Auto,
        Required,
        None,
    }

    /// <summary>
    /// The source resolver Backup-NekkFolder uses for a -Snapshot mode.
    /// PLACEHOLDER until the snapshot providers land: None/Auto read live (Auto warns), Required fails.
    /// </summary>
    public static class SnapshotSources
    {
        public static ISourceResolver ForMode(SnapshotMode mode, IRunObserver observer) =>
            mode == SnapshotMode.None ? LiveSourceResolver.Instance : new Placeholder(mode, observer);

        private sealed class Placeholder : ISourceResolver
        {
            private readonly SnapshotMode _mode;
            private readonly IRunObserver _observer;

            public Placeholder(SnapshotMode mode, IRunObserver observer)
            {
                _mode = mode;
                _observer = observer;
            }

            public Task<SourceView> OpenAsync(string sourcePath, CancellationToken cancellationToken)
            {
                if (_mode == SnapshotMode.Required)
                    throw new NekkBackupException("SnapshotUnsupported", FailureKind.NotSupported, $"No snapshot provider can snapshot '{sourcePath}'.", sourcePath);
                _observer.Message(RunMessageLevel.Warning, $"No snapshot provider for '{sourcePath}'; reading the live folder.");
                return Task.FromResult(new SourceView(sourcePath, sourcePath));
            }
        }
    }
}
