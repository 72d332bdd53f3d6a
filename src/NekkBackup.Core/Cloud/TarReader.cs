using System;
using System.Globalization;
using System.IO;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using NekkBackup.Core.Errors;

namespace NekkBackup.Core.Cloud
{
    /// <summary>One entry header of a tar stream as the stream states it (untrusted: see <see cref="ArchiveEntryGuard"/>).</summary>
    internal sealed class TarEntry
    {
        /// <summary>The name after pax/GNU long-name records are applied, exactly as stored.</summary>
        public string Name { get; init; } = "";
        /// <summary>The ustar type flag ('0' file, '5' directory, '2' symlink, '1' hard link, …).</summary>
        public char Type { get; init; }
        public long Size { get; init; }
        public string LinkName { get; init; } = "";
        public DateTime MTimeUtc { get; init; }
        /// <summary>Offset of the first header block of the entry (its pax/long-name records included).</summary>
        public long HeaderOffset { get; init; }
        /// <summary>Offset of the entry's data in the tar.</summary>
        public long DataOffset { get; init; }
        /// <summary>Where the next entry's header starts (data padded to 512 bytes).</summary>
        public long NextHeaderOffset => DataOffset + TarReader.Padded(Size);

        public bool IsRegularFile => Type is '0' or '\0' or '7';
        public bool IsDirectory => Type == '5';
    }

    /// <summary>
    /// Reads tar headers (POSIX ustar, pax 'x'/'g' records, GNU 'L'/'K' long names, base-256 sizes) from a
    /// stream that may be seekable (a ranged GET reader): the reader positions itself at each header, so the
    /// caller may read an entry's data, part of it or none of it. Structural damage (bad checksum, truncation,
    /// absurd metadata sizes) is NekkBackup.ArchiveCorrupt; what an entry claims is judged elsewhere.
    /// </summary>
    internal sealed class TarReader
    {
        public const int Block = 512;
        /// <summary>Largest pax or GNU long-name record accepted (names are at most a few KiB).</summary>
        public const int MaxMetaBytes = 1 << 20;
        private static readonly DateTime Epoch = new(1970, 1, 1, 0, 0, 0, DateTimeKind.Utc);

        private readonly Stream _stream;
        private readonly string _label;
        private readonly byte[] _header = new byte[Block];
        private long _next;

        /// <param name="start">Offset of the first header to read (a resumed restore starts mid-archive).</param>
        public TarReader(Stream stream, string label, long start = 0)
        {
            _stream = stream;
            _label = label;
            _next = start;
        }

        /// <summary>Where the next header is read; a caller may move it forward past entries it does not need.</summary>
        public long NextOffset
        {
            get => _next;
            set => _next = value;
        }

        public static long Padded(long size) => size <= 0 ? 0 : (size + Block - 1) / Block * Block;

        /// <summary>The next entry, or null at the end-of-archive marker (or a clean end of stream on a block boundary).</summary>
        public async Task<TarEntry?> NextAsync(CancellationToken ct)
        {
            string? paxPath = null, paxLink = null, longName = null, longLink = null;
            long? paxSize = null;
            DateTime? paxMtime = null;
            long first = _next;
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                long at = _next;
                await SeekAsync(at, ct).ConfigureAwait(false);
                int got = await ReadUpToAsync(_header, Block, ct).ConfigureAwait(false);
                if (got == 0 && at == first) return null;
                if (got < Block) throw Corrupt($"the archive ends inside the header at offset {at}");
                if (IsZero(_header)) return null;
                if (!ChecksumOk(_header)) throw Corrupt($"the header at offset {at} has a bad checksum");

                char type = (char)_header[156];
                long size = ParseNumber(_header, 124, 12, at, "size");
                var mtime = ParseNumber(_header, 136, 12, at, "mtime");
                _next = at + Block + Padded(size);
                switch (type)
                {
                    case 'x':
                    case 'g':
                    {
                        var body = await ReadMetaAsync(size, at, ct).ConfigureAwait(false);
                        if (type == 'g') continue; // global defaults: nothing we honour
                        foreach (var (k, v) in ParsePax(body, at))
                        {
                            if (k == "path") paxPath = v;
                            else if (k == "linkpath") paxLink = v;
                            else if (k == "size")
                            {
                                if (!long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var s) || s < 0)
                                    throw Corrupt($"the pax size '{v}' at offset {at} is not a size");
                                paxSize = s;
                            }
                            else if (k == "mtime" && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var mt) && mt >= 0 && mt < 253402300799)
                                paxMtime = Epoch.AddSeconds(Math.Floor(mt));
                        }
                        continue;
                    }
                    case 'L':
                        longName = CString(await ReadMetaAsync(size, at, ct).ConfigureAwait(false));
                        continue;
                    case 'K':
                        longLink = CString(await ReadMetaAsync(size, at, ct).ConfigureAwait(false));
                        continue;
                }

