using System;
using System.Collections.Generic;
using System.Management.Automation;
using NekkBackup.Commands.Infrastructure;
using NekkBackup.Core.Imaging;

namespace NekkBackup.Commands.Ghost
{
    /// <summary>
    /// Remove-NekkGhostImage: deletes images and frees the chunks nothing references any more. Images piped
    /// in are collected and removed per repository in one pass, so garbage collection runs once.
    /// </summary>
    [Cmdlet(VerbsCommon.Remove, "NekkGhostImage", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.High)]
    [OutputType(typeof(GhostRemoveResult))]
    public sealed class RemoveNekkGhostImageCommand : NekkCmdlet
    {
        private readonly Dictionary<string, List<string>> _byRepository = new(StringComparer.Ordinal);

        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string Repository { get; set; } = null!;

        [Parameter(Mandatory = true, Position = 1, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string[] ImageId { get; set; } = null!;

        [Parameter]
        public SwitchParameter PassThru { get; set; }

        protected override void ProcessRecord()
        {
            var repository = ResolvePath(Repository);
            foreach (var id in ImageId)
            {
                if (!ShouldProcess($"{id} in {repository}", "Remove Ghost image")) continue;
                if (!_byRepository.TryGetValue(repository, out var list)) _byRepository[repository] = list = new List<string>();
                if (!list.Contains(id)) list.Add(id);
            }
        }

        protected override void EndProcessing()
        {
            foreach (var kv in _byRepository)
            {
                var result = Run((observer, ct) => GhostRepository.RemoveAsync(kv.Key, kv.Value, observer, ct), kv.Key);
                WriteVerbose($"Removed {result.RemovedImageIds.Length} image(s) from {kv.Key}; freed {result.FreedBytes:N0} bytes ({result.ChunksDeleted:N0} chunks).");
                if (PassThru) WriteObject(result);
            }
        }
    }
}
