using System;
using System.Globalization;

namespace NekkBackup.Core.Primitives
{
    /// <summary>
    /// The one way NekkBackup writes a size for people: binary units labelled B, KB, MB, GB, TB (1 KB = 1024 B,
    /// as Windows Explorer shows them), three significant digits ("5.27 MB", "16.7 KB", "32.0 MB", "0.98 GB"),
    /// whole bytes below 1 KB ("512 B"). Used by every format view (through the cmdlet assembly), run logs,
    /// plan history details, messages and reports.
    /// </summary>
    public static class ByteSize
    {
        private static readonly string[] Units = { "B", "KB", "MB", "GB", "TB" };

        public static string Format(long bytes)
        {
            if (bytes < 0) return "-" + Format(bytes == long.MinValue ? long.MaxValue : -bytes);
            if (bytes < 1000) return bytes.ToString(CultureInfo.InvariantCulture) + " B";
            double v = bytes;
            int u = 0;
            // Switch unit from 999.5 on, so no value rounds to a four-digit "1000 KB": it reads "0.98 MB".
            while (v >= 999.5 && u < Units.Length - 1)
            {
                v /= 1024;
                u++;
            }
            string pattern = v < 9.995 ? "0.00" : v < 99.95 ? "0.0" : "0";
            return v.ToString(pattern, CultureInfo.InvariantCulture) + " " + Units[u];
        }

        /// <summary>For views: null, a boxed integer or a numeric string; anything else as it is.</summary>
        public static string Format(object? value)
        {
            switch (value)
            {
                case null:
                    return "";
                case long l:
                    return Format(l);
                case int i:
                    return Format((long)i);
                case ulong ul:
                    return Format(ul > long.MaxValue ? long.MaxValue : (long)ul);
                case double d when !double.IsNaN(d) && !double.IsInfinity(d):
                    return Format((long)Math.Round(d));
                case string s when long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed):
                    return Format(parsed);
                default:
                    try { return Format(Convert.ToInt64(value, CultureInfo.InvariantCulture)); }
                    catch (Exception ex) when (ex is FormatException || ex is InvalidCastException || ex is OverflowException) { return value.ToString() ?? ""; }
            }
        }
    }
}
