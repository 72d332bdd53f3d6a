using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Storage;
using NekkBackup.Core.Tests.TestKit;
using Xunit;

namespace NekkBackup.Core.Tests.Storage
{
    /// <summary>What only a folder can hold: links, FIFOs, temp files of killed writers, a vanished share.</summary>
    public class LocalDirectoryTargetTests
    {
        private static async Task<byte[]> ReadAsync(IBackupTarget t, string key)
        {
            using var s = await t.OpenReadAsync(key, 0, -1, CancellationToken.None);
            using var ms = new MemoryStream();
            await s.CopyToAsync(ms);
            return ms.ToArray();
        }

        [Fact]
        public async Task A_link_where_an_object_belongs_is_refused_never_followed()
        {
            using var dir = new TempDir("lt-link");
            var outside = Path.Combine(dir.Path, "outside.txt");
            File.WriteAllText(outside, "secret");
            var root = dir.Sub("root");
            var t = LocalDirectoryTarget.Open(root);
            File.CreateSymbolicLink(Path.Combine(root, "manifest.json"), outside);
            foreach (var call in new Func<Task>[]
            {
                () => ReadAsync(t, "manifest.json"),
                () => t.StatAsync("manifest.json", CancellationToken.None),
                () => t.PutAsync("manifest.json", new MemoryStream(new byte[] { 1 }), null, CancellationToken.None),
                () => t.DeleteAsync("manifest.json", CancellationToken.None),
            })
            {
                var ex = await Assert.ThrowsAsync<TargetException>(call);
                Assert.Equal(TargetErrorKind.UnsafeEntry, ex.ErrorKind);
                Assert.Equal("NekkBackup.TargetUnsafeEntry", ex.ErrorId);
                Assert.True(t.IsPermanent(ex));
            }
            Assert.Equal("secret", File.ReadAllText(outside));
            await foreach (var e in t.ListAsync("", CancellationToken.None)) Assert.Fail("listed " + e.Key);
        }

        [Fact]
        public async Task A_linked_folder_cannot_lead_a_key_out_of_the_root()
        {
            using var dir = new TempDir("lt-dirlink");
            var elsewhere = dir.Sub("elsewhere");
            File.WriteAllText(Path.Combine(elsewhere, "x"), "outside");
            var root = dir.Sub("root");
            Directory.CreateSymbolicLink(Path.Combine(root, "chunks"), elsewhere);
            var t = LocalDirectoryTarget.Open(root);
            Assert.Equal(TargetErrorKind.UnsafeEntry, (await Assert.ThrowsAsync<TargetException>(() => ReadAsync(t, "chunks/x"))).ErrorKind);
            Assert.Equal(TargetErrorKind.UnsafeEntry, (await Assert.ThrowsAsync<TargetException>(() => t.PutAsync("chunks/y", new MemoryStream(new byte[] { 1 }), null, CancellationToken.None))).ErrorKind);
            Assert.False(File.Exists(Path.Combine(elsewhere, "y")));
            await foreach (var e in t.ListAsync("", CancellationToken.None)) Assert.Fail("listed " + e.Key);
        }

        [Fact]
        public async Task A_FIFO_is_refused_without_blocking_the_reader()
        {
            if (!OperatingSystemInfo.IsLinux) return;
            using var dir = new TempDir("lt-fifo");
            var t = LocalDirectoryTarget.Open(dir.Path);
            ProcessHelper.Check("mkfifo", $"\"{Path.Combine(dir.Path, "index.idx")}\"");
            var read = ReadAsync(t, "index.idx");
            var finished = await Task.WhenAny(read, Task.Delay(TimeSpan.FromSeconds(10)));
            Assert.Same(read, finished); // a FIFO opened for reading would block forever
            var ex = await Assert.ThrowsAsync<TargetException>(() => read);
            Assert.Equal(TargetErrorKind.UnsafeEntry, ex.ErrorKind);
            Assert.Contains("FIFO", ex.Message);
            await foreach (var e in t.ListAsync("", CancellationToken.None)) Assert.Fail("listed " + e.Key);
        }

