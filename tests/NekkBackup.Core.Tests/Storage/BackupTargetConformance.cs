using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Storage;
using Xunit;

namespace NekkBackup.Core.Tests.Storage
{
    /// <summary>
    /// The conformance suite every <see cref="IBackupTarget"/> must pass (restic's backend/test/suite.go, kopia's
    /// blobtesting.VerifyStorage). A kind inherits this class and says how to open a fresh, empty target; adding
    /// a target means adding one such class and passing it. Expected bytes and digests are computed here by the
    /// test (System.Security.Cryptography), never taken from the target. Lock tests are in the partial file.
    /// </summary>
    public abstract partial class BackupTargetConformance : IAsyncLifetime
    {
        protected IBackupTarget Target { get; private set; } = null!;

        /// <summary>A fresh, empty target of this kind (its own folder, bucket or prefix).</summary>
        protected abstract Task<IBackupTarget> OpenFreshAsync();

        protected virtual Task CloseAsync() => Task.CompletedTask;

        /// <summary>
        /// True when the store itself never interleaves two concurrent writes of one key (file systems, AWS S3).
        /// s3rver writes objects in place: there a torn object must be DETECTED (a transient ContentMismatch from
        /// the integrity check), never returned as if it were whole.
        /// </summary>
        protected virtual bool StoreIsolatesConcurrentWrites => true;

        /// <summary>
        /// True when replacing a file shows its name missing for a moment (ntfs-3g renames over a file by unlink and link):
        /// a reader then gets NotFound — never a torn body. Lock scans look twice for this reason (LockRecords).
        /// </summary>
        protected virtual bool ReplaceMayShowKeyMissing => false;

        /// <summary>The whole object, or null when the target refused a torn body on a store that does not isolate writers.</summary>
        protected async Task<byte[]?> ReadWholeOrDetectedAsync(string key)
        {
            try { return await GetAsync(key); }
            catch (TargetException ex) when (ReplaceMayShowKeyMissing && ex.ErrorKind == TargetErrorKind.NotFound) { return null; }
            catch (TargetException ex) when (!StoreIsolatesConcurrentWrites && ex.IsTransient && (ex.ErrorKind == TargetErrorKind.ContentMismatch || ex.ErrorKind == TargetErrorKind.Io)) { return null; }
        }

        public async Task InitializeAsync() => Target = await OpenFreshAsync();

        public async Task DisposeAsync()
        {
            (Target as IDisposable)?.Dispose();
            await CloseAsync();
        }

        // ------------------------------------------------------------------ helpers

        protected static byte[] RandomBytes(int count, int seed)
        {
            var b = new byte[count];
            new Random(seed).NextBytes(b);
            return b;
        }

        protected static string Sha(byte[] b) => Convert.ToHexString(SHA256.HashData(b)).ToLowerInvariant();

        protected Task<TargetEntry> PutAsync(string key, byte[] data, PutOptions? options = null) =>
            Target.PutAsync(key, new MemoryStream(data, false), options, CancellationToken.None);

        protected async Task<byte[]> GetAsync(string key, long offset = 0, long length = -1)
        {
            using var s = await Target.OpenReadAsync(key, offset, length, CancellationToken.None);
            using var ms = new MemoryStream();
            await s.CopyToAsync(ms);
            return ms.ToArray();
        }

        protected async Task<List<string>> KeysAsync(string prefix)
        {
            var keys = new List<string>();
            await foreach (var e in Target.ListAsync(prefix, CancellationToken.None)) keys.Add(e.Key);
            keys.Sort(StringComparer.Ordinal);
            return keys;
        }

        protected async Task<TargetException> FailsAsync(Func<Task> call, TargetErrorKind kind)
        {
            var ex = await Assert.ThrowsAsync<TargetException>(call);
            Assert.Equal(kind, ex.ErrorKind);
            return ex;
        }

