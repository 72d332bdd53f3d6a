using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Primitives;
using NekkBackup.Core.Storage;
using NekkBackup.Core.Tests.TestKit;
using Xunit;

namespace NekkBackup.Core.Tests.Primitives
{
    /// <summary>The one-of-each primitives, checked against independent references (sha256sum, .NET's own hex, the Gregorian calendar).</summary>
    public class PrimitivesTests
    {
        [Fact]
        public void Hex_is_lower_case_and_round_trips()
        {
            var bytes = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
            var hex = Hex.Encode(bytes);
            Assert.Equal(Convert.ToHexString(bytes).ToLowerInvariant(), hex);
            Assert.Equal(bytes, Hex.Decode(hex));
            Assert.Equal(bytes, Hex.Decode(hex.ToUpperInvariant()));
            Assert.Equal("0a0b", Hex.Encode(new byte[] { 9, 10, 11, 12 }, 1, 2));
            Assert.False(Hex.TryDecode("abc", out _));
            Assert.False(Hex.TryDecode("zz", out _));
            Assert.True(Hex.IsLowerHex("00ff", 4));
            Assert.False(Hex.IsLowerHex("00FF", 4));
            Assert.False(Hex.IsLowerHex("00f", 4));
        }

        [Fact]
        public async Task Sha256_of_a_file_matches_sha256sum()
        {
            using var dir = new TempDir("prim-sha");
            var path = Path.Combine(dir.Path, "take 1.wav");
            var data = new byte[3 * 1024 * 1024 + 7];
            new Random(1).NextBytes(data);
            File.WriteAllBytes(path, data);
            var expected = ProcessHelper.Check("sha256sum", $"\"{path}\"").Split(' ')[0];
            long counted = 0;
            var (hash, length) = await Sha256.OfFileAsync(path, CancellationToken.None, n => counted += n);
            Assert.Equal(expected, hash);
            Assert.Equal(data.Length, length);
            Assert.Equal(data.Length, counted);
            Assert.Equal(expected, Sha256.Of(data));
            Assert.Equal(Sha256.EmptyHex, Sha256.Of(Array.Empty<byte>()));
            Assert.True(Sha256.IsHex(hash));
            using var cts = new CancellationTokenSource();
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Sha256.OfFileAsync(path, cts.Token));
        }

        [Fact]
        public void Run_ids_are_Gregorian_invariant_and_sortable_under_a_Thai_Buddhist_culture()
        {
            var saved = CultureInfo.CurrentCulture;
            try
            {
                var thai = new CultureInfo("th-TH");
                thai.DateTimeFormat.Calendar = new ThaiBuddhistCalendar();
                CultureInfo.CurrentCulture = thai;
                // The trap the issue describes: the current culture writes the Buddhist year.
                Assert.StartsWith("2568", new DateTime(2025, 12, 31, 0, 0, 0, DateTimeKind.Utc).ToString("yyyyMMdd"));

                var times = new[]
                {
                    new DateTime(2025, 12, 31, 23, 59, 59, 999, DateTimeKind.Utc),
                    new DateTime(2026, 1, 1, 0, 0, 0, 1, DateTimeKind.Utc),
                    new DateTime(2026, 1, 1, 0, 0, 0, 2, DateTimeKind.Utc),
                    new DateTime(2026, 6, 15, 12, 0, 0, DateTimeKind.Utc),
                };
                var ids = times.Select(RunId.New).ToArray();
                Assert.StartsWith("20251231T235959999Z-", ids[0]);
                Assert.Equal(ids, ids.OrderBy(x => x, StringComparer.Ordinal).ToArray());
                for (int i = 0; i < ids.Length; i++)
                {
                    Assert.True(RunId.IsWellFormed(ids[i]), ids[i]);
                    Assert.Equal(times[i], RunId.TryParseTime(ids[i]));
                }
            }
            finally
            {
                CultureInfo.CurrentCulture = saved;
            }
        }

        [Fact]
        public void A_run_started_with_the_clock_behind_still_sorts_last()
        {
            var newest = RunId.New(new DateTime(2026, 3, 1, 10, 0, 0, DateTimeKind.Utc));
            var behind = RunId.NewAfter(newest, new DateTime(2026, 2, 1, 10, 0, 0, DateTimeKind.Utc));
            Assert.True(string.CompareOrdinal(behind, newest) > 0);
            Assert.StartsWith(newest + "-", behind);
            Assert.True(RunId.IsWellFormed(behind));
            var ahead = RunId.NewAfter(newest, new DateTime(2026, 3, 2, 0, 0, 0, DateTimeKind.Utc));
            Assert.StartsWith("20260302", ahead);
            foreach (var bad in new[] { "", "../20260101T000000000Z-abc", "20261301T000000000Z-abcdef", "20260101T000000000Z", "20260101T000000000Z-ABCDEF", "20260101T000000000Z-ab--cd", "20260101T000000000Z-ab/x" })
                Assert.False(RunId.IsWellFormed(bad), bad);
        }

