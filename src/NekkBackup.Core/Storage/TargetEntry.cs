using System;
using System.Collections.Generic;

namespace NekkBackup.Core.Storage
{
    /// <summary>One object in a target: its key, size and last-modified time (the store's clock).</summary>
    public sealed class TargetEntry
    {
        private static readonly IReadOnlyDictionary<string, string> NoAttributes = new Dictionary<string, string>();

        public TargetEntry(string key, long size, DateTime lastModifiedUtc, string? sha256 = null, IReadOnlyDictionary<string, string>? attributes = null)
        {
            Key = key;
            Size = size;
            LastModifiedUtc = lastModifiedUtc;
            Sha256 = sha256;
            Attributes = attributes ?? NoAttributes;
        }

        public string Key { get; }
        public long Size { get; }
        public DateTime LastModifiedUtc { get; }

        /// <summary>Lower-case SHA-256 hex when the target computed it during a put; else null.</summary>
        public string? Sha256 { get; }

        /// <summary>
        /// What else the store said about the object on a stat (S3: <see cref="S3Target.ETagAttribute"/>, storage
        /// class, archive and restore state, user metadata as "meta:&lt;name&gt;"); empty for a folder and in listings.
        /// </summary>
        public IReadOnlyDictionary<string, string> Attributes { get; }

        /// <summary>The attribute's value, or null.</summary>
        public string? Attribute(string name) => Attributes.TryGetValue(name, out var v) ? v : null;

        public override string ToString() => $"{Key} ({Size} bytes)";
    }
}
