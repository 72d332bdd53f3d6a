using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Snapshots;
using NekkBackup.Core.Sources;
using NekkBackup.Core.Tests.Folder;
using NekkBackup.Core.Tests.TestKit;
using Xunit;

namespace NekkBackup.Core.Tests.Walker
{
    /// <summary>The shared walker on real trees: globs, links, a snapshot's read path, failures per item, cancellation.</summary>
    public sealed class SourceWalkerTests : IDisposable
    {
        private readonly TempDir _dir = new("walker");

        public void Dispose() => _dir.Dispose();

        private static void Write(string path, string text)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, text);
        }

        /// <summary>Studio/ with takes, a folder to exclude, temp files and an empty folder.</summary>
        private string Tree()
        {
            var root = _dir.Sub("Studio");
            Write(Path.Combine(root, "notes.txt"), "notes");
            Write(Path.Combine(root, "Sessions", "Song A", "take1.wav"), "take 1");
            Write(Path.Combine(root, "Sessions", "Song A", "take2.wav"), "take 22");
            Write(Path.Combine(root, "Sessions", "Song A", "Song A.rpp"), "session");
            Write(Path.Combine(root, "Sessions", "Song A", "Old", "take0.wav"), "old take");
            Write(Path.Combine(root, "Sessions", "cache.tmp"), "temp");
            Write(Path.Combine(root, "Samples", "kick.wav"), "kick");
            Directory.CreateDirectory(Path.Combine(root, "Empty"));
            return root;
        }

        private static List<WalkEntry> All(string root, WalkOptions? o = null) =>
            new SourceWalker(o).Walk(root, CancellationToken.None).ToList();

        [Fact]
        public void Yields_every_item_with_its_stat_in_a_stable_order()
        {
            var root = Tree();
            var t = new DateTime(2026, 3, 4, 5, 6, 7, DateTimeKind.Utc);
            File.SetLastWriteTimeUtc(Path.Combine(root, "Samples", "kick.wav"), t);
            var entries = All(root);
            // A folder's entries by name, then its sub-folders, depth first.
            Assert.Equal(new[]
            {
                "D Empty", "D Samples", "D Sessions", "F notes.txt",
                "F Samples/kick.wav",
                "D Sessions/Song A", "F Sessions/cache.tmp",
                "D Sessions/Song A/Old", "F Sessions/Song A/Song A.rpp", "F Sessions/Song A/take1.wav", "F Sessions/Song A/take2.wav",
                "F Sessions/Song A/Old/take0.wav",
            }, entries.Select(e => e.Kind.ToString()[0] + " " + e.RelativePath).ToArray());
            var kick = entries.Single(e => e.RelativePath == "Samples/kick.wav");
            Assert.Equal((4L, t, Path.Combine(root, "Samples", "kick.wav")), (kick.Size, kick.LastWriteTimeUtc, kick.FullPath));
            Assert.Equal(7, entries.Single(e => e.RelativePath == "Sessions/Song A/take2.wav").Size);
            Assert.Equal(Directory.GetLastWriteTimeUtc(Path.Combine(root, "Sessions")), entries.Single(e => e.RelativePath == "Sessions").LastWriteTimeUtc);
        }

        /// <summary>The walk's order computed independently: a folder's entries by name, then its sub-folders, depth first.</summary>
        private static void Reference(string dir, string rel, List<string> into)
        {
            var names = Directory.GetFileSystemEntries(dir).Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal).ToList();
            foreach (var n in names)
            {
                var r = rel.Length == 0 ? n! : rel + "/" + n;
                into.Add((Directory.Exists(Path.Combine(dir, n!)) ? "D " : "F ") + r + (File.Exists(Path.Combine(dir, n!)) ? " " + new FileInfo(Path.Combine(dir, n!)).Length : ""));
            }
            foreach (var n in names.Where(n => Directory.Exists(Path.Combine(dir, n!))))
                Reference(Path.Combine(dir, n!), rel.Length == 0 ? n! : rel + "/" + n, into);
        }

        [Fact]
        public void A_deep_and_wide_tree_listed_ahead_is_walked_in_the_same_order_with_every_size()
        {
            // 4 levels of 5 folders (780 folders), files of different sizes on every level: far more folders than the
            // walk lists ahead or holds, so listings started early are taken later, deep in the stack.
            var root = _dir.Sub("Deep");
            void Fill(string dir, int level)
            {
                for (int f = 0; f < 3; f++) Write(Path.Combine(dir, $"f{f}-{level}.bin"), new string('x', level * 10 + f));
                if (level == 4) return;
                for (int d = 0; d < 5; d++) Fill(Path.Combine(dir, $"d{d}"), level + 1);
            }
            Fill(root, 0);
            var expected = new List<string>();
            Reference(root, "", expected);
            var walked = All(root).Select(e => e.Kind.ToString()[0] + " " + e.RelativePath + (e.Kind == WalkEntryKind.File ? " " + e.Size : "")).ToList();
            Assert.Equal(780, walked.Count(w => w.StartsWith("D ", StringComparison.Ordinal)));
            Assert.Equal(expected, walked);
        }

        [Fact]
        public void Exclude_prunes_folders_and_include_selects_files_while_folders_are_entered()
        {
            var root = Tree();
            var excluded = All(root, new WalkOptions { Filter = PathFilter.From(null, new[] { "Old", "*.tmp" }, PathIdentity.Posix) });
            Assert.DoesNotContain(excluded, e => e.RelativePath.Contains("Old") || e.RelativePath.EndsWith(".tmp"));
            Assert.Contains(excluded, e => e.RelativePath == "Empty" && e.IsDirectory);
            Assert.Equal(9, excluded.Count);

            var wavs = All(root, new WalkOptions { Filter = PathFilter.From(new[] { "*.wav" }, new[] { "Sessions/Song A/Old" }, PathIdentity.Posix) });
            Assert.Equal(new[] { "Samples/kick.wav", "Sessions/Song A/take1.wav", "Sessions/Song A/take2.wav" },
                wavs.Select(e => e.RelativePath).OrderBy(x => x, StringComparer.Ordinal).ToArray());
            Assert.All(wavs, e => Assert.True(e.IsFile));
        }

        [Fact]
        public void Windows_identity_makes_globs_case_insensitive()
        {
            var root = Tree();
            var win = All(root, new WalkOptions { Filter = PathFilter.From(new[] { "*.WAV" }, new[] { "sessions/song a/OLD" }, PathIdentity.Windows), PathIdentity = PathIdentity.Windows });
            Assert.Equal(3, win.Count);
            Assert.Empty(All(root, new WalkOptions { Filter = PathFilter.From(new[] { "*.WAV" }, null, PathIdentity.Posix) }));
        }

        [Fact]
        public void Links_are_recorded_with_their_target_and_never_followed_out_of_the_tree()
        {
            var root = Tree();
            var outside = _dir.Sub("outside");
            Write(Path.Combine(outside, "secret.wav"), "not part of the source");
            Directory.CreateSymbolicLink(Path.Combine(root, "Linked"), outside);
            File.CreateSymbolicLink(Path.Combine(root, "Samples", "kick-link.wav"), "kick.wav");
            File.CreateSymbolicLink(Path.Combine(root, "dangling"), Path.Combine(_dir.Path, "nowhere"));

            var entries = All(root);
            Assert.DoesNotContain(entries, e => e.FullPath.StartsWith(outside, StringComparison.Ordinal) || e.RelativePath.StartsWith("Linked/", StringComparison.Ordinal));
            var dir = entries.Single(e => e.RelativePath == "Linked");
            Assert.Equal((WalkEntryKind.Link, outside, true), (dir.Kind, dir.LinkTarget, dir.LinkIsDirectory));
            var file = entries.Single(e => e.RelativePath == "Samples/kick-link.wav");
            Assert.Equal((WalkEntryKind.Link, "kick.wav", false, 0L), (file.Kind, file.LinkTarget, file.LinkIsDirectory, file.Size));
            Assert.Equal(WalkEntryKind.Link, entries.Single(e => e.RelativePath == "dangling").Kind);

            // An include rule selects links like files; folders behind links are still never entered.
            var wavs = All(root, new WalkOptions { Filter = PathFilter.From(new[] { "*.wav" }, null, PathIdentity.Posix) });
            Assert.Contains(wavs, e => e.RelativePath == "Samples/kick-link.wav" && e.IsLink);
            Assert.DoesNotContain(wavs, e => e.RelativePath == "Linked" || e.RelativePath == "dangling");
        }

        [Fact]
        public void Follow_reads_through_links_enters_each_real_folder_once_and_reports_links_to_nothing()
        {
            var root = Tree();
            var outside = _dir.Sub("outside");
            Write(Path.Combine(outside, "ir.wav"), "impulse response");
            Directory.CreateSymbolicLink(Path.Combine(root, "Linked"), outside);
            Directory.CreateSymbolicLink(Path.Combine(root, "Sessions", "loop"), root); // back to the top
            File.CreateSymbolicLink(Path.Combine(root, "Samples", "kick-link.wav"), "kick.wav");
            File.CreateSymbolicLink(Path.Combine(root, "dangling.wav"), Path.Combine(_dir.Path, "nowhere"));

            var entries = All(root, new WalkOptions { Links = LinkPolicy.Follow });
            var ir = entries.Single(e => e.RelativePath == "Linked/ir.wav");
            Assert.Equal((WalkEntryKind.File, 16L, Path.Combine(root, "Linked", "ir.wav")), (ir.Kind, ir.Size, ir.FullPath));
            var kick = entries.Single(e => e.RelativePath == "Samples/kick-link.wav");
            Assert.True(kick.IsFile && kick.Followed && kick.Size == 4);
            Assert.True(entries.Single(e => e.RelativePath == "Sessions/loop").IsDirectory);
            Assert.DoesNotContain(entries, e => e.RelativePath.StartsWith("Sessions/loop/", StringComparison.Ordinal));
            var dangling = entries.Single(e => e.RelativePath == "dangling.wav");
            Assert.Equal((WalkEntryKind.Failed, "NekkBackup.ItemVanished", false), (dangling.Kind, dangling.Error!.ErrorId, dangling.ContentsUnknown));
        }

        [Fact]
        public void A_view_is_walked_at_its_read_path_with_the_live_layout_of_relative_paths()
        {
            var live = Tree();
            // What a snapshot froze: the tree before the live source changed.
            var frozen = Path.Combine(_dir.Path, "frozen", "Studio");
            StudioData.CopyTree(live, frozen);
            Directory.CreateDirectory(Path.Combine(frozen, "Empty"));
            File.WriteAllText(Path.Combine(live, "Samples", "kick.wav"), "kick, re-recorded live");
            Write(Path.Combine(live, "late.wav"), "after the snapshot");

            using var view = new SourceView(live, frozen, "Test:frozen");
            var entries = new SourceWalker().Walk(view, CancellationToken.None).ToList();
            Assert.Equal(All(frozen).Select(e => e.RelativePath), entries.Select(e => e.RelativePath));
            Assert.DoesNotContain(entries, e => e.RelativePath == "late.wav");
            Assert.All(entries, e => Assert.StartsWith(frozen + Path.DirectorySeparatorChar, e.FullPath));
            Assert.Equal(4, entries.Single(e => e.RelativePath == "Samples/kick.wav").Size);
        }

        [RootFact("mkfs.btrfs", "btrfs", "findmnt")]
        public async Task A_btrfs_snapshot_is_walked_and_the_snapshot_folder_at_the_root_is_left_out()
        {
            using var fs = new LoopFileSystem("btrfs", 256);
            using var state = new TempDir("walker-state");
            var obs = new RecordingObserver();
            var manager = SnapshotManager.CreateDefault(obs, new SnapshotStateStore(Path.Combine(state.Path, "snapshots.json")));
            StudioData.Generate(Path.Combine(fs.MountPoint, "Sessions"), 3, 5);
            var before = All(fs.MountPoint).Select(e => (e.Kind, e.RelativePath, e.Size)).ToList();

            var resolver = SnapshotSources.ForMode(SnapshotMode.Required, obs, manager);
            using (var view = await resolver.OpenAsync(fs.MountPoint, CancellationToken.None))
            {
                Assert.NotNull(view.SnapshotId);
                Assert.True(Directory.Exists(Path.Combine(fs.MountPoint, BtrfsSnapshotProvider.SnapshotDirName)));
                StudioData.Mutate(Path.Combine(fs.MountPoint, "Sessions"), 30, 6);
                var snap = new SourceWalker().Walk(view, CancellationToken.None).ToList();
                Assert.Equal(before, snap.Select(e => (e.Kind, e.RelativePath, e.Size)).ToList());
                Assert.All(snap, e => Assert.StartsWith(view.ReadPath, e.FullPath));
                // The live root holds the snapshot folder; the walk leaves it out (unless told otherwise).
                Assert.DoesNotContain(All(fs.MountPoint), e => e.RelativePath.StartsWith(BtrfsSnapshotProvider.SnapshotDirName, StringComparison.Ordinal));
                Assert.Contains(All(fs.MountPoint, new WalkOptions { SkipSnapshotFolder = false }), e => e.RelativePath == BtrfsSnapshotProvider.SnapshotDirName);
            }
            Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(fs.MountPoint, BtrfsSnapshotProvider.SnapshotDirName)));
        }

        [Fact]
        public void A_folder_that_cannot_be_listed_is_one_failed_entry_and_the_walk_goes_on()
        {
            var root = Tree();
            var entries = new List<WalkEntry>();
            foreach (var e in new SourceWalker().Walk(root, CancellationToken.None))
            {
                entries.Add(e);
                // The walker lists a folder when it gets to it: remove one after it was seen, before it is entered.
                if (e.RelativePath == "Sessions" && e.IsDirectory) Directory.Delete(Path.Combine(root, "Sessions"), true);
            }
            var failed = Assert.Single(entries, e => e.Kind == WalkEntryKind.Failed);
            Assert.Equal(("Sessions", Path.Combine(root, "Sessions"), true), (failed.RelativePath, failed.FullPath, failed.ContentsUnknown));
            Assert.Equal("NekkBackup.ItemVanished", failed.Error!.ErrorId);
            Assert.Contains(entries, e => e.RelativePath == "Samples/kick.wav"); // the rest of the tree is still walked

            var gone = Path.Combine(_dir.Path, "gone");
            var root404 = Assert.Single(All(gone));
            Assert.Equal((WalkEntryKind.Failed, "", true), (root404.Kind, root404.RelativePath, root404.ContentsUnknown));
        }

        [Fact]
        public void Cancellation_throws_instead_of_ending_the_walk_early()
        {
            var root = Tree();
            using var cts = new CancellationTokenSource();
            var seen = new List<string>();
            Assert.Throws<OperationCanceledException>(() =>
            {
                foreach (var e in new SourceWalker().Walk(root, cts.Token))
                {
                    seen.Add(e.RelativePath);
                    cts.Cancel();
                }
            });
            Assert.Equal(4, seen.Count); // the top folder's entries were listed already; no folder below was entered
        }
    }
}