        [Fact]
        public void Progress_throttle_lets_one_report_through_per_interval()
        {
            long now = 0;
            var t = new ProgressThrottle(TimeSpan.FromMilliseconds(250), () => now);
            Assert.True(t.TryEnter());
            Assert.False(t.TryEnter());
            now += TimeSpan.FromMilliseconds(249).Ticks;
            Assert.False(t.TryEnter());
            now += TimeSpan.FromMilliseconds(1).Ticks;
            Assert.True(t.TryEnter());
            t.Reset();
            Assert.True(t.TryEnter());
            // Many threads at one instant: exactly one gets through.
            now += TimeSpan.FromSeconds(1).Ticks;
            int passed = 0;
            Parallel.For(0, 64, _ => { if (t.TryEnter()) Interlocked.Increment(ref passed); });
            Assert.Equal(1, passed);
        }

        [Fact]
        public void Format_versions_refuse_a_newer_major_with_a_clear_id()
        {
            using var v1 = JsonDocument.Parse("{\"formatVersion\":1,\"x\":2}");
            Assert.Equal(new FormatVersion(1), FormatVersion.Check(v1.RootElement, "The manifest 'a.json'", new FormatVersion(1), "a.json"));
            using var minor = JsonDocument.Parse("{\"formatVersion\":\"1.4\"}");
            Assert.Equal(new FormatVersion(1, 4), FormatVersion.Check(minor.RootElement, "m", new FormatVersion(1), null));
            using var v2 = JsonDocument.Parse("{\"formatVersion\":2}");
            var ex = Assert.Throws<NekkBackupException>(() => FormatVersion.Check(v2.RootElement, "The manifest 'b.json'", new FormatVersion(1, 3), "b.json"));
            Assert.Equal("NekkBackup.UnsupportedFormatVersion", ex.ErrorId);
            Assert.Equal(FailureKind.NotSupported, ex.Kind);
            Assert.Contains("format version 2", ex.Message);
            using var legacy = JsonDocument.Parse("{\"format\":\"nekkbackup-folder\",\"version\":1}");
            Assert.Equal(new FormatVersion(1), FormatVersion.Check(legacy.RootElement, "format.json", new FormatVersion(1), null, "version"));
            using var none = JsonDocument.Parse("{\"x\":1}");
            Assert.Equal("NekkBackup.FormatVersionMissing", Assert.Throws<NekkBackupException>(() => FormatVersion.Check(none.RootElement, "x", new FormatVersion(1), null)).ErrorId);
            using var junk = JsonDocument.Parse("{\"formatVersion\":\"one\"}");
            Assert.Equal("NekkBackup.FormatVersionMissing", Assert.Throws<NekkBackupException>(() => FormatVersion.Check(junk.RootElement, "x", new FormatVersion(1), null)).ErrorId);
            // Written as a number while the minor is 0.
            using var ms = new MemoryStream();
            using (var w = new Utf8JsonWriter(ms)) { w.WriteStartObject(); new FormatVersion(1).WriteTo(w); new FormatVersion(1, 2).WriteTo(w); w.WriteEndObject(); }
            Assert.Equal("{\"formatVersion\":1,\"formatVersion\":\"1.2\"}", Encoding.UTF8.GetString(ms.ToArray()));
        }

