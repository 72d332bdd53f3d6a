using System.Collections.Generic;
using System.Globalization;
using System.IO;
using NekkBackup.Core.Validation;

namespace NekkBackup.Core.Imaging
{
    /// <summary>
    /// What only a repository in a folder needs beyond its target (<see cref="Storage.TargetCapabilities.LocalRoot"/>): its
    /// folders checked before any work — a link among them is <c>UnsafePath</c>, a file or FIFO where one belongs
    /// <c>RepositoryCorrupt</c> — and the entries a target leaves out of its listings (links, FIFOs, devices named like a
    /// manifest), which must count as unreadable documents rather than as nothing. Through the validation layer's
    /// <see cref="StoreRoot"/>; an object store has neither folders nor such entries.
    /// </summary>
    internal sealed class LocalLayout
    {
        private static readonly string[] Folders = { ImageRepository.ChunksPrefix, ImageRepository.ImagesPrefix, ImageRepository.LocksPrefix, ImageRepository.DrillsPrefix };
        private readonly StoreRoot _store;

        public LocalLayout(string root) => _store = new StoreRoot(root, "the image repository");

        public string Root => _store.Path;

        /// <summary>The file behind a key.</summary>
        public string PathOf(string key) => Path.Combine(_store.Path, key.Replace('/', Path.DirectorySeparatorChar));

        private string Dir(string prefix) => PathOf(prefix.TrimEnd('/'));

        /// <summary>Creates (or checks) chunks/00…ff, images, locks and drills before a capture writes anything through them.</summary>
        public void Create()
        {
            foreach (var f in Folders) Ensure(f);
            for (int i = 0; i < 256; i++) _store.EnsureDirectory(Path.Combine(Dir(ImageRepository.ChunksPrefix), i.ToString("x2", CultureInfo.InvariantCulture)), Reasons.RepositoryCorrupt);
        }

        /// <summary>Creates the folder of <paramref name="prefix"/> when missing; a link or a file there is refused.</summary>
        public void Ensure(string prefix) => _store.EnsureDirectory(Dir(prefix), Reasons.RepositoryCorrupt);

        /// <summary>Refuses a link or a file where the folder of <paramref name="prefix"/> belongs (a missing folder is fine).</summary>
        public void Check(string prefix)
        {
            var dir = Dir(prefix);
            if (!_store.CheckParents(Path.Combine(dir, "x"), Reasons.RepositoryCorrupt)) return;
            _store.List(dir, Reasons.RepositoryCorrupt, ".none"); // throws for a link (UnsafePath) or a non-folder (RepositoryCorrupt)
        }

        /// <summary>Entries directly in the folder of <paramref name="prefix"/> ending in <paramref name="suffix"/> that are not regular files.</summary>
        public IEnumerable<(string Path, StoredKind Kind)> Unvouched(string prefix, string suffix)
        {
            foreach (var (p, k) in _store.List(Dir(prefix), Reasons.RepositoryCorrupt, suffix))
                if (k != StoredKind.File) yield return (p, k);
        }
    }
}
