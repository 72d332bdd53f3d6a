using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using NekkBackup.Core.Errors;
using NekkBackup.Core.Plans;

namespace NekkBackup.Core.Notify
{
    /// <summary>
    /// Reads one table of a plan (Notify, Report) with the same error shape as <see cref="PlanParser"/>: ONE
    /// NekkBackup.InvalidPlan naming the key and the problem; a key that looks like a secret is refused.
    /// </summary>
    internal sealed class PlanSection
    {
        private static readonly string[] SecretWords = { "password", "secret", "accesskey", "token", "credential", "apikey", "url", "uri" };
        private readonly string _file;

        public PlanSection(string? planPath) => _file = planPath ?? "(in memory)";

        public NekkBackupException Error(string key, string problem) =>
            new("InvalidPlan", FailureKind.InvalidArgument, $"Plan '{_file}': key '{key}' {problem}.", key);

        public void CheckKeys(IDictionary t, string[] known, string prefix, string secretAdvice)
        {
            foreach (DictionaryEntry e in t)
            {
                var k = Convert.ToString(e.Key, CultureInfo.InvariantCulture) ?? "";
                if (known.Any(x => string.Equals(x, k, StringComparison.OrdinalIgnoreCase))) continue;
                if (SecretWords.Any(w => k.IndexOf(w, StringComparison.OrdinalIgnoreCase) >= 0))
                    throw Error(prefix + k, $"looks like a secret, and plans never hold secrets: remove it and {secretAdvice}");
                throw Error(prefix + k, $"is not a known key; known keys are {string.Join(", ", known.Select(x => prefix + x))}");
            }
        }

        public static bool TryGet(IDictionary t, string key, out object? value)
        {
            foreach (DictionaryEntry e in t)
            {
                if (string.Equals(Convert.ToString(e.Key, CultureInfo.InvariantCulture), key, StringComparison.OrdinalIgnoreCase))
                {
                    value = PlanParser.Unwrap(e.Value);
                    return true;
                }
            }
            value = null;
            return false;
        }

        public string? String(IDictionary t, string key, bool required, string label)
        {
            if (!TryGet(t, key, out var v) || v == null)
            {
                if (required) throw Error(label, "is missing");
                return null;
            }
            if (v is not string s) throw Error(label, $"must be a string, not {PlanParser.Describe(v)}");
            if (string.IsNullOrWhiteSpace(s)) throw Error(label, "is empty");
            return s.Trim();
        }

        public string[]? Strings(IDictionary t, string key, bool required, string label)
        {
            if (!TryGet(t, key, out var v) || v == null)
            {
                if (required) throw Error(label, "is missing");
                return null;
            }
            if (v is string one) return string.IsNullOrWhiteSpace(one) ? throw Error(label, "is empty") : new[] { one.Trim() };
            if (v is IDictionary || v is not IEnumerable list) throw Error(label, $"must be a string or a list of strings @('...'), not {PlanParser.Describe(v)}");
            var result = new List<string>();
            foreach (var item in list)
            {
                var x = PlanParser.Unwrap(item);
                if (x is not string s || string.IsNullOrWhiteSpace(s)) throw Error(label, $"must hold only non-empty strings, but holds {PlanParser.Describe(x)}");
                result.Add(s.Trim());
            }
            if (result.Count == 0 && required) throw Error(label, "is empty");
            return result.ToArray();
        }

        public int? Int(IDictionary t, string key, string label, int min, int max)
        {
            if (!TryGet(t, key, out var v) || v == null) return null;
            long n;
            if (v is int i) n = i;
            else if (v is long l) n = l;
            else if (v is byte || v is short) n = Convert.ToInt64(v, CultureInfo.InvariantCulture);
            else throw Error(label, $"must be a whole number, not {PlanParser.Describe(v)}");
            if (n < min || n > max) throw Error(label, $"must be between {min} and {max} (was {n})");
            return (int)n;
        }

        public string? Choice(IDictionary t, string key, string label, string[] allowed)
        {
            var s = String(t, key, false, label);
            if (s == null) return null;
            return allowed.FirstOrDefault(a => string.Equals(a, s, StringComparison.OrdinalIgnoreCase))
                ?? throw Error(label, $"is '{s}'; use one of {string.Join(", ", allowed)}");
        }

        /// <summary>A hashtable, or a list of hashtables (e.g. several webhooks).</summary>
        public List<IDictionary> Tables(IDictionary t, string key, string label)
        {
            var list = new List<IDictionary>();
            if (!TryGet(t, key, out var v) || v == null) return list;
            if (v is IDictionary one) { list.Add(one); return list; }
            if (v is string || v is not IEnumerable items) throw Error(label, $"must be a hashtable @{{ ... }} or a list of them, not {PlanParser.Describe(v)}");
            foreach (var item in items)
                list.Add(PlanParser.Unwrap(item) as IDictionary ?? throw Error(label, $"must hold only hashtables @{{ ... }}, but holds {PlanParser.Describe(item)}"));
            return list;
        }
    }
}
