using System;
using System.Text.Json;

namespace NekkBackup.Core.Validation
{
    /// <summary>
    /// Typed JSON reading for everything read back: wrong types, nulls where a document belongs, numbers out of range
    /// and malformed text are one named error (the format's reason) naming the file and the JSON path of the field —
    /// never an InvalidOperationException or NullReferenceException further on. Field rules come after, in
    /// <see cref="StoredCheck"/>.
    /// </summary>
    internal static class StoredJson
    {
        private static readonly System.Text.UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

        public static T Parse<T>(byte[] json, JsonSerializerOptions options, StoredCheck check) where T : class =>
            Parse(() => JsonSerializer.Deserialize<T>(json, options), check);

        /// <summary>Streams a (large) document; I/O errors while reading are the check's error too.</summary>
        public static T Parse<T>(System.IO.Stream json, JsonSerializerOptions options, StoredCheck check) where T : class
        {
            try { return Parse(() => JsonSerializer.Deserialize<T>(json, options), check); }
            catch (System.IO.IOException e) { throw check.Error("", "cannot be read: " + e.Message, e); }
        }

        private static T Parse<T>(Func<T?> read, StoredCheck check) where T : class
        {
            T? value;
            try { value = read(); }
            catch (JsonException e)
            {
                throw check.Error(FieldOf(e.Path), "does not read as JSON of the expected shape: " + Short(e.Message), e);
            }
            catch (Exception e) when (e is NotSupportedException || e is InvalidOperationException || e is ArgumentException || e is FormatException || e is OverflowException)
            {
                throw check.Error("", "cannot be read: " + Short(e.Message), e);
            }
            return value ?? throw check.Error("", "holds no document (null)");
        }

        /// <summary>A JSON object's root element (for documents read field by field), or the check's error.</summary>
        public static JsonElement ParseObject(byte[] json, StoredCheck check)
        {
            // Field-by-field readers compare and read names and strings later (TryGetProperty, GetString), which throw
            // InvalidOperationException on invalid UTF-8: the whole text is checked once, here.
            try { StrictUtf8.GetCharCount(json); }
            catch (System.Text.DecoderFallbackException e) { throw check.Error("", "is not valid UTF-8 text", e); }
            try
            {
                using var doc = JsonDocument.Parse(json);
                if (doc.RootElement.ValueKind != JsonValueKind.Object) throw check.Error("", $"is a JSON {doc.RootElement.ValueKind}, not an object");
                return doc.RootElement.Clone();
            }
            catch (JsonException e) { throw check.Error("", "is not valid JSON: " + Short(e.Message), e); }
        }

        /// <summary>A string property of an object (null when absent); a value of another type is the check's error.</summary>
        public static string? String(JsonElement o, string name, StoredCheck check)
        {
            if (!o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
            if (v.ValueKind != JsonValueKind.String) throw check.Error(name, $"is a JSON {v.ValueKind}, not a string");
            try { return v.GetString(); }
            catch (InvalidOperationException e) { throw check.Error(name, "is not valid UTF-8 text", e); }
        }

        /// <summary>An integer property (null when absent); another type or a value outside int is the check's error.</summary>
        public static int? Int(JsonElement o, string name, StoredCheck check)
        {
            if (!o.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var i)) throw check.Error(name, $"is {Describe(v)}, not a whole number");
            return i;
        }

        private static string Describe(JsonElement v) => v.ValueKind == JsonValueKind.Number ? "the number " + v.GetRawText() : "a JSON " + v.ValueKind;

        private static string FieldOf(string? path) => string.IsNullOrEmpty(path) || path == "$" ? "" : path!.StartsWith("$.", StringComparison.Ordinal) ? path.Substring(2) : path;

        private static string Short(string m)
        {
            int i = m.IndexOf(" Path:", StringComparison.Ordinal);
            return i > 0 ? m.Substring(0, i) : m;
        }
    }
}