        /// <summary>Nothing of an object is visible, and (on a folder) no temp file was left behind.</summary>
        protected async Task AssertNothingStoredAsync(string key)
        {
            Assert.Null(await Target.StatAsync(key, CancellationToken.None));
            Assert.DoesNotContain(key, await KeysAsync(""));
            var root = Target.Capabilities.LocalRoot;
            if (root != null)
                Assert.DoesNotContain(Directory.EnumerateFiles(Path.Combine(root, StorageKeys.TempSegment)), f => !Path.GetFileName(f).StartsWith("probe-"));
        }

        // ------------------------------------------------------------------ put / get

        [Fact]
        public async Task Put_then_get_round_trips_the_bytes()
        {
            var data = RandomBytes(10_000, 1);
            var e = await PutAsync("data/ab/object-1", data);
            Assert.Equal(data.Length, e.Size);
            Assert.Equal(Sha(data), Sha(await GetAsync("data/ab/object-1")));
        }

        [Fact]
        public async Task Empty_object_round_trips()
        {
            await PutAsync("empty", Array.Empty<byte>());
            Assert.Empty(await GetAsync("empty"));
            Assert.Equal(0, (await Target.StatAsync("empty", CancellationToken.None))!.Size);
            Assert.Empty(await GetAsync("empty", 0, 10));
        }

        [Fact]
        public async Task Multi_MiB_object_round_trips_byte_for_byte()
        {
            var data = RandomBytes(12 * 1024 * 1024 + 12345, 2); // several S3 parts, a ragged last one
            var e = await PutAsync("big/session.wav", data, new PutOptions { ExpectedSha256 = Sha(data) });
            Assert.Equal(data.Length, e.Size);
            var back = await GetAsync("big/session.wav");
            Assert.Equal(data.Length, back.Length);
            Assert.Equal(Sha(data), Sha(back));
        }

        [Fact]
        public async Task Ranged_reads_return_exactly_the_asked_bytes()
        {
            var data = RandomBytes(6 * 1024 * 1024, 3);
            await PutAsync("ranged", data);
            Assert.Equal(data.AsSpan(1000, 5000).ToArray(), await GetAsync("ranged", 1000, 5000));
            Assert.Equal(data.AsSpan(data.Length - 100).ToArray(), await GetAsync("ranged", data.Length - 100));
            Assert.Equal(data.AsSpan(data.Length - 10).ToArray(), await GetAsync("ranged", data.Length - 10, 1000)); // truncated at the end
            Assert.Empty(await GetAsync("ranged", data.Length)); // exactly at the end: empty
            Assert.Equal(data.AsSpan(5 * 1024 * 1024 - 7, 100).ToArray(), await GetAsync("ranged", 5 * 1024 * 1024 - 7, 100)); // across a part boundary
        }

        [Fact]
        public async Task A_range_past_the_end_is_refused_as_permanent()
        {
            await PutAsync("short", new byte[] { 1, 2, 3 });
            var ex = await FailsAsync(() => GetAsync("short", 4, 1), TargetErrorKind.RangeNotSatisfiable);
            Assert.True(Target.IsPermanent(ex));
        }

        [Fact]
        public async Task Overwrite_replaces_the_whole_object()
        {
            await PutAsync("state/manifest.json", RandomBytes(50_000, 4));
            var shorter = RandomBytes(700, 5);
            await PutAsync("state/manifest.json", shorter);
            Assert.Equal(shorter, await GetAsync("state/manifest.json"));
            Assert.Equal(shorter.Length, (await Target.StatAsync("state/manifest.json", CancellationToken.None))!.Size);
        }

        [Fact]
        public async Task CreateNew_refuses_an_existing_key_and_keeps_its_content()
        {
            var first = RandomBytes(100, 6);
            await PutAsync("config.json", first, PutOptions.CreateNew);
            var ex = await FailsAsync(() => PutAsync("config.json", RandomBytes(100, 7), PutOptions.CreateNew), TargetErrorKind.AlreadyExists);
            Assert.True(Target.IsPermanent(ex));
            Assert.Equal("NekkBackup.TargetObjectExists", ex.ErrorId);
            Assert.Equal(first, await GetAsync("config.json"));
        }

