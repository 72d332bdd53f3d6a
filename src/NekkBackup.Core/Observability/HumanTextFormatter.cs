using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using NekkBackup.Core.Primitives;
using Serilog.Events;
using Serilog.Formatting;
using Serilog.Formatting.Display;
using Serilog.Parsing;

namespace NekkBackup.Core.Observability
{
    /// <summary>
    /// The text run log's line format, with sizes written for people: a whole-number property followed in the
    /// template by the word "bytes" ("{BytesCopied} bytes", "{Sent} bytes sent") is written as a size from
    /// <see cref="ByteSize"/> ("5.27 MB", "5.27 MB sent"). Only the text rendering changes: the event keeps its
    /// numbers, so the CLEF log (NEKKBACKUP_LOG_FORMAT=Clef) still carries exact byte counts for machines.
    /// </summary>
    public sealed class HumanTextFormatter : ITextFormatter
    {
        public const string OutputTemplate = "{Timestamp:yyyy-MM-dd HH:mm:ss.fff zzz} [{Level:u3}] {RunId} {Operation}: {Message:lj}{NewLine}{Exception}";
        private const string BytesWord = " bytes";

        private readonly MessageTemplateTextFormatter _inner = new(OutputTemplate);

        public void Format(LogEvent logEvent, TextWriter output) => _inner.Format(Humanize(logEvent), output);

        /// <summary>The event as the text log shows it (public for tests).</summary>
        public static LogEvent Humanize(LogEvent e)
        {
            var tokens = e.MessageTemplate.Tokens.ToList();
            Dictionary<string, LogEventProperty>? replaced = null;
            var rewritten = new List<MessageTemplateToken>(tokens.Count);
            for (int i = 0; i < tokens.Count; i++)
            {
                var token = tokens[i];
                if (token is PropertyToken p && i + 1 < tokens.Count && tokens[i + 1] is TextToken next
                    && next.Text.StartsWith(BytesWord, StringComparison.Ordinal) && IsWordEnd(next.Text, BytesWord.Length)
                    && e.Properties.TryGetValue(p.PropertyName, out var value) && AsLong(value) is long bytes)
                {
                    replaced ??= new Dictionary<string, LogEventProperty>(StringComparer.Ordinal);
                    // A new name: the same property may appear elsewhere in the template without the word "bytes".
                    var name = p.PropertyName + "__size";
                    replaced[name] = new LogEventProperty(name, new ScalarValue(ByteSize.Format(bytes)));
                    rewritten.Add(new PropertyToken(name, "{" + name + "}"));
                    rewritten.Add(new TextToken(next.Text.Substring(BytesWord.Length)));
                    i++;
                    continue;
                }
                rewritten.Add(token);
            }
            if (replaced == null) return e;
            var props = e.Properties.Select(kv => new LogEventProperty(kv.Key, kv.Value)).Concat(replaced.Values);
            return new LogEvent(e.Timestamp, e.Level, e.Exception, new MessageTemplate(rewritten), props);
        }

        private static bool IsWordEnd(string text, int at) => at >= text.Length || !char.IsLetterOrDigit(text[at]);

        private static long? AsLong(LogEventPropertyValue value) =>
            value is ScalarValue s ? s.Value switch
            {
                long l => l,
                int i => i,
                ulong u when u <= long.MaxValue => (long)u,
                uint u => u,
                _ => null,
            } : null;
    }
}