        [Fact]
        public async Task Temp_files_of_a_killed_writer_are_never_listed_and_are_swept_when_old()
        {
            using var dir = new TempDir("lt-temp");
            var t = LocalDirectoryTarget.Open(dir.Path);
            await t.PutAsync("real", new MemoryStream(new byte[] { 1 }), null, CancellationToken.None);
            var temp = Path.Combine(dir.Path, StorageKeys.TempSegment);
            var stale = Path.Combine(temp, "0123.tmp");
            var fresh = Path.Combine(temp, "4567.tmp");
            File.WriteAllBytes(stale, new byte[100]);
            File.WriteAllBytes(fresh, new byte[100]);
            File.SetLastWriteTimeUtc(stale, DateTime.UtcNow.AddHours(-2));
            var keys = new System.Collections.Generic.List<string>();
            await foreach (var e in t.ListAsync("", CancellationToken.None)) keys.Add(e.Key);
            Assert.Equal(new[] { "real" }, keys);
            LocalDirectoryTarget.Open(dir.Path); // a new run opens the target
            Assert.False(File.Exists(stale));
            Assert.True(File.Exists(fresh)); // may belong to a writer still at work
        }

        [Fact]
        public async Task A_missing_root_is_NotFound_and_a_vanished_one_is_transient()
        {
            using var dir = new TempDir("lt-root");
            var ex = Assert.Throws<TargetException>(() => LocalDirectoryTarget.Open(Path.Combine(dir.Path, "no", "share")));
            Assert.Equal(TargetErrorKind.NotFound, ex.ErrorKind);
            var created = LocalDirectoryTarget.Open(Path.Combine(dir.Path, "new"), new LocalTargetOptions { CreateRoot = true });
            Assert.True(Directory.Exists(created.Location));
            Directory.Delete(created.Location, true); // the share dropped out
            var gone = await Assert.ThrowsAsync<TargetException>(() => created.PutAsync("a/b", new MemoryStream(new byte[] { 1 }), null, CancellationToken.None));
            Assert.True(gone.IsTransient, gone.ErrorKind + ": " + gone.Message);
            Assert.False(created.IsPermanent(gone));
            Assert.False(Directory.Exists(created.Location), "nothing is created in place of a dropped share");
            // An unmounted share leaves its empty mount point: still not the target, still nothing written.
            Directory.CreateDirectory(created.Location);
            var empty = await Assert.ThrowsAsync<TargetException>(() => created.PutAsync("a/b", new MemoryStream(new byte[] { 1 }), null, CancellationToken.None));
            Assert.Equal(TargetErrorKind.Unavailable, empty.ErrorKind);
            Assert.Empty(Directory.EnumerateFileSystemEntries(created.Location));
        }

        [Fact]
        public void Options_build_from_a_hashtable_and_are_checked_in_one_place()
        {
            var o = LocalTargetOptions.FromDictionary(new System.Collections.Hashtable { ["createroot"] = true, ["NameRules"] = "windows", ["TempMaxAge"] = "2h" });
            Assert.True(o.CreateRoot);
            Assert.Equal(KeyNameRules.Windows, o.NameRules);
            Assert.Equal(TimeSpan.FromHours(2), o.TempMaxAge);
            var bad = Assert.Throws<NekkBackup.Core.Errors.NekkBackupException>(() => LocalTargetOptions.FromDictionary(new System.Collections.Hashtable { ["NameRules"] = "ObjectStore" }));
            Assert.Equal("NekkBackup.InvalidTargetOptions", bad.ErrorId);
            Assert.Throws<NekkBackup.Core.Errors.NekkBackupException>(() => LocalTargetOptions.FromDictionary(new System.Collections.Hashtable { ["Root"] = "/x" }));
        }
    }
}
