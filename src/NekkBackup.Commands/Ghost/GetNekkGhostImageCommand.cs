using System.Linq;
using System.Management.Automation;
using NekkBackup.Commands.Infrastructure;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Imaging;

namespace NekkBackup.Commands.Ghost
{
    /// <summary>Get-NekkGhostImage: the images in a Ghost repository, oldest first.</summary>
    [Cmdlet(VerbsCommon.Get, "NekkGhostImage")]
    [OutputType(typeof(GhostImage))]
    public sealed class GetNekkGhostImageCommand : NekkCmdlet
    {
        [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
        [ValidateNotNullOrEmpty]
        public string Repository { get; set; } = null!;

        [Parameter(Position = 1)]
        [SupportsWildcards]
        [ArgumentCompleter(typeof(GhostImageIdCompleter))]
        public string[]? ImageId { get; set; }

        protected override void ProcessRecord()
        {
            var repository = ResolveStorePath(Repository);
            try
            {
                var images = GhostRepository.List(repository);
                if (ImageId == null)
                {
                    foreach (var i in images) WriteObject(i);
                    return;
                }
                foreach (var id in ImageId)
                {
                    var pattern = new WildcardPattern(id, WildcardOptions.IgnoreCase);
                    var matches = images.Where(i => pattern.IsMatch(i.ImageId)).ToList();
                    if (matches.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(id))
                        WriteNekkError(Fail.NotFound("ImageNotFound", $"No image '{id}' in the repository '{repository}'.", id));
                    foreach (var i in matches) WriteObject(i);
                }
            }
            catch (NekkBackupException ex)
            {
                Terminate(ex, repository);
            }
        }
    }
}
