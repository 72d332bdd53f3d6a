using System;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Tests.Fuzz;
using NekkBackup.Core.Tests.TestKit;
using NekkBackup.Core.Validation;
using Xunit;

namespace NekkBackup.Core.Tests.Validation
{
    /// <summary>The validation layer's rules, each against the cases it exists for (real files, FIFOs, devices and links).</summary>
    public sealed class ValidationLayerTests
    {
        [Theory]
        [InlineData("studio-pc01", true)]
        [InlineData("20261206T065256Z-8b1ea43a", true)]
        [InlineData("Project Alpha 2.1", true)]
        [InlineData("", false)]
        [InlineData(".", false)]
        [InlineData("..", false)]
        [InlineData("a/b", false)]
        [InlineData("a\\b", false)]
        [InlineData("c:x", false)]
        [InlineData("x*", false)]
        [InlineData("a\0b", false)]
        [InlineData("tab\there", false)]
        [InlineData("trailing.", false)]
        [InlineData(" lead", false)]
        [InlineData("CON", false)]
        [InlineData("nul.json", false)]
        [InlineData("Com1", false)]
        [InlineData("console", true)]
        public void SafeName_IsTheSameRuleAsAUserPathSegment(string name, bool safe)
        {
            Assert.Equal(safe, SafeName.IsSafe(name));
            if (!safe) Assert.NotNull(SafeName.Problem(name));
        }

        [Fact]
        public void SafeName_RefusesNullAndOverlongNames()
        {
            Assert.False(SafeName.IsSafe(null));
            Assert.False(SafeName.IsSafe(new string('a', SafeName.MaxLength + 1)));
            Assert.True(SafeName.IsSafe(new string('a', SafeName.MaxLength)));
        }

        [Theory]
        [InlineData("S/Sessions/Take 1/kick.wav", true)]
        [InlineData("S/a:b?.txt", true)] // legal on Linux; Windows refuses ':' in RecordedPath when it runs there
        [InlineData("S/../evil", false)]
        [InlineData("../evil", false)]
        [InlineData("/etc/passwd", false)]
        [InlineData("S//x", false)]
        [InlineData("S/./x", false)]
        [InlineData("S/x/", false)]
        [InlineData("S/a\0b", false)]
        [InlineData("", false)]
        public void RecordedPath_StaysBelowItsRoot(string path, bool safe)
        {
            if (OperatingSystemInfo.IsWindows && path.Contains(':')) safe = false;
            Assert.Equal(safe, RecordedPath.IsSafe(path));
        }

        [Fact]
        public void ContentHash_IsExactly64LowerCaseHexDigits()
        {
            Assert.True(ContentHash.IsSha256Hex(new string('a', 64)));
            Assert.False(ContentHash.IsSha256Hex(new string('A', 64)));
            Assert.False(ContentHash.IsSha256Hex(new string('a', 63)));
            Assert.False(ContentHash.IsSha256Hex("/dev/zero"));
            Assert.False(ContentHash.IsSha256Hex(""));
            Assert.False(ContentHash.IsSha256Hex(null));
            Assert.False(ContentHash.IsSha256Hex("../" + new string('a', 61)));
        }

        [Fact]
        public void NativeFs_TellsEveryKindApart_WithoutFollowingOrBlocking()
        {
            using var tmp = new TempDir("vl-kinds");
            var file = Path.Combine(tmp.Path, "file");
            File.WriteAllText(file, "x");
            var fifo = Path.Combine(tmp.Path, "fifo");
            HostileFs.MakeFifo(fifo);
            var dangling = Path.Combine(tmp.Path, "dangling");
            HostileFs.MakeDangling(dangling);
            var self = Path.Combine(tmp.Path, "self");
            HostileFs.MakeSelfLink(self);
            var dir = tmp.Sub("dir");
            var dirLink = Path.Combine(tmp.Path, "dirlink");
            HostileFs.MakeDirLink(dirLink, dir);

            Assert.Equal(StoredKind.File, NativeFs.KindOf(file));
            Assert.Equal(StoredKind.Fifo, NativeFs.KindOf(fifo));
            Assert.Equal(StoredKind.Link, NativeFs.KindOf(dangling));
            Assert.Equal(StoredKind.Link, NativeFs.KindOf(self));
            Assert.Equal(StoredKind.Directory, NativeFs.KindOf(dir));
            Assert.Equal(StoredKind.Link, NativeFs.KindOf(dirLink));
            Assert.Equal(StoredKind.Missing, NativeFs.KindOf(Path.Combine(tmp.Path, "nothing")));
            Assert.Equal(StoredKind.Device, NativeFs.KindOf("/dev/zero"));

            using (var fs = NativeFs.OpenRegular(file, append: false)) Assert.Equal(1, fs!.Length);
            Assert.Null(NativeFs.OpenRegular(Path.Combine(tmp.Path, "nothing"), append: false));
            foreach (var p in new[] { fifo, dangling, self, dir, dirLink, "/dev/zero" })
                Assert.ThrowsAny<IOException>(() => NativeFs.OpenRegular(p, append: false)?.Dispose());
            Assert.Throws<NotRegularFileException>(() => NativeFs.OpenRegular(fifo, append: true)?.Dispose());
        }

