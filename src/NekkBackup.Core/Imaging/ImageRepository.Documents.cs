using System;
using System.Collections.Generic;
using System.Text.Json;
using System.Threading;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Storage;
using NekkBackup.Core.Validation;

namespace NekkBackup.Core.Imaging
{
    /// <summary>The repository's JSON documents (manifests, drill records) read and written through the target, read only through <see cref="GhostRules"/>.</summary>
    internal sealed partial class ImageRepository
    {
        /// <summary>The validated manifest of <paramref name="imageId"/> (ImageNotFound; ManifestCorrupt naming the field; UnsupportedImageVersion).</summary>
        public ImageManifest ReadManifest(string imageId, CancellationToken ct = default)
        {
            var key = ManifestKey(imageId);
            var c = GhostRules.Manifest(Where(key));
            var bytes = TargetIo.ReadAll(Target, key, GhostRules.MaxManifestBytes, c, ct)
                ?? throw Fail.NotFound("ImageNotFound", $"No image '{imageId}' in the repository '{Root}'.", imageId);
            return GhostRules.ReadManifest(bytes, imageId, Config, c);
        }

        /// <summary>True when a manifest (sound or not) is there for <paramref name="imageId"/>; UnsafePath when images/ is a link.</summary>
        public bool HasManifest(string imageId)
        {
            Layout?.Check(ImagesPrefix);
            var key = ManifestKey(imageId);
            try { return TargetIo.Wait(Target.StatAsync(key, CancellationToken.None)) != null; }
            catch (TargetException e) when (TargetIo.IsDamage(e)) { return true; }
        }

        /// <summary>
        /// All committed images (manifests), oldest first. A manifest that cannot be read — damaged, newer, or an entry the
        /// target cannot vouch for (a link or FIFO named like one) — is reported through <paramref name="onError"/>, not thrown.
        /// </summary>
        public List<ImageManifest> ReadManifests(Action<string, Exception>? onError = null, CancellationToken ct = default)
        {
            var list = new List<ImageManifest>();
            if (Layout != null)
                foreach (var (p, k) in Layout.Unvouched(ImagesPrefix, ".json"))
                    onError?.Invoke(p, Fail.InvalidData(Reasons.ManifestCorrupt, $"The image manifest '{p}' {StoredKindText.Describe(k)}.", p));
            foreach (var e in ListPrefix(ImagesPrefix, ct))
            {
                var name = e.Key.Substring(ImagesPrefix.Length);
                if (name.IndexOf('/') >= 0 || !name.EndsWith(".json", StringComparison.Ordinal)) continue;
                var id = name.Substring(0, name.Length - ".json".Length);
                try { list.Add(ReadManifest(id, ct)); }
                catch (NekkBackupException ex) when (ex.Kind != FailureKind.OperationStopped) { onError?.Invoke(Where(e.Key), ex); }
            }
            list.Sort((a, b) => a.Created != b.Created ? a.Created.CompareTo(b.Created) : string.CompareOrdinal(a.ImageId, b.ImageId));
            return list;
        }

        /// <summary>Commits an image: its manifest, durably, never over another one.</summary>
        public void WriteManifest(ImageManifest m, CancellationToken ct)
        {
            var key = ManifestKey(m.ImageId);
            try { TargetIo.Put(Target, key, JsonSerializer.SerializeToUtf8Bytes(m, Json), PutOptions.CreateNew, ct); }
            catch (TargetException e) { throw TargetIo.Map(e, Reasons.RepositoryCorrupt, Where(key)); }
        }

        /// <summary>Writes a drill record (durably); returns where it is. Damage in its place is the target's error.</summary>
        public string WriteDrill(DrillRecord rec, CancellationToken ct)
        {
            var key = DrillKey(rec.Finished, rec.ImageId);
            TargetIo.Put(Target, key, JsonSerializer.SerializeToUtf8Bytes(rec, Json), PutOptions.Default, ct);
            return Where(key);
        }

        /// <summary>Every sound drill record (drills/*.json, validated); damaged ones are reported through <paramref name="onError"/>.</summary>
        public List<(string Where, DrillRecord Record)> ReadDrills(Action<string, Exception>? onError = null, CancellationToken ct = default)
        {
            var list = new List<(string, DrillRecord)>();
            foreach (var e in ListPrefix(DrillsPrefix, ct))
            {
                var name = e.Key.Substring(DrillsPrefix.Length);
                if (name.IndexOf('/') >= 0 || !name.EndsWith(".json", StringComparison.Ordinal)) continue;
                var where = Where(e.Key);
                try
                {
                    var c = GhostRules.Drill(where);
                    var bytes = TargetIo.ReadAll(Target, e.Key, GhostRules.MaxDrillBytes, c, ct);
                    if (bytes != null) list.Add((where, GhostRules.ReadDrill(bytes, c)));
                }
                catch (NekkBackupException ex) when (ex.Kind != FailureKind.OperationStopped) { onError?.Invoke(where, ex); }
            }
            return list;
        }

        /// <summary>Deletes one object; returns the bytes it held (0 when it was not there).</summary>
        public long Delete(string key, CancellationToken ct)
        {
            try
            {
                var entry = TargetIo.Wait(Target.StatAsync(key, ct));
                if (entry == null) return 0;
                TargetIo.Wait(Target.DeleteAsync(key, ct));
                return entry.Size;
            }
            catch (TargetException e) { throw TargetIo.Map(e, Reasons.RepositoryCorrupt, Where(key)); }
        }
    }
}
