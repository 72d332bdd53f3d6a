using System;
using System.IO;
using System.Linq;
using NekkBackup.Core.Observability;
using Serilog.Events;
using Serilog.Parsing;
using Xunit;

namespace NekkBackup.Core.Tests.Observability
{
    /// <summary>The text run log writes byte counts as sizes; the event (and so the CLEF log) keeps the numbers.</summary>
    public class HumanTextFormatterTests
    {
        private static LogEvent Event(string template, params (string Name, object? Value)[] props) =>
            new(DateTimeOffset.Now, LogEventLevel.Information, null, new MessageTemplateParser().Parse(template),
                props.Select(p => new LogEventProperty(p.Name, new ScalarValue(p.Value))));

        private static string Render(LogEvent e)
        {
            var w = new StringWriter();
            new HumanTextFormatter().Format(e, w);
            return w.ToString();
        }

        [Fact]
        public void A_count_followed_by_bytes_is_a_size_and_the_word_goes()
        {
            var e = Event("Backup {RunId} {Status}: {FilesCopied} copied ({BytesCopied} bytes), {Sent} bytes sent, {Errors} errors",
                ("RunId", "r1"), ("Status", "Succeeded"), ("FilesCopied", 20L), ("BytesCopied", 5_529_651L), ("Sent", 1024), ("Errors", 0));
            var line = Render(e);
            Assert.Contains("Backup r1 Succeeded: 20 copied (5.27 MB), 1.00 KB sent, 0 errors", line);
            Assert.DoesNotContain("5529651", line);
            // The event itself still carries the exact number (what CLEF writes).
            Assert.Equal(5_529_651L, ((ScalarValue)e.Properties["BytesCopied"]).Value);
        }

        [Fact]
        public void Other_numbers_and_words_are_left_alone()
        {
            var line = Render(Event("{Files} files, {Bytes} bytesx, {Name} bytes", ("Files", 3L), ("Bytes", 2048L), ("Name", "x")));
            Assert.Contains("3 files, 2048 bytesx, x bytes", line);
        }

        [Fact]
        public void A_property_used_twice_keeps_its_number_where_bytes_does_not_follow()
        {
            var line = Render(Event("{Size} bytes imaged ({Size} in total)", ("Size", 33_554_432L)));
            Assert.Contains("32.0 MB imaged (33554432 in total)", line);
        }
    }
}