        [Fact]
        public void NativeFs_PlatformTables()
        {
            Assert.Equal(StoredKind.File, NativeFs.FromMode(0x81A4));
            Assert.Equal(StoredKind.Fifo, NativeFs.FromMode(0x11A4));
            Assert.Equal(StoredKind.Link, NativeFs.FromMode(0xA1FF));
            Assert.Equal(StoredKind.Device, NativeFs.FromMode(0x21B6));
            Assert.Equal(StoredKind.Device, NativeFs.FromMode(0x61B0));
            Assert.Equal(StoredKind.Socket, NativeFs.FromMode(0xC1ED));
            // Windows: a reparse point (symlink or junction) is a link whatever else it is; pipes and character devices are refused on the handle.
            Assert.Equal(StoredKind.Link, NativeFs.FromAttributes(FileAttributes.ReparsePoint | FileAttributes.Directory));
            Assert.Equal(StoredKind.Device, NativeFs.FromAttributes(FileAttributes.Device));
            Assert.Equal(StoredKind.File, NativeFs.FromAttributes(FileAttributes.Archive | FileAttributes.ReadOnly));
            Assert.Null(NativeFs.WindowsHandleVerdict(NativeFs.FILE_TYPE_DISK, FileAttributes.Archive));
            Assert.Equal(StoredKind.Fifo, NativeFs.WindowsHandleVerdict(3, 0));
            Assert.Equal(StoredKind.Device, NativeFs.WindowsHandleVerdict(2, 0));
            Assert.Equal(StoredKind.Link, NativeFs.WindowsHandleVerdict(NativeFs.FILE_TYPE_DISK, FileAttributes.ReparsePoint));
            Assert.Equal(@"\\nas\share\x", NativeFs.FromFinalPath(@"\\?\UNC\nas\share\x"));
            Assert.Equal(@"C:\x", NativeFs.FromFinalPath(@"\\?\C:\x"));
            // open(2) flags differ by CPU: Linux arm64 numbers O_NOFOLLOW 0x8000, x64 0x20000.
            Assert.Equal(0x20000, NativeFs.UnixFlags.For(true, false, System.Runtime.InteropServices.Architecture.X64)!.Value.NoFollow);
            Assert.Equal(0x8000, NativeFs.UnixFlags.For(true, false, System.Runtime.InteropServices.Architecture.Arm64)!.Value.NoFollow);
            Assert.Equal(0x800, NativeFs.UnixFlags.For(true, false, System.Runtime.InteropServices.Architecture.Arm64)!.Value.NonBlock);
            Assert.Null(NativeFs.UnixFlags.For(false, true, System.Runtime.InteropServices.Architecture.Arm64));
        }