        [Fact]
        public async Task Racing_CreateNew_writers_leave_one_whole_winner()
        {
            const int writers = 8;
            var contents = Enumerable.Range(0, writers).Select(i => RandomBytes(256 * 1024, 100 + i)).ToArray();
            var results = await Task.WhenAll(Enumerable.Range(0, writers).Select(i => Task.Run(async () =>
            {
                try { await PutAsync("race/config.json", contents[i], PutOptions.CreateNew); return true; }
                catch (TargetException ex) when (ex.ErrorKind == TargetErrorKind.AlreadyExists) { return false; }
            })));
            var final = await ReadWholeOrDetectedAsync("race/config.json");
            if (final == null) return; // torn by the store and detected: never taken for whole
            Assert.Contains(contents, c => c.AsSpan().SequenceEqual(final));
            if (Target.Capabilities.ConditionalCreate)
            {
                Assert.Equal(1, results.Count(r => r));
                Assert.Equal(contents[Array.IndexOf(results, true)], final);
            }
            else Assert.True(results.Count(r => r) >= 1, "at least one creator must succeed");
        }

        [Fact]
        public async Task Expected_hash_mismatch_stores_nothing()
        {
            var ex = await FailsAsync(() => PutAsync("chunks/aa/x", RandomBytes(3000, 8), new PutOptions { ExpectedSha256 = new string('0', 64) }), TargetErrorKind.ContentMismatch);
            Assert.True(Target.IsPermanent(ex));
            await AssertNothingStoredAsync("chunks/aa/x");
        }

        [Fact]
        public async Task Stat_reports_size_and_absence()
        {
            Assert.Null(await Target.StatAsync("nothing/here", CancellationToken.None));
            await PutAsync("some/thing", RandomBytes(4321, 9));
            var e = await Target.StatAsync("some/thing", CancellationToken.None);
            Assert.NotNull(e);
            Assert.Equal(4321, e!.Size);
            Assert.Equal("some/thing", e.Key);
            Assert.InRange(e.LastModifiedUtc, DateTime.UtcNow.AddHours(-1), DateTime.UtcNow.AddHours(1));
        }

        [Fact]
        public async Task Missing_keys_are_NotFound_and_permanent()
        {
            var ex = await FailsAsync(() => GetAsync("no/such/object"), TargetErrorKind.NotFound);
            Assert.True(Target.IsPermanent(ex));
            Assert.Equal("NekkBackup.TargetObjectNotFound", ex.ErrorId);
            await FailsAsync(() => Target.MoveAsync("no/such/object", "elsewhere", true, CancellationToken.None), TargetErrorKind.NotFound);
        }

        // ------------------------------------------------------------------ list

        [Fact]
        public async Task List_selects_keys_by_plain_prefix()
        {
            foreach (var k in new[] { "a/b", "a/c/d", "a/cd", "ab", "b/a", "abc/x" }) await PutAsync(k, new byte[] { 1 });
            Assert.Equal(new[] { "a/b", "a/c/d", "a/cd", "ab", "abc/x", "b/a" }, await KeysAsync(""));
            Assert.Equal(new[] { "a/b", "a/c/d", "a/cd" }, await KeysAsync("a/"));
            Assert.Equal(new[] { "a/b", "a/c/d", "a/cd", "ab", "abc/x" }, await KeysAsync("a"));
            Assert.Equal(new[] { "a/c/d", "a/cd" }, await KeysAsync("a/c"));
            Assert.Equal(new[] { "a/c/d" }, await KeysAsync("a/c/"));
            Assert.Empty(await KeysAsync("zzz/"));
            Assert.Empty(await KeysAsync("a/b/"));
        }

        [Fact]
        public async Task Names_with_spaces_and_unicode_round_trip_and_list()
        {
            var keys = new[] { "Mix Down/Kick ü 01.wav", "日本語/トラック 2.wav", "Sessions/Ünïcödé – take 3 (final).ptx", "emoji/🎹 keys.json" };
            for (int i = 0; i < keys.Length; i++) await PutAsync(keys[i], RandomBytes(100 + i, 20 + i));
            Assert.Equal(keys.OrderBy(k => k, StringComparer.Ordinal).ToArray(), await KeysAsync(""));
            for (int i = 0; i < keys.Length; i++) Assert.Equal(RandomBytes(100 + i, 20 + i), await GetAsync(keys[i]));
            Assert.Equal(new[] { "日本語/トラック 2.wav" }, await KeysAsync("日本語/"));
        }

