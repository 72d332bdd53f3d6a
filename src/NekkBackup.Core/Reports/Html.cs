using System;
using System.Globalization;
using System.Net;
using System.Text;

namespace NekkBackup.Core.Reports
{
    /// <summary>Escaping and formatting for the report. Everything shown comes through <see cref="H"/>.</summary>
    internal static class Html
    {
        /// <summary>Escapes text for an element or a quoted attribute (&amp; &lt; &gt; &quot; &#39;); control characters are dropped.</summary>
        public static string H(string? s)
        {
            if (string.IsNullOrEmpty(s)) return "";
            var sb = new StringBuilder(s!.Length);
            foreach (var c in s)
            {
                // XML 1.0 and HTML both reject C0 controls other than tab/newline; a hostile name could hold them.
                if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') continue;
                if (c == '\uFFFE' || c == '\uFFFF') continue;
                sb.Append(c);
            }
            return WebUtility.HtmlEncode(sb.ToString());
        }

        public static string Local(DateTime utc) => utc.ToLocalTime().ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);

        public static string Local(DateTime? utc) => utc == null ? "never" : Local(utc.Value);

        public static string Duration(TimeSpan t)
        {
            if (t.TotalSeconds < 60) return $"{Math.Max(0, (int)Math.Round(t.TotalSeconds))} s";
            if (t.TotalMinutes < 60) return $"{(int)Math.Round(t.TotalMinutes)} min";
            if (t.TotalHours < 24) return $"{(int)t.TotalHours} h {t.Minutes:00} min";
            return $"{(int)t.TotalDays} d {t.Hours} h";
        }

        /// <summary>The one size formatter (<see cref="Primitives.ByteSize"/>), as in every view and log.</summary>
        public static string Bytes(long bytes) => Primitives.ByteSize.Format(bytes);
    }
}
