using System.Management.Automation;
using NekkBackup.Commands.Infrastructure;
using NekkBackup.Core.Folder;

namespace NekkBackup.Commands.Folder
{
    /// <summary>Test-NekkFolderBackup: catalog check; with -Full every stored byte is re-hashed.</summary>
    [Cmdlet(VerbsDiagnostic.Test, "NekkFolderBackup")]
    [OutputType(typeof(FolderBackupTestResult))]
    public sealed class TestNekkFolderBackupCommand : NekkCmdlet
    {
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string Destination { get; set; } = null!;

        [Parameter]
        public SwitchParameter Full { get; set; }

        protected override void ProcessRecord()
        {
            var destination = ResolveStorePath(Destination);
            var result = Run((observer, ct) => FolderBackupEngine.TestAsync(destination, Full.IsPresent, observer, ct), destination);
            foreach (var w in result.Warnings) WriteWarning(w);
            foreach (var p in result.Problems) WriteWarning("Problem: " + p);
            WriteObject(result);
        }
    }
}