        [Fact]
        public async Task List_reports_every_object_once_with_its_size()
        {
            var expected = new Dictionary<string, int>();
            var puts = new List<Task>();
            for (int i = 0; i < 150; i++)
            {
                var key = $"chunks/{i % 7:x2}/{Sha(BitConverter.GetBytes(i))}";
                expected[key] = i * 3;
                puts.Add(PutAsync(key, RandomBytes(i * 3, i)));
            }
            await Task.WhenAll(puts);
            var listed = new Dictionary<string, long>();
            await foreach (var e in Target.ListAsync("chunks/", CancellationToken.None)) listed.Add(e.Key, e.Size); // Add throws on a duplicate
            Assert.Equal(expected.Count, listed.Count);
            foreach (var kv in expected) Assert.Equal(kv.Value, listed[kv.Key]);
        }

        // ------------------------------------------------------------------ delete / move

        [Fact]
        public async Task Delete_is_idempotent()
        {
            await PutAsync("gone/soon", new byte[] { 1, 2 });
            await Target.DeleteAsync("gone/soon", CancellationToken.None);
            await Target.DeleteAsync("gone/soon", CancellationToken.None);
            await Target.DeleteAsync("never/was", CancellationToken.None);
            await FailsAsync(() => GetAsync("gone/soon"), TargetErrorKind.NotFound);
            Assert.Empty(await KeysAsync("gone/"));
        }

        [Fact]
        public async Task Move_renames_and_respects_overwrite()
        {
            var a = RandomBytes(2000, 30);
            var b = RandomBytes(3000, 31);
            await PutAsync("partial/x", a);
            await PutAsync("final/y", b);
            await FailsAsync(() => Target.MoveAsync("partial/x", "final/y", false, CancellationToken.None), TargetErrorKind.AlreadyExists);
            Assert.Equal(b, await GetAsync("final/y"));
            await Target.MoveAsync("partial/x", "final/y", true, CancellationToken.None);
            Assert.Equal(a, await GetAsync("final/y"));
            Assert.Null(await Target.StatAsync("partial/x", CancellationToken.None));
            await Target.MoveAsync("final/y", "history/z", false, CancellationToken.None);
            Assert.Equal(new[] { "history/z" }, await KeysAsync(""));
        }

        // ------------------------------------------------------------------ keys

        [Theory]
        [InlineData("../escape")]
        [InlineData("a/../../escape")]
        [InlineData("/etc/passwd")]
        [InlineData("a\\..\\..\\escape")]
        [InlineData("C:/Windows/x")]
        [InlineData("a//b")]
        [InlineData("./a")]
        [InlineData("a/")]
        [InlineData("")]
        [InlineData("a\u0000b")]
        [InlineData(".nekk-tmp/x")]
        [InlineData("file.txt:stream")]
        public async Task Keys_that_try_to_escape_are_refused_before_the_store_is_touched(string key)
        {
            var ex = await FailsAsync(() => PutAsync(key, new byte[] { 1 }), TargetErrorKind.InvalidKey);
            Assert.True(Target.IsPermanent(ex));
            await FailsAsync(() => GetAsync(key), TargetErrorKind.InvalidKey);
            await FailsAsync(() => Target.DeleteAsync(key, CancellationToken.None), TargetErrorKind.InvalidKey);
            Assert.Empty(await KeysAsync(""));
        }

        [Fact]
        public async Task Listing_prefixes_that_escape_are_refused()
        {
            foreach (var p in new[] { "../", "a/../../", "/", "\\x" })
                await FailsAsync(async () => await KeysAsync(p), TargetErrorKind.InvalidKey);
        }

