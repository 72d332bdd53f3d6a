using System;

namespace NekkBackup.Core.Imaging
{
    internal static class Hex
    {
        private const string Digits = "0123456789abcdef";

        public static string Encode(byte[] bytes, int offset = 0, int count = -1)
        {
            if (count < 0) count = bytes.Length - offset;
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
            if (hex.Length % 2 != 0) throw new FormatException("odd hex length");
            var b = new byte[hex.Length / 2];
            for (int i = 0; i < b.Length; i++) b[i] = (byte)((Nibble(hex[2 * i]) << 4) | Nibble(hex[2 * i + 1]));
            return b;
        }

        public static bool TryDecode(string hex, out byte[] bytes)
        {
            bytes = Array.Empty<byte>();
            if (hex.Length % 2 != 0) return false;
            foreach (var ch in hex) if (!Uri.IsHexDigit(ch)) return false;
            bytes = Decode(hex);
            return true;
        }

        private static int Nibble(char c) =>
            c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : throw new FormatException("not hex");

        /// <summary>First 8 bytes as a number: the compact key of the in-memory chunk sets.</summary>
        public static ulong Prefix(byte[] hash, int offset = 0)
        {
            ulong v = 0;
            for (int i = 0; i < 8; i++) v = (v << 8) | hash[offset + i];
            return v;
        }

        public static bool IsAllZero(byte[] buffer, int count)
        {
#if NET
            return buffer.AsSpan(0, count).IndexOfAnyExcept((byte)0) < 0;
#else
            int i = 0;
            for (; i + 8 <= count; i += 8)
                if (BitConverter.ToUInt64(buffer, i) != 0) return false;
            for (; i < count; i++) if (buffer[i] != 0) return false;
            return true;
#endif
        }
    }
}
