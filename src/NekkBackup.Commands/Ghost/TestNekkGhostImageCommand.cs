using System.Management.Automation;
using NekkBackup.Commands.Infrastructure;
using NekkBackup.Core.Imaging;

namespace NekkBackup.Commands.Ghost
{
    /// <summary>Test-NekkGhostImage: checks chunk presence and hashes; -Full is the restore drill, recorded in the repository.</summary>
    [Cmdlet(VerbsDiagnostic.Test, "NekkGhostImage")]
    [OutputType(typeof(GhostImageTestResult))]
    public sealed class TestNekkGhostImageCommand : NekkCmdlet
    {
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string Repository { get; set; } = null!;

        [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
        [ArgumentCompleter(typeof(GhostImageIdCompleter))]
        public string[]? ImageId { get; set; }

        /// <summary>Restore drill: every byte of every image reconstructed and verified; recorded under drills/.</summary>
        [Parameter]
        public SwitchParameter Full { get; set; }

        protected override void ProcessRecord()
        {
            var repository = ResolveStorePath(Repository);
            var ids = ImageId;
            var result = Run((observer, ct) => GhostRepository.TestAsync(repository, ids, Full.IsPresent, observer, ct), repository);
            WriteObject(result);
        }
    }
}