        [Fact]
        public async Task Names_Windows_forbids_follow_the_declared_rules()
        {
            foreach (var key in new[] { "aux", "dir/nul.txt", "a?b", "pipe|name", "trailing.", "trailing " })
            {
                if (Target.Capabilities.NameRules == KeyNameRules.Windows)
                    Assert.True(Target.IsPermanent(await FailsAsync(() => PutAsync(key, new byte[] { 9 }), TargetErrorKind.InvalidKey)));
                else
                {
                    await PutAsync(key, new byte[] { 9 });
                    Assert.Equal(new byte[] { 9 }, await GetAsync(key));
                }
            }
        }

        [Fact]
        public async Task Case_sensitivity_matches_the_declared_capability()
        {
            await PutAsync("Case/Mix.wav", new byte[] { 1 });
            await PutAsync("case/mix.wav", new byte[] { 2 });
            if (Target.Capabilities.CaseSensitive)
            {
                Assert.Equal(new byte[] { 1 }, await GetAsync("Case/Mix.wav"));
                Assert.Equal(new byte[] { 2 }, await GetAsync("case/mix.wav"));
                Assert.Equal(2, (await KeysAsync("")).Count);
            }
            else
            {
                Assert.Equal(new byte[] { 2 }, await GetAsync("Case/Mix.wav"));
                Assert.Single(await KeysAsync(""));
            }
        }

        // ------------------------------------------------------------------ concurrency, cancellation, atomicity

        [Fact]
        public async Task Concurrent_writers_to_one_key_leave_one_whole_version()
        {
            var contents = Enumerable.Range(0, 6).Select(i => RandomBytes(1024 * 1024 + i, 40 + i)).ToArray();
            await Task.WhenAll(contents.Select(c => Task.Run(() => PutAsync("shared/state", c))));
            var final = await ReadWholeOrDetectedAsync("shared/state");
            if (final != null) Assert.Contains(contents, c => c.AsSpan().SequenceEqual(final));
            Assert.Equal(new[] { "shared/state" }, await KeysAsync("shared/"));
        }

        [Fact]
        public async Task Concurrent_writers_to_distinct_keys_all_land()
        {
            await Task.WhenAll(Enumerable.Range(0, 32).Select(i => Task.Run(() => PutAsync($"many/{i:d3}/obj", RandomBytes(20_000, 200 + i)))));
            var keys = await KeysAsync("many/");
            Assert.Equal(32, keys.Count);
            for (int i = 0; i < 32; i += 7) Assert.Equal(RandomBytes(20_000, 200 + i), await GetAsync($"many/{i:d3}/obj"));
        }

