using System;
using System.IO;
using System.Text;

namespace NekkBackup.Core.Tests.Cloud
{
    /// <summary>
    /// A minimal tar writer of the test's own (independent of the product's TarWriter) that writes what a
    /// hostile archive can hold: any name, any type, links, sizes that lie, pax and GNU long-name records.
    /// </summary>
    public sealed class RawTar
    {
        private readonly MemoryStream _ms = new();

        /// <summary>Appends a ustar entry; returns the offset of its data.</summary>
        public long Add(string name, char type, byte[]? data = null, string link = "", long? claimedSize = null)
        {
            data ??= Array.Empty<byte>();
            WriteHeader(name, type, claimedSize ?? data.Length, link);
            long at = _ms.Position;
            Write(data);
            return at;
        }

        /// <summary>A pax 'x' record carrying <paramref name="path"/>, then a file whose ustar name is harmless.</summary>
        public long AddPax(string path, byte[] data)
        {
            var rec = " path=" + path + "\n";
            int len = Encoding.UTF8.GetByteCount(rec) + 1;
            while ((len.ToString() + rec).Length != len) len++;
            var body = Encoding.UTF8.GetBytes(len + rec);
            WriteHeader("PaxHeaders/x", 'x', body.Length, "");
            Write(body);
            return Add("harmless-pax", '0', data);
        }

        /// <summary>A GNU 'L' long-name record carrying <paramref name="name"/>, then the file.</summary>
        public long AddGnuLong(string name, byte[] data)
        {
            var body = Encoding.UTF8.GetBytes(name + "\0");
            WriteHeader("././@LongLink", 'L', body.Length, "");
            Write(body);
            return Add("harmless-gnu", '0', data);
        }

        public byte[] Finish()
        {
            _ms.Write(new byte[1024], 0, 1024);
            return _ms.ToArray();
        }

        private void Write(byte[] data)
        {
            _ms.Write(data, 0, data.Length);
            int pad = (int)((512 - data.Length % 512) % 512);
            _ms.Write(new byte[pad], 0, pad);
        }

        private void WriteHeader(string name, char type, long size, string link)
        {
            var h = new byte[512];
            Put(h, 0, name, 100);
            Put(h, 100, "0000644", 8);
            Put(h, 108, "0000000", 8);
            Put(h, 116, "0000000", 8);
            if (size < (1L << 33)) Put(h, 124, Convert.ToString(size, 8).PadLeft(11, '0'), 12);
            else
            {
                h[124] = 0x80; // GNU base-256
                for (int i = 0; i < 8; i++) h[135 - i] = unchecked((byte)(size >> (8 * i)));
            }
            Put(h, 136, Convert.ToString(1_700_000_000L, 8).PadLeft(11, '0'), 12);
            for (int i = 148; i < 156; i++) h[i] = (byte)' ';
            h[156] = (byte)type;
            Put(h, 157, link, 100);
            Put(h, 257, "ustar", 6);
            h[263] = (byte)'0';
            h[264] = (byte)'0';
            long sum = 0;
            foreach (var b in h) sum += b;
            Put(h, 148, Convert.ToString(sum, 8).PadLeft(6, '0'), 7);
            h[155] = (byte)' ';
            _ms.Write(h, 0, 512);
        }

        private static void Put(byte[] h, int at, string s, int max)
        {
            var b = Encoding.UTF8.GetBytes(s);
            Buffer.BlockCopy(b, 0, h, at, Math.Min(b.Length, max));
        }
    }
}
