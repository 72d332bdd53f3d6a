using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Security.Cryptography;
using System.Text;

namespace NekkBackup.SampleData
{
    /// <summary>
    /// A small deterministic generator (xoshiro256**) seeded from the SHA-256 of its name parts, so every file's
    /// content depends only on (seed, relative path) and never on the order files are written in. Integer-only:
    /// the same parts give the same bytes on every platform and runtime (System.Random promises neither).
    /// </summary>
    public sealed class DetRandom
    {
        private ulong _s0, _s1, _s2, _s3;

        public DetRandom(params object[] parts)
        {
            var key = string.Join("\u001f", Array.ConvertAll(parts, p => Convert.ToString(p, System.Globalization.CultureInfo.InvariantCulture)));
            Span<byte> h = stackalloc byte[32];
            SHA256.HashData(Encoding.UTF8.GetBytes(key), h);
            _s0 = BinaryPrimitives.ReadUInt64LittleEndian(h);
            _s1 = BinaryPrimitives.ReadUInt64LittleEndian(h.Slice(8));
            _s2 = BinaryPrimitives.ReadUInt64LittleEndian(h.Slice(16));
            _s3 = BinaryPrimitives.ReadUInt64LittleEndian(h.Slice(24));
            if ((_s0 | _s1 | _s2 | _s3) == 0) _s0 = 1;
        }

        public ulong NextU64()
        {
            unchecked
            {
                var result = RotateLeft(_s1 * 5, 7) * 9;
                var t = _s1 << 17;
                _s2 ^= _s0;
                _s3 ^= _s1;
                _s1 ^= _s2;
                _s0 ^= _s3;
                _s2 ^= t;
                _s3 = RotateLeft(_s3, 45);
                return result;
            }
        }

        private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));

        /// <summary>Uniform in [0, <paramref name="maxExclusive"/>) without modulo bias.</summary>
        public long Next(long maxExclusive)
        {
            if (maxExclusive <= 0) throw new ArgumentOutOfRangeException(nameof(maxExclusive));
            var range = (ulong)maxExclusive;
            var limit = ulong.MaxValue - ulong.MaxValue % range;
            ulong v;
            do { v = NextU64(); } while (v >= limit);
            return (long)(v % range);
        }

        public int Next(int maxExclusive) => (int)Next((long)maxExclusive);

        /// <summary>Uniform in [<paramref name="min"/>, <paramref name="maxInclusive"/>].</summary>
        public long Range(long min, long maxInclusive) => min + Next(maxInclusive - min + 1);

        public int Range(int min, int maxInclusive) => (int)Range((long)min, maxInclusive);

        /// <summary>True with probability <paramref name="permille"/>/1000.</summary>
        public bool Chance(int permille) => Next(1000) < permille;

        public T Pick<T>(IReadOnlyList<T> items) => items[Next(items.Count)];

        // 2^(j/8) · 1000 for j = 0..8: eighth-octave steps without floating point.
        private static readonly int[] EighthOctave = { 1000, 1091, 1189, 1297, 1414, 1542, 1682, 1834, 2000 };

        /// <summary>Log-uniform in [<paramref name="lo"/>, <paramref name="hi"/>) (powers of two): a uniform eighth of an octave, uniform within it.</summary>
        public long LogUniform(long lo, long hi)
        {
            int loBits = 63 - (int)ulong.LeadingZeroCount((ulong)lo), hiBits = 63 - (int)ulong.LeadingZeroCount((ulong)hi);
            var step = Next(Math.Max(1, hiBits - loBits) * 8);
            var octave = 1L << (loBits + step / 8);
            return Range(octave * EighthOctave[step % 8] / 1000, octave * EighthOctave[step % 8 + 1] / 1000 - 1);
        }

        public void Fill(Span<byte> buffer)
        {
            var i = 0;
            for (; i + 8 <= buffer.Length; i += 8) BinaryPrimitives.WriteUInt64LittleEndian(buffer.Slice(i), NextU64());
            if (i < buffer.Length)
            {
                Span<byte> last = stackalloc byte[8];
                BinaryPrimitives.WriteUInt64LittleEndian(last, NextU64());
                last.Slice(0, buffer.Length - i).CopyTo(buffer.Slice(i));
            }
        }

        public byte[] Bytes(int n)
        {
            var b = new byte[n];
            Fill(b);
            return b;
        }
    }
}