                if (paxSize is long ps)
                {
                    size = ps;
                    _next = at + Block + Padded(size);
                }
                string name = paxPath ?? longName ?? UstarName(_header);
                string link = paxLink ?? longLink ?? Text(_header, 157, 100);
                return new TarEntry
                {
                    Name = name,
                    Type = type,
                    Size = size,
                    LinkName = link,
                    MTimeUtc = paxMtime ?? (mtime >= 0 && mtime < 253402300799 ? Epoch.AddSeconds(mtime) : Epoch),
                    HeaderOffset = first,
                    DataOffset = at + Block,
                };
            }
        }

        private async Task SeekAsync(long offset, CancellationToken ct)
        {
            if (_stream.CanSeek)
            {
                if (_stream.Position != offset) _stream.Position = offset;
                return;
            }
            long skip = offset - _stream.Position;
            if (skip < 0) throw new InvalidOperationException("A forward-only tar stream cannot go back.");
            var buf = new byte[Math.Min(skip, 1 << 16)];
            while (skip > 0)
            {
                int n = await _stream.ReadAsync(buf, 0, (int)Math.Min(buf.Length, skip), ct).ConfigureAwait(false);
                if (n == 0) return;
                skip -= n;
            }
        }

        private async Task<int> ReadUpToAsync(byte[] buf, int count, CancellationToken ct)
        {
            int got = 0;
            while (got < count)
            {
                int n = await _stream.ReadAsync(buf, got, count - got, ct).ConfigureAwait(false);
                if (n == 0) break;
                got += n;
            }
            return got;
        }

        private async Task<byte[]> ReadMetaAsync(long size, long at, CancellationToken ct)
        {
            if (size > MaxMetaBytes) throw Corrupt($"the extended header at offset {at} claims {size} bytes (at most {MaxMetaBytes} are accepted)");
            var body = new byte[size];
            if (await ReadUpToAsync(body, body.Length, ct).ConfigureAwait(false) != body.Length)
                throw Corrupt($"the archive ends inside the extended header at offset {at}");
            return body;
        }

        private NekkBackupException Corrupt(string what) =>
            Fail.InvalidData("ArchiveCorrupt", $"The archive '{_label}' is damaged: {what}.", _label);

        internal static bool IsZero(byte[] h)
        {
            foreach (var b in h) if (b != 0) return false;
            return true;
        }

        internal static bool ChecksumOk(byte[] h)
        {
            long stored = -1;
            try { stored = ParseOctal(h, 148, 8); } catch (FormatException) { return false; }
            long unsigned = 0, signed = 0;
            for (int i = 0; i < Block; i++)
            {
                byte b = i >= 148 && i < 156 ? (byte)' ' : h[i];
                unsigned += b;
                signed += unchecked((sbyte)b);
            }
            return stored == unsigned || stored == signed;
        }

        private long ParseNumber(byte[] h, int off, int len, long at, string field)
        {
            if ((h[off] & 0x80) != 0)
            {
                // GNU base-256: big-endian two's complement; only non-negative values that fit a long.
                if ((h[off] & 0x40) != 0) throw Corrupt($"the {field} at offset {at} is negative");
                long v = h[off] & 0x3F;
                for (int i = 1; i < len; i++)
                {
                    if (v > (long.MaxValue >> 8)) throw Corrupt($"the {field} at offset {at} is too large");
                    v = (v << 8) | h[off + i];
                }
                return v;
            }
            try { return ParseOctal(h, off, len); }
            catch (FormatException) { throw Corrupt($"the {field} at offset {at} is not an octal number"); }
        }

        internal static long ParseOctal(byte[] h, int off, int len)
        {
            long v = 0;
            int i = off, end = off + len;
            while (i < end && (h[i] == ' ' || h[i] == 0)) i++;
            if (i == end) return 0;
            bool any = false;
            for (; i < end; i++)
            {
                byte c = h[i];
                if (c == 0 || c == ' ') break;
                if (c < '0' || c > '7') throw new FormatException("not octal");
                if (v > (long.MaxValue >> 3)) throw new FormatException("octal overflow");
                v = (v << 3) | (long)(c - '0');
                any = true;
            }
            for (; i < end; i++) if (h[i] != 0 && h[i] != ' ') throw new FormatException("trailing garbage");
            return any ? v : 0;
        }

        private static string UstarName(byte[] h)
        {
            var name = Text(h, 0, 100);
            bool posix = h[257] == 'u' && h[258] == 's' && h[259] == 't' && h[260] == 'a' && h[261] == 'r' && h[262] == 0;
            if (posix)
            {
                var prefix = Text(h, 345, 155);
                if (prefix.Length > 0) return prefix + "/" + name;
            }
            return name;
        }

        /// <summary>A NUL-terminated field as UTF-8 (a NUL inside the field ends it; what follows is ignored).</summary>
        private static string Text(byte[] h, int off, int len)
        {
            int n = 0;
            while (n < len && h[off + n] != 0) n++;
            return Encoding.UTF8.GetString(h, off, n);
        }

        /// <summary>A long-name record's body; unlike a header field it must not hide text after a NUL.</summary>
        private static string CString(byte[] body)
        {
            int n = body.Length;
            while (n > 0 && body[n - 1] == 0) n--;
            return Encoding.UTF8.GetString(body, 0, n); // an inner NUL survives and is refused by the guard
        }

        private System.Collections.Generic.List<(string Key, string Value)> ParsePax(byte[] body, long at)
        {
            var list = new System.Collections.Generic.List<(string, string)>();
            int i = 0;
            while (i < body.Length)
            {
                if (body[i] == 0) break; // padding some writers leave
                int sp = Array.IndexOf(body, (byte)' ', i);
                if (sp < 0 || sp - i > 10) throw Corrupt($"a pax record at offset {at} has no length");
                if (!int.TryParse(Encoding.ASCII.GetString(body, i, sp - i), NumberStyles.None, CultureInfo.InvariantCulture, out var len)
                    || len <= sp - i + 1 || i + len > body.Length || body[i + len - 1] != '\n')
                    throw Corrupt($"a pax record at offset {at} has a bad length");
                var rec = Encoding.UTF8.GetString(body, sp + 1, i + len - 1 - (sp + 1));
                int eq = rec.IndexOf('=');
                if (eq <= 0) throw Corrupt($"a pax record at offset {at} has no key");
                list.Add((rec.Substring(0, eq), rec.Substring(eq + 1)));
                i += len;
            }
            return list;
        }
    }
}
