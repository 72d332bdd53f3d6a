using System;
using System.Buffers;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Observability;
using NekkBackup.Core.Primitives;
using NekkBackup.Core.Validation;

namespace NekkBackup.Core.Folder
{
    /// <summary>
    /// The browsable mirror: plain files and folders under the destination (<c>Capabilities.LocalRoot</c>), written with
    /// file-system calls because they must stay browsable and keep their times, and versions displaced from it into
    /// <c>.nekkbackup/objects/</c> by one rename. Nothing is written, moved or deleted through a folder of the mirror
    /// that is a link (the destination's <see cref="StoreRoot"/> refuses it).
    /// </summary>
    internal sealed class MirrorWriter
    {
        private readonly BackupContext _ctx;
        private readonly FolderRepository _repo;
        private readonly ConcurrentDictionary<string, byte> _madeDirs;
        private readonly ConcurrentDictionary<string, byte> _touchedDirs;

        public MirrorWriter(BackupContext ctx)
        {
            _ctx = ctx;
            _repo = ctx.Repo;
            _madeDirs = new ConcurrentDictionary<string, byte>(ctx.Paths);
            _touchedDirs = new ConcurrentDictionary<string, byte>(ctx.Paths);
        }

        /// <summary>Notes that something inside the folder of <paramref name="path"/> changed (its time is set again at the end).</summary>
        public void Touch(string path)
        {
            var dir = Path.GetDirectoryName(path);
            if (dir != null) _touchedDirs.TryAdd(dir, 0);
        }

        /// <summary>Notes a folder of the mirror whose own time must be set again.</summary>
        public void TouchFolder(string dir) => _touchedDirs.TryAdd(dir, 0);

        public void MadeFolder(string dir) => _madeDirs.TryAdd(dir, 0);

        public void EnsureParent(string path)
        {
            var dir = Path.GetDirectoryName(path)!;
            if (_madeDirs.ContainsKey(dir)) return;
            // A file became a folder: its old version goes to history first (it is no longer in the source).
            if (File.Exists(dir)) throw new IOException($"'{dir}' is a file in the mirror");
            _repo.Store.EnsureDirectory(dir, Reasons.MirrorDamaged); // never through a link planted in the mirror
            _madeDirs.TryAdd(dir, 0);
        }

        /// <summary>
        /// Keeps the version the catalog says is in the mirror before it is replaced or removed:
        /// renamed into objects/&lt;hash&gt; unless already there. A mirror file that no longer matches
        /// its record (size+mtime) is hashed; if it is some other content it is still kept, under its
        /// own hash, so nothing is lost.
        /// </summary>
        public void Displace(ManifestEntry cur, bool removing)
        {
            var mirror = _repo.MirrorPath(cur.Path);
            // Nothing is moved, hashed or deleted through a folder of the mirror that is a link (UnsafePath).
            if (!_repo.Store.CheckParents(mirror, Reasons.MirrorDamaged)) return;
            var kind = _repo.Store.Kind(mirror);
            if (cur.IsDir)
            {
                if (kind == StoredKind.Directory && !Directory.EnumerateFileSystemEntries(mirror).Any()) Directory.Delete(mirror);
                else if (kind == StoredKind.Directory)
                    _ctx.Observer.Message(RunMessageLevel.Warning, $"The folder '{mirror}' is gone from the source but still holds files NekkBackup did not record; it is left in the mirror.");
                return;
            }
            if (kind == StoredKind.Fifo || kind == StoredKind.Device || kind == StoredKind.Socket || kind == StoredKind.Other)
            {
                // Not something a backup made: never opened; removed so the mirror heals.
                _ctx.Observer.Message(RunMessageLevel.Warning, $"The mirror holds '{mirror}', which {StoredKindText.Describe(kind)}; it is removed.");
                File.Delete(mirror);
                return;
            }
            if (cur.IsLink || kind != StoredKind.File)
            {
                if (removing || cur.IsLink) FileOps.DeleteItem(mirror);
                return;
            }
            var fi = new FileInfo(mirror);
            string hash = cur.Hash!;
            var obj = _repo.ObjectPath(hash);
            if (File.Exists(obj))
            {
                if (removing) RemoveFile(mirror);
                return;
            }
            if (fi.Length != cur.Size || fi.LastWriteTimeUtc.Ticks != cur.MTime)
            {
                var buf = ArrayPool<byte>.Shared.Rent(FileOps.BufferSize);
                try
                {
                    using var fs = _repo.Store.OpenRead(mirror, Reasons.CorruptCatalog, "the stored copy") ?? throw new FileNotFoundException($"'{mirror}' disappeared.", mirror);
                    hash = Sha256.OfStream(fs, buf, CancellationToken.None).Hash;
                }
                finally { ArrayPool<byte>.Shared.Return(buf); }
                if (hash != cur.Hash)
                    _ctx.Observer.Message(RunMessageLevel.Warning, $"The mirror file '{mirror}' was changed outside NekkBackup; its content is kept in history as {hash}.");
                obj = _repo.ObjectPath(hash);
                if (File.Exists(obj))
                {
                    if (removing) RemoveFile(mirror);
                    return;
                }
            }
            _repo.Store.EnsureDirectory(Path.GetDirectoryName(obj)!, Reasons.CorruptCatalog);
            File.Move(mirror, obj);
            Interlocked.Increment(ref _ctx.FilesVersioned);
        }

