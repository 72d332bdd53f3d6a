using System;
using System.Globalization;
using System.Text.Json;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Primitives
{
    /// <summary>
    /// The one versioning rule for everything NekkBackup writes (manifests, configs, locks, state files): a
    /// <c>formatVersion</c> property, a number (major) or "major.minor". A reader accepts any minor of the
    /// majors it knows (new fields are additive and ignored) and refuses a newer major with
    /// NekkBackup.UnsupportedFormatVersion, before it interprets anything else in the document.
    /// </summary>
    public readonly struct FormatVersion : IComparable<FormatVersion>, IEquatable<FormatVersion>
    {
        public const string PropertyName = "formatVersion";

        public FormatVersion(int major, int minor = 0)
        {
            if (major < 0 || minor < 0) throw new ArgumentOutOfRangeException(nameof(major));
            Major = major;
            Minor = minor;
        }

        public int Major { get; }
        public int Minor { get; }

        public override string ToString() => Minor == 0 ? Major.ToString(CultureInfo.InvariantCulture) : Major.ToString(CultureInfo.InvariantCulture) + "." + Minor.ToString(CultureInfo.InvariantCulture);

        public int CompareTo(FormatVersion other) => Major != other.Major ? Major.CompareTo(other.Major) : Minor.CompareTo(other.Minor);
        public bool Equals(FormatVersion other) => Major == other.Major && Minor == other.Minor;
        public override bool Equals(object? obj) => obj is FormatVersion v && Equals(v);
        public override int GetHashCode() => Major * 397 ^ Minor;

        /// <summary>Writes the version as the <c>formatVersion</c> value: a number when the minor is 0, else "major.minor".</summary>
        public void WriteTo(Utf8JsonWriter writer)
        {
            if (Minor == 0) writer.WriteNumber(PropertyName, Major);
            else writer.WriteString(PropertyName, ToString());
        }

        public static bool TryParse(JsonElement value, out FormatVersion version)
        {
            version = default;
            if (value.ValueKind == JsonValueKind.Number)
            {
                if (!value.TryGetInt32(out var major) || major < 0) return false;
                version = new FormatVersion(major);
                return true;
            }
            if (value.ValueKind != JsonValueKind.String) return false;
            var parts = (value.GetString() ?? "").Split('.');
            if (parts.Length < 1 || parts.Length > 2) return false;
            if (!int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var ma)) return false;
            int mi = 0;
            if (parts.Length == 2 && !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out mi)) return false;
            version = new FormatVersion(ma, mi);
            return true;
        }

        /// <summary>
        /// Reads <c>formatVersion</c> (or one of <paramref name="legacyNames"/>, for files written before the rule)
        /// from a document's root object and checks it against <paramref name="supported"/>.
        /// Throws NekkBackup.UnsupportedFormatVersion (newer major) or NekkBackup.FormatVersionMissing.
        /// </summary>
        public static FormatVersion Check(JsonElement root, string document, FormatVersion supported, object? target, params string[] legacyNames)
        {
            if (root.ValueKind != JsonValueKind.Object)
                throw Fail.InvalidData("FormatVersionMissing", $"{document} is not a JSON object, so it has no {PropertyName}.", target);
            foreach (var p in root.EnumerateObject())
            {
                bool match = string.Equals(p.Name, PropertyName, StringComparison.OrdinalIgnoreCase)
                    || Array.Exists(legacyNames, n => string.Equals(n, p.Name, StringComparison.OrdinalIgnoreCase));
                if (!match) continue;
                if (!TryParse(p.Value, out var found))
                    throw Fail.InvalidData("FormatVersionMissing", $"{document} has an unreadable {p.Name} ({p.Value.GetRawText()}).", target);
                Check(found, document, supported, target);
                return found;
            }
            throw Fail.InvalidData("FormatVersionMissing", $"{document} has no {PropertyName}; it was not written by NekkBackup or is damaged.", target);
        }

        /// <summary>Refuses a newer major than <paramref name="supported"/>.</summary>
        public static void Check(FormatVersion found, string document, FormatVersion supported, object? target)
        {
            if (found.Major > supported.Major)
                throw new NekkBackupException("UnsupportedFormatVersion", FailureKind.NotSupported,
                    $"{document} has format version {found}; this NekkBackup reads format {supported.Major}.x. Update NekkBackup to read it (nothing was changed).", target);
        }
    }
}
