using System.Linq;
using NekkBackup.Core.Sources;
using Xunit;

namespace NekkBackup.Core.Tests.Walker
{
    /// <summary>The one include/exclude filter (every leg's -Include/-Exclude and Restore's -Path go through it).</summary>
    public class PathFilterTests
    {
        [Theory]
        [InlineData("*.wav", "Takes/kick.wav", true)]
        [InlineData("*.wav", "kick.wav.bak", false)]
        [InlineData("Old", "Sessions/Old/take.wav", true)]          // a name without '/' matches any folder on the way
        [InlineData("Sessions/Old", "Sessions/Old/a/b.wav", true)]  // a path pattern covers what is below it
        [InlineData("Sessions/Old", "Other/Sessions/Old/b.wav", false)]
        [InlineData("Sessions/*/mix.wav", "Sessions/Song A/mix.wav", true)]
        [InlineData("Sessions/*/mix.wav", "Sessions/Song A/sub/mix.wav", false)]
        [InlineData("Sessions/**/mix.wav", "Sessions/Song A/sub/mix.wav", true)]
        [InlineData("Sessions/**/mix.wav", "Sessions/mix.wav", true)]
        [InlineData("take?.wav", "take1.wav", true)]
        [InlineData("take?.wav", "take10.wav", false)]
        [InlineData(".\\Sessions\\Old\\", "Sessions/Old/x", true)]   // '\' read as '/', "./" and trailing '/' dropped
        [InlineData("/Sessions", "Sessions/x", true)]
        [InlineData("a+b (1).wav", "a+b (1).wav", true)]            // regex characters are literal
        [InlineData("a+b (1).wav", "aab (1).wav", false)]
        public void Glob_semantics(string pattern, string path, bool matches)
        {
            Assert.Equal(matches, new GlobSet(new[] { pattern }, PathIdentity.Posix).Matches(path));
        }

        [Fact]
        public void Exclude_wins_over_include_and_no_include_selects_everything()
        {
            var f = PathFilter.From(new[] { "*.wav" }, new[] { "Old", "*.tmp.wav" }, PathIdentity.Posix);
            Assert.True(f.HasIncludes);
            Assert.True(f.Selects("Song/take.wav"));
            Assert.False(f.Selects("Song/notes.txt"));
            Assert.False(f.Selects("Old/take.wav"));
            Assert.False(f.Selects("Song/x.tmp.wav"));
            Assert.True(f.IsIncluded("Song/take.wav") && f.IsExcluded("Old/take.wav"));

            var everything = PathFilter.From(null, new[] { "*.tmp" }, PathIdentity.Posix);
            Assert.False(everything.HasIncludes);
            Assert.True(everything.Selects("a/b/c.txt"));
            Assert.False(everything.Selects("a/b/c.tmp"));
            Assert.True(PathFilter.None.Selects("anything/at/all"));
        }

        [Fact]
        public void Rules_are_data_normalised_and_empty_patterns_dropped()
        {
            var f = PathFilter.From(new[] { " ./Sessions/ ", "", "  " }, new[] { "Cache\\Old" }, PathIdentity.Posix);
            Assert.Equal(new[] { new FilterRule(FilterAction.Include, "Sessions"), new FilterRule(FilterAction.Exclude, "Cache/Old") }, f.Rules.ToArray());
            Assert.Equal("+ Sessions, - Cache/Old", f.ToString());
            var same = new PathFilter(f.Rules, PathIdentity.Posix);
            Assert.True(same.Selects("Sessions/a.wav") && !same.Selects("Other/a.wav"));
            Assert.True(same.IsExcluded("Cache/Old/a.wav") && !same.IsExcluded("Sessions/Cache/Old/a.wav")); // a path pattern starts at the root
        }

        [Fact]
        public void Letter_case_follows_the_path_identity()
        {
            // Windows rules (W7): "*.WAV" and "sessions/old" match whatever case the files have on NTFS.
            var win = PathFilter.From(new[] { "*.WAV" }, new[] { "sessions/old" }, PathIdentity.Windows);
            Assert.True(win.Selects("Sessions/take.wav"));
            Assert.False(win.Selects("Sessions/Old/take.wav"));
            var posix = PathFilter.From(new[] { "*.WAV" }, new[] { "sessions/old" }, PathIdentity.Posix);
            Assert.False(posix.Selects("Sessions/take.wav"));
            Assert.True(posix.Selects("Sessions/Old/take.WAV"));
        }
    }
}
