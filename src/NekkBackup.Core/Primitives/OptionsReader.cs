using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Primitives
{
    /// <summary>
    /// Builds one options type from a hashtable-like <see cref="IDictionary"/> (Pester's configuration
    /// classes): keys are matched case-insensitively, an unknown key is an error that lists the known ones,
    /// a key that looks like a secret is refused, and every problem is ONE error naming the key, with the
    /// concern's own id (NekkBackup.Invalid&lt;Concern&gt;). Each options type reads itself with this in its
    /// FromDictionary and checks cross-field rules in its Validate: validation happens in one place.
    /// </summary>
    public sealed class OptionsReader
    {
        private static readonly string[] SecretWords = { "password", "secret", "accesskey", "token", "credential", "apikey" };
        private readonly IDictionary _data;
        private readonly string _concern;
        private readonly string _reason;

        /// <param name="data">The hashtable (null reads as empty).</param>
        /// <param name="concern">What is being configured, for messages ("local target", "lock").</param>
        /// <param name="reason">Error reason, e.g. "InvalidLockOptions" → NekkBackup.InvalidLockOptions.</param>
        /// <param name="knownKeys">Every key this concern accepts.</param>
        /// <param name="allowSecrets">Keys that look like secrets are refused unless true.</param>
        public OptionsReader(IDictionary? data, string concern, string reason, IReadOnlyCollection<string> knownKeys, bool allowSecrets = false)
        {
            _data = data ?? new Hashtable();
            _concern = concern;
            _reason = reason;
            foreach (DictionaryEntry e in _data)
            {
                var k = Convert.ToString(e.Key, CultureInfo.InvariantCulture) ?? "";
                if (knownKeys.Any(x => string.Equals(x, k, StringComparison.OrdinalIgnoreCase))) continue;
                if (!allowSecrets && SecretWords.Any(w => k.IndexOf(w, StringComparison.OrdinalIgnoreCase) >= 0))
                    throw Error(k, "looks like a secret; secrets are never passed in options: store them with Set-NekkCredential");
                throw Error(k, $"is not a known key; known keys are {string.Join(", ", knownKeys)}");
            }
        }

        public NekkBackupException Error(string key, string problem) =>
            new(_reason, FailureKind.InvalidArgument, $"The {_concern} option '{key}' {problem}.", key);

        /// <summary>PowerShell wraps values in PSObject; Core has no PowerShell reference, so it unwraps by reflection.</summary>
        public static object? Unwrap(object? v)
        {
            if (v == null) return null;
            var t = v.GetType();
            return t.FullName == "System.Management.Automation.PSObject" ? t.GetProperty("BaseObject")?.GetValue(v) : v;
        }

        public bool Has(string key) => TryGet(key, out var v) && v != null;

        private bool TryGet(string key, out object? value)
        {
            foreach (DictionaryEntry e in _data)
            {
                if (string.Equals(Convert.ToString(e.Key, CultureInfo.InvariantCulture), key, StringComparison.OrdinalIgnoreCase))
                {
                    value = Unwrap(e.Value);
                    return true;
                }
            }
            value = null;
            return false;
        }

        public string? String(string key, bool required = false)
        {
            if (!TryGet(key, out var v) || v == null)
                return required ? throw Error(key, "is missing") : null;
            if (v is not string s) throw Error(key, $"must be a string, not {Describe(v)}");
            if (required && string.IsNullOrWhiteSpace(s)) throw Error(key, "is empty");
            return s;
        }

        public string[]? StringArray(string key)
        {
            if (!TryGet(key, out var v) || v == null) return null;
            if (v is string one) return new[] { one };
            if (v is IDictionary || v is not IEnumerable list) throw Error(key, $"must be a string or a list of strings, not {Describe(v)}");
            var result = new List<string>();
            foreach (var item in list)
                result.Add(Unwrap(item) as string ?? throw Error(key, $"must hold only strings, but holds {Describe(Unwrap(item))}"));
            return result.ToArray();
        }

        public long? Long(string key, long min = long.MinValue, long max = long.MaxValue)
        {
            if (!TryGet(key, out var v) || v == null) return null;
            long n = v switch
            {
                int i => i,
                long l => l,
                short s => s,
                byte b => b,
                uint u => u,
                _ => throw Error(key, $"must be a whole number, not {Describe(v)}"),
            };
            if (n < min || n > max) throw Error(key, $"must be between {min} and {max} (was {n})");
            return n;
        }

        public int? Int(string key, int min = int.MinValue, int max = int.MaxValue) => (int?)Long(key, min, max);

        public bool? Bool(string key)
        {
            if (!TryGet(key, out var v) || v == null) return null;
            if (v is bool b) return b;
            // A SwitchParameter arrives as itself; read its IsPresent without naming the type.
            var isPresent = v.GetType().GetProperty("IsPresent");
            if (isPresent != null && isPresent.PropertyType == typeof(bool)) return (bool)isPresent.GetValue(v)!;
            throw Error(key, $"must be $true or $false, not {Describe(v)}");
        }

        /// <summary>A TimeSpan, a number of seconds, or text: '90s', '15m', '4h', '2d', or 'hh:mm:ss'.</summary>
        public TimeSpan? Duration(string key, TimeSpan min, TimeSpan max)
        {
            if (!TryGet(key, out var v) || v == null) return null;
            TimeSpan t;
            if (v is TimeSpan ts) t = ts;
            else if (v is int || v is long || v is double) t = TimeSpan.FromSeconds(Convert.ToDouble(v, CultureInfo.InvariantCulture));
            else if (v is string s && TryParseDuration(s, out var parsed)) t = parsed;
            else throw Error(key, $"must be a duration such as '90s', '15m', '4h' or '2d', not {Describe(v)}");
            if (t < min || t > max) throw Error(key, $"must be between {min} and {max} (was {t})");
            return t;
        }

        public static bool TryParseDuration(string s, out TimeSpan t)
        {
            t = default;
            s = (s ?? "").Trim();
            if (s.Length < 2) return false;
            if (s.IndexOf(':') > 0) return TimeSpan.TryParse(s, CultureInfo.InvariantCulture, out t);
            if (!double.TryParse(s.Substring(0, s.Length - 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var n) || n < 0) return false;
            switch (char.ToLowerInvariant(s[s.Length - 1]))
            {
                case 's': t = TimeSpan.FromSeconds(n); return true;
                case 'm': t = TimeSpan.FromMinutes(n); return true;
                case 'h': t = TimeSpan.FromHours(n); return true;
                case 'd': t = TimeSpan.FromDays(n); return true;
                default: return false;
            }
        }

        public T? Choice<T>(string key) where T : struct, Enum
        {
            if (!TryGet(key, out var v) || v == null) return null;
            if (v is T already) return already;
            if (v is string s)
                foreach (var name in System.Enum.GetNames(typeof(T)))
                    if (string.Equals(name, s.Trim(), StringComparison.OrdinalIgnoreCase)) return (T)System.Enum.Parse(typeof(T), name);
            throw Error(key, $"is {Describe(v)}; use one of {string.Join(", ", System.Enum.GetNames(typeof(T)))}");
        }

        public static string Describe(object? v)
        {
            v = Unwrap(v);
            return v switch
            {
                null => "nothing ($null)",
                string s => $"the string '{s}'",
                IDictionary => "a hashtable",
                IEnumerable => "a list",
                _ => string.Format(CultureInfo.InvariantCulture, "{0} ({1})", v, v.GetType().Name),
            };
        }
    }
}