        [Fact]
        public void Options_reader_names_the_key_and_refuses_secrets_and_unknown_keys()
        {
            var keys = new[] { "Name", "Count", "Every", "Mode", "Tags", "On" };
            var r = new OptionsReader(new Hashtable { ["name"] = "x", ["COUNT"] = 3L, ["Every"] = "15m", ["Mode"] = "exclusive", ["Tags"] = new object[] { "a", "b" }, ["On"] = true }, "test", "InvalidTestOptions", keys);
            Assert.Equal("x", r.String("Name", required: true));
            Assert.Equal(3, r.Int("Count", 1, 5));
            Assert.Equal(TimeSpan.FromMinutes(15), r.Duration("Every", TimeSpan.Zero, TimeSpan.FromDays(1)));
            Assert.Equal(LockMode.Exclusive, r.Choice<LockMode>("Mode"));
            Assert.Equal(new[] { "a", "b" }, r.StringArray("Tags"));
            Assert.True(r.Bool("On"));
            Assert.Null(r.String("Missing"));

            var e1 = Assert.Throws<NekkBackupException>(() => new OptionsReader(new Hashtable { ["Nmae"] = "x" }, "test", "InvalidTestOptions", keys));
            Assert.Equal("NekkBackup.InvalidTestOptions", e1.ErrorId);
            Assert.Contains("'Nmae'", e1.Message);
            Assert.Contains("Name, Count", e1.Message);
            var e2 = Assert.Throws<NekkBackupException>(() => new OptionsReader(new Hashtable { ["SecretKey"] = "x" }, "test", "InvalidTestOptions", keys));
            Assert.Contains("secret", e2.Message);
            var bad = new OptionsReader(new Hashtable { ["Count"] = 9, ["Every"] = "soon", ["Mode"] = "both", ["Name"] = 5 }, "test", "InvalidTestOptions", keys);
            Assert.Contains("between 1 and 5", Assert.Throws<NekkBackupException>(() => bad.Int("Count", 1, 5)).Message);
            Assert.Contains("duration", Assert.Throws<NekkBackupException>(() => bad.Duration("Every", TimeSpan.Zero, TimeSpan.MaxValue)).Message);
            Assert.Contains("Shared, Exclusive", Assert.Throws<NekkBackupException>(() => bad.Choice<LockMode>("Mode")).Message);
            Assert.Contains("must be a string", Assert.Throws<NekkBackupException>(() => bad.String("Name")).Message);
        }

        [Fact]
        public void Lock_and_S3_options_are_built_and_validated_in_one_place()
        {
            var l = LockOptions.FromDictionary(new Hashtable { ["Lease"] = "10m", ["RefreshInterval"] = "30s", ["ClockSkew"] = "1m", ["ExclusiveToleratesShared"] = true });
            Assert.Equal(TimeSpan.FromMinutes(10), l.Lease);
            Assert.True(l.ExclusiveToleratesShared);
            var tight = Assert.Throws<NekkBackupException>(() => LockOptions.FromDictionary(new Hashtable { ["Lease"] = "60s", ["RefreshInterval"] = "40s", ["ClockSkew"] = "0s" }));
            Assert.Equal("NekkBackup.InvalidLockOptions", tight.ErrorId);
            Assert.Throws<NekkBackupException>(() => new LockOptions { Prefix = "../locks/" }.Validate());
            var s = S3TargetOptions.FromDictionary(new Hashtable { ["RootPrefix"] = "studio/host/", ["PartSize"] = 16L << 20 });
            Assert.Equal(16L << 20, s.PartSize);
            Assert.Throws<NekkBackupException>(() => S3TargetOptions.FromDictionary(new Hashtable { ["PartSize"] = 1024 }));
            Assert.Throws<NekkBackupException>(() => S3TargetOptions.FromDictionary(new Hashtable { ["RootPrefix"] = "../x/" }));
            Assert.Throws<NekkBackupException>(() => S3TargetOptions.FromDictionary(new Hashtable { ["RootPrefix"] = "no-slash" }));
        }

        [Theory]
        [InlineData("a/b/c", null)]
        [InlineData("a b/ü 🎹", null)]
        [InlineData("a/../b", "'.' or '..'")]
        [InlineData("a\\b", "backslash")]
        [InlineData("C:/x", "':'")]
        [InlineData("/a", "absolute")]
        public void Key_grammar(string key, string? problem)
        {
            var p = StorageKeys.Problem(key, new TargetCapabilities());
            if (problem == null) Assert.Null(p);
            else Assert.Contains(problem, p);
        }

        [Fact]
        public void Windows_name_rules_catch_device_names_and_trailing_dots()
        {
            var w = new TargetCapabilities { NameRules = KeyNameRules.Windows };
            Assert.NotNull(StorageKeys.Problem("x/CON", w));
            Assert.NotNull(StorageKeys.Problem("x/com1.txt", w));
            Assert.NotNull(StorageKeys.Problem("x/a.", w));
            Assert.NotNull(StorageKeys.Problem("x/a*b", w));
            Assert.Null(StorageKeys.Problem("x/console.txt", w));
            Assert.Null(StorageKeys.Problem("x/CON", new TargetCapabilities()));
            Assert.NotNull(StorageKeys.Problem(new string('a', 256), new TargetCapabilities { MaxSegmentLength = 255 }));
            Assert.Contains("unpaired surrogate", StorageKeys.Problem("a" + (char)0xD800 + "b", new TargetCapabilities()));
        }
    }
}