        [Fact]
        public async Task Readers_never_see_a_partial_object()
        {
            var a = RandomBytes(3 * 1024 * 1024, 50);
            var b = RandomBytes(3 * 1024 * 1024 + 17, 51);
            var allowed = new HashSet<string> { Sha(a), Sha(b) };
            await PutAsync("live/object", a);
            using var stop = new CancellationTokenSource();
            var seen = new List<string>();
            var reader = Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    var body = await ReadWholeOrDetectedAsync("live/object");
                    if (body != null) seen.Add(Sha(body));
                }
            });
            for (int i = 0; i < 6; i++) await PutAsync("live/object", i % 2 == 0 ? b : a);
            stop.Cancel();
            await reader;
            if (StoreIsolatesConcurrentWrites) Assert.NotEmpty(seen);
            Assert.All(seen, h => Assert.Contains(h, allowed));
            Assert.Equal(Sha(a), Sha(await GetAsync("live/object"))); // the last write is what stays
            Assert.Equal(new[] { "live/object" }, await KeysAsync(""));
        }

        [Fact]
        public async Task A_writer_that_dies_part_way_publishes_nothing()
        {
            var ex = await Assert.ThrowsAnyAsync<Exception>(() => Target.PutAsync("torn/object", new FailingStream(RandomBytes(8 * 1024 * 1024, 60), 3 * 1024 * 1024), null, CancellationToken.None));
            var tex = Assert.IsType<TargetException>(ex);
            Assert.Contains(tex.ErrorKind, new[] { TargetErrorKind.Io, TargetErrorKind.Unavailable });
            await AssertNothingStoredAsync("torn/object");
            // An earlier version stays whole when its replacement dies part-way.
            var good = RandomBytes(100_000, 61);
            await PutAsync("torn/object", good);
            await Assert.ThrowsAnyAsync<Exception>(() => Target.PutAsync("torn/object", new FailingStream(RandomBytes(8 * 1024 * 1024, 62), 6 * 1024 * 1024), null, CancellationToken.None));
            Assert.Equal(good, await GetAsync("torn/object"));
        }

        [Fact]
        public async Task A_cancelled_token_writes_and_reads_nothing()
        {
            using var cts = new CancellationTokenSource();
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Target.PutAsync("cancelled", new MemoryStream(new byte[10]), null, cts.Token));
            await AssertNothingStoredAsync("cancelled");
            await PutAsync("present", new byte[] { 1 });
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Target.OpenReadAsync("present", 0, -1, cts.Token));
            Assert.True(Target.IsPermanent(new OperationCanceledException(cts.Token)));
        }

        [Fact]
        public async Task Cancelling_during_a_put_leaves_no_object()
        {
            using var cts = new CancellationTokenSource();
            var data = RandomBytes(12 * 1024 * 1024, 70);
            var source = new CancellingStream(data, 1024 * 1024, cts);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Target.PutAsync("cancel/mid", source, null, cts.Token));
            await AssertNothingStoredAsync("cancel/mid");
        }

        [Fact]
        public async Task Retention_is_refused_unless_the_store_has_Object_Lock()
        {
            var options = new PutOptions { RetainUntilUtc = DateTime.UtcNow.AddDays(30), RetentionMode = "GOVERNANCE" };
            if (Target.Capabilities.ObjectLock)
            {
                await PutAsync("locked/object", new byte[] { 1 }, options);
                return;
            }
            var ex = await FailsAsync(() => PutAsync("locked/object", new byte[] { 1 }, options), TargetErrorKind.NotSupported);
            Assert.True(Target.IsPermanent(ex));
            await AssertNothingStoredAsync("locked/object");
        }

        [Fact]
        public void Capabilities_describe_a_usable_store()
        {
            var c = Target.Capabilities;
            Assert.True(c.AtomicPut, "a conforming target never shows half an object");
            Assert.False(string.IsNullOrEmpty(c.Kind));
            Assert.True(c.MaxObjectSize >= 1L << 30, "at least 1 GiB objects");
            Assert.True(c.MaxKeyLength >= 255 && c.MaxSegmentLength >= 64);
            Assert.False(string.IsNullOrEmpty(Target.Location));
            if (c.LocalRoot != null) Assert.True(Directory.Exists(c.LocalRoot));
        }

        /// <summary>Yields its data and throws an I/O error after <c>failAt</c> bytes (a source that breaks mid-copy).</summary>
        protected sealed class FailingStream : MemoryStream
        {
            private readonly long _failAt;
            public FailingStream(byte[] data, long failAt) : base(data, false) => _failAt = failAt;
            public override bool CanSeek => false;

            public override int Read(byte[] buffer, int offset, int count)
            {
                if (base.Position >= _failAt) throw new IOException("the source broke part-way (test)");
                return base.Read(buffer, offset, (int)Math.Min(count, _failAt - base.Position));
            }

            public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.FromResult(Read(buffer, offset, count));
        }

        /// <summary>Cancels <c>cts</c> once <c>cancelAt</c> bytes were read, then keeps yielding data (the target must notice).</summary>
        protected sealed class CancellingStream : MemoryStream
        {
            private readonly long _cancelAt;
            private readonly CancellationTokenSource _cts;
            public CancellingStream(byte[] data, long cancelAt, CancellationTokenSource cts) : base(data, false) { _cancelAt = cancelAt; _cts = cts; }
            public override bool CanSeek => false;

            public override int Read(byte[] buffer, int offset, int count)
            {
                if (base.Position >= _cancelAt) _cts.Cancel();
                return base.Read(buffer, offset, count);
            }

            public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.FromResult(Read(buffer, offset, count));
        }
    }
}