        [Fact]
        public void StoreRoot_ConfinesPaths_AndRefusesLinksOnTheWay()
        {
            using var tmp = new TempDir("vl-store");
            var root = new StoreRoot(tmp.Sub("root"), "the test store");
            var outside = tmp.Sub("outside");
            File.WriteAllText(Path.Combine(outside, "secret.json"), "{}");

            Assert.Equal(Path.Combine(root.Path, "a", "b.json"), root.Combine("a", "b.json"));
            foreach (var bad in new[] { "../outside/secret.json", "/etc/passwd", "a/../../outside", "a\0b" })
                Assert.Equal("NekkBackup.UnsafePath", Assert.Throws<NekkBackupException>(() => root.Combine(bad)).ErrorId);

            // A folder of the store that is a link to elsewhere: refused for reading, listing and writing.
            HostileFs.MakeDirLink(Path.Combine(root.Path, "runs"), outside);
            var through = Path.Combine(root.Path, "runs", "secret.json");
            Assert.Equal("NekkBackup.UnsafePath", Assert.Throws<NekkBackupException>(() => root.ReadAllBytes(through, 1000, "CorruptCatalog", "x")).ErrorId);
            Assert.Equal("NekkBackup.UnsafePath", Assert.Throws<NekkBackupException>(() => root.List(Path.Combine(root.Path, "runs"), "CorruptCatalog")).ErrorId);
            Assert.Equal("NekkBackup.UnsafePath", Assert.Throws<NekkBackupException>(() => root.EnsureDirectory(Path.Combine(root.Path, "runs", "new"), "CorruptCatalog")).ErrorId);
            Assert.False(Directory.Exists(Path.Combine(outside, "new")));

            // A file where a folder belongs: the format's reason, naming it.
            File.WriteAllText(Path.Combine(root.Path, "locks"), "file");
            var e = Assert.Throws<NekkBackupException>(() => root.EnsureDirectory(Path.Combine(root.Path, "locks"), "RepositoryCorrupt"));
            Assert.Equal("NekkBackup.RepositoryCorrupt", e.ErrorId);
            Assert.Contains("locks", e.Message);

            // Not a regular file where one belongs: named, never opened.
            HostileFs.MakeFifo(Path.Combine(root.Path, "fifo.json"));
            var f = Assert.Throws<NekkBackupException>(() => root.ReadAllBytes(Path.Combine(root.Path, "fifo.json"), 1000, "CorruptCatalog", "the run manifest"));
            Assert.Equal("NekkBackup.CorruptCatalog", f.ErrorId);
            Assert.Contains("FIFO", f.Message);

            // Larger than such a file can be: refused unread.
            File.WriteAllBytes(Path.Combine(root.Path, "big.json"), new byte[5000]);
            Assert.Contains("more than", Assert.Throws<NekkBackupException>(() => root.ReadAllBytes(Path.Combine(root.Path, "big.json"), 1000, "CorruptCatalog", "x")).Message);

            // Listing and walking never enter a linked folder.
            Directory.CreateDirectory(Path.Combine(root.Path, "objects", "ab"));
            File.WriteAllText(Path.Combine(root.Path, "objects", "ab", "one"), "1");
            HostileFs.MakeDirLink(Path.Combine(root.Path, "objects", "cd"), outside);
            Assert.Equal(new[] { "one" }, root.FilesBelow(Path.Combine(root.Path, "objects"), "CorruptCatalog").Select(Path.GetFileName).ToArray());
        }

        [Fact]
        public void StoredJson_WrongTypesAndNulls_AreNamedErrorsNamingTheField()
        {
            var c = new StoredCheck("/x/runs/r.json", Reasons.CorruptCatalog, "the run manifest");
            var e1 = Assert.Throws<NekkBackupException>(() => StoredJson.Parse<NekkBackup.Core.Folder.RunManifest>(Encoding.UTF8.GetBytes("{\"Entries\":[{\"s\":\"big\"}]}"), NekkBackup.Core.Folder.FolderRepository.Json, c));
            Assert.Equal("NekkBackup.CorruptCatalog", e1.ErrorId);
            Assert.Contains("Entries[0].s", e1.Message);
            Assert.Contains("/x/runs/r.json", e1.Message);
            var e2 = Assert.Throws<NekkBackupException>(() => StoredJson.Parse<NekkBackup.Core.Folder.RunManifest>(Encoding.UTF8.GetBytes("null"), NekkBackup.Core.Folder.FolderRepository.Json, c));
            Assert.Equal("NekkBackup.CorruptCatalog", e2.ErrorId);
            var o = StoredJson.ParseObject(Encoding.UTF8.GetBytes("{\"format\":5}"), c);
            Assert.Contains("'format'", Assert.Throws<NekkBackupException>(() => StoredJson.String(o, "format", c)).Message);
        }
    }
}
