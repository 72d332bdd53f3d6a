using System;
using System.Collections.Generic;
using System.Threading;
using NekkBackup.Core.Primitives;

namespace NekkBackup.Core.Imaging
{
    /// <summary>A chunk's name: the SHA-256 of its raw bytes, held as four words (32 bytes, no allocation) for the in-memory sets.</summary>
    internal readonly struct ChunkId : IEquatable<ChunkId>
    {
        private readonly ulong _a, _b, _c, _d;

        public ChunkId(byte[] hash, int offset = 0)
        {
            _a = Word(hash, offset);
            _b = Word(hash, offset + 8);
            _c = Word(hash, offset + 16);
            _d = Word(hash, offset + 24);
        }

        private static ulong Word(byte[] b, int at)
        {
            ulong v = 0;
            for (int i = 0; i < 8; i++) v = (v << 8) | b[at + i];
            return v;
        }

        /// <summary>The SHA-256 of <paramref name="count"/> bytes of <paramref name="data"/> (<see cref="Sha256"/>).</summary>
        public static ChunkId Of(byte[] data, int count) => Of(data, 0, count);

        /// <summary>The SHA-256 of <paramref name="count"/> bytes of <paramref name="data"/> from <paramref name="offset"/>.</summary>
        public static ChunkId Of(byte[] data, int offset, int count) => new(Sha256.Digest(data, offset, count));

        /// <summary>From 64 lower-case hex digits (a chunk file's name read back from the store).</summary>
        public static bool TryParse(string? hex, out ChunkId id)
        {
            id = default;
            if (!Sha256.IsHex(hex) || !Hex.TryDecode(hex, out var bytes)) return false;
            id = new ChunkId(bytes);
            return true;
        }

        public static ChunkId Parse(string hex) => TryParse(hex, out var id) ? id : throw new FormatException($"'{hex}' is not a SHA-256.");

        /// <summary>The first 8 bytes as a number: the compact key of garbage collection's mark set (a collision only keeps a chunk).</summary>
        public ulong Prefix => _a;

        public bool IsZero => (_a | _b | _c | _d) == 0;

        public void CopyTo(byte[] dest, int offset = 0)
        {
            Put(dest, offset, _a);
            Put(dest, offset + 8, _b);
            Put(dest, offset + 16, _c);
            Put(dest, offset + 24, _d);
        }

        private static void Put(byte[] b, int at, ulong v)
        {
            unchecked { for (int i = 7; i >= 0; i--) { b[at + i] = (byte)v; v >>= 8; } }
        }

        public string ToHex()
        {
            var b = new byte[32];
            CopyTo(b);
            return Hex.Encode(b);
        }

        public bool Equals(ChunkId other) => _a == other._a && _b == other._b && _c == other._c && _d == other._d;
        public override bool Equals(object? obj) => obj is ChunkId o && Equals(o);
        public override int GetHashCode() => unchecked((int)_a ^ (int)(_a >> 32));
        public override string ToString() => ToHex();
    }

    /// <summary>
    /// The chunks a capture knows the repository holds, built from ONE listing of chunks/ (not a stat per chunk) and
    /// grown by the capture's own puts, with the size of each and whether this image used it yet (so StoredBytes counts a
    /// chunk once). Exact 256-bit keys: a chunk is skipped only when that very chunk is stored. About 50 bytes per chunk
    /// (a 200 GB used volume at 256 KiB: ~40 MB). Thread-safe.
    /// </summary>
    internal sealed class KnownChunks
    {
        private struct Entry
        {
            public int Size;      // stored size in bytes; -1 while not known to be stored
            public bool Used;     // this image references it
        }

        private readonly Dictionary<ChunkId, Entry> _chunks = new();

        public int Count { get { lock (_chunks) return _chunks.Count; } }

        /// <summary>Every chunk object under chunks/ (well-named: chunks/&lt;2 hex&gt;/&lt;its 64-hex name&gt;), with its size.</summary>
        public static KnownChunks List(ImageRepository repo, CancellationToken ct)
        {
            var known = new KnownChunks();
            foreach (var (id, size) in repo.ListChunks(ct))
                known._chunks[id] = new Entry { Size = (int)Math.Min(size, int.MaxValue) };
            return known;
        }

        /// <summary>
        /// Marks <paramref name="id"/> used by this image. True the first time; <paramref name="storedSize"/> is its size
        /// when the repository holds it, else -1 (the caller stores it and calls <see cref="Stored"/>).
        /// </summary>
        public bool Use(ChunkId id, out int storedSize)
        {
            lock (_chunks)
            {
                if (!_chunks.TryGetValue(id, out var e)) e = new Entry { Size = -1 };
                bool first = !e.Used;
                e.Used = true;
                _chunks[id] = e;
                storedSize = e.Size;
                return first;
            }
        }

        /// <summary>Does the repository hold <paramref name="id"/> (listed or stored by this capture)?</summary>
        public bool Has(ChunkId id)
        {
            lock (_chunks) return _chunks.TryGetValue(id, out var e) && e.Size >= 0;
        }

        public void Stored(ChunkId id, int size)
        {
            lock (_chunks)
            {
                _chunks.TryGetValue(id, out var e);
                e.Size = size;
                _chunks[id] = e;
            }
        }
    }
}
