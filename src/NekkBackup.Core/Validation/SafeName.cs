using System;

namespace NekkBackup.Core.Validation
{
    /// <summary>
    /// The one rule every leg applies to a name or id read back from a store, a plan or a bucket (run ids, image ids,
    /// archive ids, host names, plan names) before it becomes part of a file name or an object key: the same checks a
    /// user's path segment gets on Windows and Linux. A safe name is one segment: no separator, no '..', no drive or
    /// stream colon, no character Windows forbids, no control character, no trailing dot or space (Windows strips
    /// them, so two names would meet), no reserved device name (CON, NUL, COM1…), at most <see cref="MaxLength"/>.
    /// </summary>
    public static class SafeName
    {
        public const int MaxLength = 128;

        private static readonly string[] Reserved =
        {
            "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
            "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
            "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
        };

        public static bool IsSafe(string? name) => Problem(name) == null;

        /// <summary>Null when <paramref name="name"/> is safe, else what is wrong with it ("holds a path separator").</summary>
        public static string? Problem(string? name)
        {
            if (name == null) return "is missing (null)";
            if (name.Length == 0) return "is empty";
            if (name.Length > MaxLength) return $"is {name.Length} characters long (at most {MaxLength})";
            if (name == "." || name == "..") return "names a folder ('.' or '..'), not an item";
            foreach (var c in name)
            {
                if (c < 0x20 || c == 0x7F) return "holds a control character";
                if (c == '/' || c == '\\') return "holds a path separator";
                if (c == ':' || c == '*' || c == '?' || c == '"' || c == '<' || c == '>' || c == '|') return $"holds '{c}', which cannot be part of a file name";
                if (char.IsSurrogate(c)) return "holds a character outside the basic plane";
            }
            if (char.IsWhiteSpace(name[0]) || char.IsWhiteSpace(name[name.Length - 1])) return "starts or ends with white space";
            if (name[name.Length - 1] == '.') return "ends with a dot";
            int dot = name.IndexOf('.');
            var stem = (dot < 0 ? name : name.Substring(0, dot)).TrimEnd();
            foreach (var r in Reserved)
                if (string.Equals(stem, r, StringComparison.OrdinalIgnoreCase)) return $"is the reserved device name '{r}'";
            return null;
        }
    }
}
