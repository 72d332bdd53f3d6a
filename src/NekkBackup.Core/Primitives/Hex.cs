using System;

namespace NekkBackup.Core.Primitives
{
    /// <summary>The one lower-case hex codec (chunk names, content hashes, ids). Decoding accepts either case.</summary>
    public static class Hex
    {
        private const string Digits = "0123456789abcdef";

        public static string Encode(byte[] bytes) => Encode(bytes, 0, bytes.Length);

        public static string Encode(byte[] bytes, int offset, int count)
        {
            if (bytes == null) throw new ArgumentNullException(nameof(bytes));
            if (offset < 0 || count < 0 || offset + count > bytes.Length) throw new ArgumentOutOfRangeException(nameof(count));
            var c = new char[count * 2];
            for (int i = 0; i < count; i++)
            {
                byte b = bytes[offset + i];
                c[2 * i] = Digits[b >> 4];
                c[2 * i + 1] = Digits[b & 0xF];
            }
            return new string(c);
        }

        public static byte[] Decode(string hex)
        {
            if (!TryDecode(hex, out var bytes)) throw new FormatException($"'{hex}' is not an even-length hex string.");
            return bytes;
        }

        public static bool TryDecode(string? hex, out byte[] bytes)
        {
            bytes = Array.Empty<byte>();
            if (hex == null || hex.Length % 2 != 0) return false;
            var b = new byte[hex.Length / 2];
            for (int i = 0; i < b.Length; i++)
            {
                int hi = Nibble(hex[2 * i]), lo = Nibble(hex[2 * i + 1]);
                if (hi < 0 || lo < 0) return false;
                b[i] = (byte)((hi << 4) | lo);
            }
            bytes = b;
            return true;
        }

        /// <summary>True when <paramref name="s"/> is exactly <paramref name="length"/> lower-case hex digits (a name read back from a store).</summary>
        public static bool IsLowerHex(string? s, int length)
        {
            if (s == null || s.Length != length) return false;
            foreach (var ch in s)
                if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'))) return false;
            return true;
        }

        private static int Nibble(char c) =>
            c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    }
}