        private static void RemoveFile(string mirror)
        {
            FileOps.ClearReadOnly(mirror);
            File.Delete(mirror);
        }

        /// <summary>Gives changed mirror folders the source's times, deepest first, and records them.</summary>
        public void SetDirTimes(List<SourceItem> items, Dictionary<string, ManifestEntry> state)
        {
            if (_touchedDirs.IsEmpty) return;
            foreach (var it in items.Where(i => i.IsDir).OrderByDescending(i => i.Path.Length))
            {
                if (!state.TryGetValue(it.Path, out var e) || !e.IsDir) continue;
                var mirror = _repo.MirrorPath(it.Path);
                if (!_touchedDirs.ContainsKey(mirror)) continue;
                try
                {
                    if (!IsMirrorFolder(mirror)) continue;
                    Directory.SetLastWriteTimeUtc(mirror, new DateTime(it.MTime, DateTimeKind.Utc));
                    if (e.MTime != it.MTime) state[it.Path] = new ManifestEntry { Path = it.Path, MTime = it.MTime, Kind = "d" };
                }
                catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException || ex is NekkBackupException) { }
            }
        }

        /// <summary>True when <paramref name="dir"/> is a real folder of the mirror (no link on the way, not a link itself).</summary>
        private bool IsMirrorFolder(string dir)
        {
            try { return _repo.Store.CheckParents(dir, Reasons.MirrorDamaged) && _repo.Store.Kind(dir) == StoredKind.Directory; }
            catch (NekkBackupException) { return false; }
        }

        /// <summary>Removes folders a deletion left empty, up to the source's top folder or a folder the source still has.</summary>
        public void PruneEmptyParents(string path, HashSet<string> seen)
        {
            var stop = _repo.Destination.TrimEnd(Path.DirectorySeparatorChar);
            var dir = Path.GetDirectoryName(path);
            while (dir != null && dir.Length > stop.Length && dir.StartsWith(stop, _ctx.Identity.Comparison))
            {
                var rel = dir.Substring(stop.Length + 1).Replace(Path.DirectorySeparatorChar, '/');
                if (rel.IndexOf('/') < 0 || seen.Contains(rel)) return; // a source root, or a folder the source still has
                Touch(dir);
                try
                {
                    if (!IsMirrorFolder(dir) || Directory.EnumerateFileSystemEntries(dir).Any()) return;
                    Directory.Delete(dir);
                    _madeDirs.TryRemove(dir, out _);
                }
                catch (IOException) { return; }
                catch (UnauthorizedAccessException) { return; }
                dir = Path.GetDirectoryName(dir);
            }
        }

        /// <summary>Removes copies in flight (<c>.nekkbackup/partial/</c>): before a run writes and after it ends.</summary>
        public void CleanPartials()
        {
            try
            {
                foreach (var (f, kind) in _repo.Store.List(_repo.PartialDir, Reasons.CorruptCatalog))
                    if (kind != StoredKind.Directory) FileOps.TryDelete(f);
            }
            catch (IOException) { }
            catch (NekkBackupException) { }
        }
    }
}
