using System.Management.Automation;
using NekkBackup.Commands.Infrastructure;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;

namespace NekkBackup.Commands.Plans
{
    /// <summary>Shared by the plan cmdlets: -Path to a plan file, loaded once, bad plans as NekkBackup.InvalidPlan.</summary>
    public abstract class PlanCmdletBase : NekkCmdlet
    {
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [Alias("FullName")]
        [ValidateNotNullOrEmpty]
        public string Path { get; set; } = null!;

        /// <summary>Loads the plan; on a bad plan sets $LASTEXITCODE (when asked) and throws the terminating error.</summary>
        protected BackupPlan LoadPlan(int? exitCodeOnError = null)
        {
            var full = ResolvePath(Path);
            try
            {
                return PlanFile.Load(full);
            }
            catch (NekkBackupException ex)
            {
                if (exitCodeOnError != null) SetExitCode(exitCodeOnError.Value);
                Terminate(ex, full);
                throw; // unreachable
            }
        }

        protected void SetExitCode(int code) => SessionState.PSVariable.Set("global:LASTEXITCODE", code);

        /// <summary>
        /// For unattended entry points that must print nothing but their result: engine warnings and per-item errors
        /// go to the verbose stream (they are in the run log too).
        /// </summary>
        protected sealed class QuietObserver : IRunObserver
        {
            private readonly IRunObserver _inner;

            public QuietObserver(IRunObserver inner) => _inner = inner;

            public void Progress(RunProgress progress) => _inner.Progress(progress);

            public void Message(RunMessageLevel level, string text) =>
                _inner.Message(level == RunMessageLevel.Warning ? RunMessageLevel.Verbose : level, level == RunMessageLevel.Warning ? "WARNING: " + text : text);

            public void ItemFailed(string item, NekkBackupException error) =>
                _inner.Message(RunMessageLevel.Verbose, $"ITEM ERROR {item}: {error.Message}");
        }
    }
}
