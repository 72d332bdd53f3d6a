using NekkBackup.Core.Primitives;
using Xunit;

namespace NekkBackup.Core.Tests.Primitives
{
    /// <summary>The one size formatter (issue 13): B/KB/MB/GB/TB, 1024-based, three significant digits.</summary>
    public class ByteSizeTests
    {
        [Theory]
        [InlineData(0L, "0 B")]
        [InlineData(512L, "512 B")]
        [InlineData(999L, "999 B")]
        [InlineData(1000L, "0.98 KB")]
        [InlineData(1024L, "1.00 KB")]
        [InlineData(17120L, "16.7 KB")]
        [InlineData(102_348L, "99.9 KB")]
        [InlineData(102_400L, "100 KB")]
        [InlineData(1_023_487L, "999 KB")]
        [InlineData(1_023_488L, "0.98 MB")]
        [InlineData(5_529_651L, "5.27 MB")]
        [InlineData(33_554_432L, "32.0 MB")]
        [InlineData(1L << 30, "1.00 GB")]
        [InlineData(3L << 40, "3.00 TB")]
        [InlineData(2000L << 40, "2000 TB")]
        [InlineData(-2048L, "-2.00 KB")]
        public void Formats_with_three_significant_digits(long bytes, string expected) => Assert.Equal(expected, ByteSize.Format(bytes));

        [Fact]
        public void Never_rounds_up_to_a_four_digit_value()
        {
            for (long b = 1; b < (1L << 42); b = b * 3 / 2 + 1)
            {
                var text = ByteSize.Format(b);
                var number = text.Substring(0, text.IndexOf(' '));
                Assert.True(number.Replace(".", "").TrimStart('0').Length <= 3 || text.EndsWith(" B"), text);
            }
        }

        [Fact]
        public void Views_pass_boxed_values()
        {
            Assert.Equal("", ByteSize.Format((object?)null));
            Assert.Equal("1.00 KB", ByteSize.Format((object)1024));
            Assert.Equal("1.00 KB", ByteSize.Format((object)1024L));
            Assert.Equal("1.00 KB", ByteSize.Format((object)"1024"));
            Assert.Equal("n/a", ByteSize.Format((object)"n/a"));
        }
    }
}
